"""Typed commands through the IBus engine end to end: `hushtype up` (subprocess) against the
live server with the embedded model, in a private desktop session - X11 (Xvfb, keys from
xdotool, `--platform ibus`) and Wayland (headless sway, keys from wtype, no X server, the
backend chosen by itself) - typing into a real GTK3 window that saves its text."""

from __future__ import annotations

import time

import pytest

from rigs.assistant import TEST_CONFIG, start_assistant
from rigs.procs import wait_until

pytestmark = [pytest.mark.live]

FIX_INPUT = "fix: teh cat sat on teh mat"


@pytest.fixture(scope="module")
def assistant(desktop, live_server, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"up-{desktop.kind}")
    args = ("--no-voice", "--no-settings") + (("--platform", "ibus") if desktop.kind == "x11" else ())
    up = start_assistant(desktop.rig, home, live_server.host, TEST_CONFIG, args=args)
    up.wait_log("loaded in", 120)
    yield up
    up.stop()


@pytest.fixture
def window(gtk_factory, desktop):
    return gtk_factory()


WTYPE_BACKSPACE = ("on headless sway, a GTK3 window using IBus does not apply Backspaces sent "
                   "with wtype - with IBus's own xkb:us::eng engine just as with hushtype's "
                   "(\"fox\", 2 x Backspace, \"ix\" shows \"foxix\"); X11 covers this case")


def last_done(assistant, prefix: str, before: int) -> dict:
    rows = wait_until(lambda: [r for r in assistant.history()[before:]
                               if r["prefix"] == prefix and r["status"] != "running"], 90,
                      message=f"a {prefix} history entry")
    return rows[-1]


def test_up_runs_on_the_ibus_backend(assistant, desktop):
    log = assistant.log()
    assert "platform: ibus" in log
    if desktop.kind == "wayland":
        assert "Wayland session with an IBus daemon" in log     # chosen by itself
    assert desktop.rig.engine() == "hushtype"


def test_fix_is_replaced_by_the_corrected_sentence(assistant, window, desktop):
    before = len(assistant.history())
    desktop.type("Note: " + FIX_INPUT + ";;")
    row = last_done(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    out = row["output_text"]
    window.wait_text(lambda t: t == "Note: " + out, 30, "the command to be replaced")
    assert "the cat" in out.lower() and "the mat" in out and "teh" not in out
    assert row["input_text"].strip() == "teh cat sat on teh mat" and row["source"] == "typed"


def test_gen_output_is_streamed_in(assistant, window, desktop):
    before = len(assistant.history())
    desktop.type("gen: write one sentence about the sea;;")
    seen = set()

    def done():
        text = window.text()
        seen.add(text)
        rows = [r for r in assistant.history()[before:] if r["prefix"] == "gen:"]
        return rows and rows[-1]["status"] != "running" and ";;" not in text and text

    wait_until(done, 90, interval=0.01, message="gen: to finish")
    time.sleep(0.5)
    row = assistant.history()[-1]
    assert row["status"] == "ok", row["error"]
    final = window.text()
    assert final == row["output_text"] and final.strip()
    partial = {s for s in seen if s and s != final and final.startswith(s)}
    assert len(partial) >= 2, f"no streaming seen: {sorted(seen)[:5]}"


def test_backspace_corrected_prefix_still_triggers(assistant, window, desktop):
    if desktop.kind == "wayland":
        pytest.skip(WTYPE_BACKSPACE)
    before = len(assistant.history())
    desktop.type("fox")
    desktop.key("BackSpace", "BackSpace")
    desktop.type("ix: teh dog sat on teh mat;;")
    row = last_done(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    window.wait_text(lambda t: t == row["output_text"], 30, "the corrected text")
    assert "teh" not in window.text()


def test_click_in_between_resets(assistant, window, desktop):
    if desktop.kind == "wayland":
        pytest.skip("headless sway runs without input devices here (WLR_LIBINPUT_NO_DEVICES): "
                    "no pointer to click with; X11 covers the click")
    before = len(assistant.history())
    desktop.type("fix: teh cat")
    desktop.click()
    desktop.type(" sat;;")
    time.sleep(3)
    assert window.text() == "fix: teh cat sat;;"
    assert len(assistant.history()) == before


@pytest.mark.parametrize("mode", ["purpose-password", "password"])
def test_a_password_field_is_never_read(assistant, gtk_factory, desktop, mode):
    before = len(assistant.history())
    field = gtk_factory(mode)
    desktop.type("fix: teh secret;;")
    time.sleep(3)
    assert field.text() == "fix: teh secret;;"
    assert len(assistant.history()) == before


@pytest.fixture
def french_layout(desktop):
    """On X11 the keyboard gets the French layout (é on a key of its own, AZERTY): the engine
    sees what the layout makes of a key. wtype (Wayland) brings a keymap of its own."""
    if desktop.kind != "x11":
        yield
        return
    import subprocess

    subprocess.run(["setxkbmap", "-layout", "fr"], env=desktop.rig.env(), check=True, timeout=20)
    try:
        yield
    finally:
        subprocess.run(["setxkbmap", "-layout", "us"], env=desktop.rig.env(), timeout=20)


def test_non_ascii_is_typed_and_inserted(assistant, french_layout, window, desktop):
    before = len(assistant.history())
    desktop.type("fix: teh café “naïve” ünder teh tree;;")
    row = last_done(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    assert row["input_text"].strip() == "teh café “naïve” ünder teh tree"
    out = row["output_text"]
    assert not out.isascii()
    window.wait_text(lambda t: t == out, 30, "the non-ASCII answer")


def test_backspace_right_after_undoes(assistant, window, desktop):
    if desktop.kind == "wayland":
        pytest.skip(WTYPE_BACKSPACE)
    before = len(assistant.history())
    desktop.type(FIX_INPUT + ";;")
    row = last_done(assistant, "fix:", before)
    window.wait_text(lambda t: t == row["output_text"], 30, "the result")
    time.sleep(0.3)
    desktop.key("BackSpace")
    window.wait_text(lambda t: t == FIX_INPUT, 15, "the original command back")


def test_undo_hotkey_puts_the_command_back(assistant, window, desktop):
    before = len(assistant.history())
    desktop.type(FIX_INPUT + ";;")
    row = last_done(assistant, "fix:", before)
    window.wait_text(lambda t: t == row["output_text"], 30, "the result")
    time.sleep(0.3)
    desktop.key("ctrl+alt+z")
    window.wait_text(lambda t: t == FIX_INPUT, 15, "the original command back")


def test_esc_cancels_and_the_text_stays(assistant, window, desktop):
    before = len(assistant.history())
    typed = "gen: write a very long story about a dragon and a knight;;"
    desktop.type(typed)
    desktop.key("Escape")
    rows = wait_until(lambda: assistant.history()[before:], 60, message="the cancelled entry")
    assert rows[-1]["status"] == "cancelled"
    time.sleep(1.0)
    assert window.text() == typed


def test_esc_while_streaming_puts_the_command_back(assistant, window, desktop):
    before = len(assistant.history())
    typed = "gen: write a long story about a dragon who loves tea;;"
    desktop.type(typed)
    window.wait_text(lambda t: t and "gen:" not in t, 60, "the answer to start streaming in")
    desktop.key("Escape")
    rows = wait_until(lambda: [r for r in assistant.history()[before:] if r["prefix"] == "gen:"],
                      60, message="the cancelled entry")
    assert rows[-1]["status"] == "cancelled"
    window.wait_text(lambda t: t == typed, 15, "the typed command back")


def test_the_log_never_holds_typed_text(assistant):
    log = assistant.log()
    assert "listening for typed commands" in log
    for typed in ("teh", "dragon", "the sea", "secret", "café"):
        assert typed not in log


def test_the_previous_engine_is_back_after_up_exits(assistant, desktop):
    assert desktop.rig.engine() == "hushtype"
    assistant.process.terminate()            # SIGTERM, as a session manager stops it
    assistant.process.wait(timeout=30)
    wait_until(lambda: desktop.rig.engine() == "xkb:us::eng", 10,
               message="the engine from before `hushtype up`")
    assert "restored" in assistant.log()
