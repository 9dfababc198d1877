"""Typed commands end to end on a real X server: `hushtype up` (subprocess) against the live
server with the embedded Gemma 3 270M, xdotool typing at human speed into real X apps."""

from __future__ import annotations

import subprocess
import time

import pytest

from rigs.procs import kill, wait_until

pytestmark = [pytest.mark.x11, pytest.mark.live]

FIX_INPUT = "fix: teh cat sat on teh mat"


def last_ok(assistant, prefix: str, before: int) -> dict:
    rows = wait_until(lambda: [r for r in assistant.history()[before:]
                               if r["prefix"] == prefix and r["status"] != "running"], 90,
                      message=f"a {prefix} history entry")
    return rows[-1]


def test_fix_is_replaced_by_the_corrected_sentence(assistant, text_app, xserver):
    before = len(assistant.history())
    xserver.type("Note: " + FIX_INPUT + ";;")
    row = last_ok(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    out = row["output_text"]
    text_app.wait_text(lambda t: t == "Note: " + out, 30, "the command to be replaced")
    assert "the cat" in out.lower() and "the mat" in out and "teh" not in out
    assert row["input_text"].strip() == "teh cat sat on teh mat" and row["source"] == "typed"


def test_gen_output_is_streamed_in(assistant, text_app, xserver):
    before = len(assistant.history())
    xserver.type("gen: write one sentence about the sea;;")
    seen = set()

    def done():
        text = text_app.text()
        seen.add(text)
        rows = [r for r in assistant.history()[before:] if r["prefix"] == "gen:"]
        return rows and rows[-1]["status"] != "running" and ";;" not in text and text

    wait_until(done, 90, interval=0.02, message="gen: to finish")
    time.sleep(0.5)
    row = assistant.history()[-1]
    assert row["status"] == "ok", row["error"]
    final = text_app.text()
    assert final == row["output_text"] and final.strip()
    # streamed: the app showed partial answers (prefixes of the final text) along the way
    partial = {s for s in seen if s and s != final and final.startswith(s)}
    assert len(partial) >= 2, f"no streaming seen: {sorted(seen)[:5]}"
    assert "(stream)" in assistant.log()


def test_backspace_corrected_prefix_still_triggers(assistant, text_app, xserver):
    before = len(assistant.history())
    xserver.type("fox")
    xserver.key("BackSpace", "BackSpace")
    xserver.type("ix: teh dog sat on teh mat;;")
    row = last_ok(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    text_app.wait_text(lambda t: t == row["output_text"], 30, "the corrected text")
    assert "teh" not in text_app.text()


def test_click_in_between_resets(assistant, text_app, xserver):
    before = len(assistant.history())
    xserver.type("fix: teh cat")
    text_app.click_below_text()
    xserver.type(" sat;;")
    time.sleep(3)
    assert text_app.text() == "fix: teh cat sat;;"
    assert len(assistant.history()) == before


def test_focus_change_resets(assistant, text_app_factory, xserver):
    first = text_app_factory("Hushone")
    second = text_app_factory("Hushtwo")
    before = len(assistant.history())
    first.focus()
    xserver.type("fix: teh")
    second.focus()
    xserver.type(" cat;;")
    time.sleep(3)
    assert first.text() == "fix: teh" and second.text() == " cat;;"
    assert len(assistant.history()) == before


def test_long_result_is_pasted_and_clipboard_restored(assistant, text_app, xserver):
    xserver.set_clipboard("my old clipboard ✓")
    before = len(assistant.history())
    pastes = assistant.log().count("(paste)")
    xserver.type("fix: teh cat sat on teh mat and teh dog sat on teh rug;;")
    row = last_ok(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    assert len(row["output_text"]) >= 40
    text_app.wait_text(lambda t: t == row["output_text"], 30, "the pasted result")
    assistant.wait_log("(paste)", 10, count=pastes + 1)
    wait_until(lambda: xserver.clipboard() == "my old clipboard ✓", 5,
               message="the old clipboard to come back")


def test_paste_inside_a_command_joins_it(assistant, text_app, xserver):
    xserver.set_clipboard("teh cat sat on teh mat")
    before = len(assistant.history())
    xserver.type("fix: ")
    xserver.key("ctrl+v")
    xserver.type(";;")
    row = last_ok(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    assert row["input_text"].strip() == "teh cat sat on teh mat"
    text_app.wait_text(lambda t: t == row["output_text"], 30, "the corrected paste")


def test_backspace_right_after_undoes_then_runs_again(assistant, text_app, xserver):
    before = len(assistant.history())
    xserver.type(FIX_INPUT + ";;")
    row = last_ok(assistant, "fix:", before)
    text_app.wait_text(lambda t: t == row["output_text"], 30, "the result")
    time.sleep(0.3)                 # a human notices the result, then presses Backspace
    xserver.key("BackSpace")
    text_app.wait_text(lambda t: t == FIX_INPUT, 15, "the original command back")
    # the restored command is live again: terminating it runs it once more
    time.sleep(0.3)
    xserver.type(";;")
    wait_until(lambda: len(assistant.history()) >= before + 2, 60, message="the second run")
    text_app.wait_text(lambda t: t == assistant.history()[-1]["output_text"], 30, "the result again")


def test_esc_cancels_and_the_text_stays(assistant, text_app, xserver):
    before = len(assistant.history())
    typed = "gen: write a very long story about a dragon and a knight;;"
    xserver.type(typed)
    xserver.key("Escape")
    rows = wait_until(lambda: assistant.history()[before:], 60, message="the cancelled entry")
    assert rows[-1]["status"] == "cancelled"
    time.sleep(1.0)
    assert text_app.text() == typed


def test_esc_while_streaming_puts_the_command_back(assistant, text_app, xserver):
    before = len(assistant.history())
    typed = "gen: write a long story about a dragon who loves tea;;"
    xserver.type(typed)
    text_app.wait_text(lambda t: t and "gen:" not in t, 60, "the answer to start streaming in")
    xserver.key("Escape")
    rows = wait_until(lambda: [r for r in assistant.history()[before:] if r["prefix"] == "gen:"],
                      60, message="the cancelled entry")
    assert rows[-1]["status"] == "cancelled"
    text_app.wait_text(lambda t: t == typed, 15, "the typed command back")


def test_undo_hotkey_puts_the_command_back(assistant, text_app, xserver):
    before = len(assistant.history())
    xserver.type(FIX_INPUT + ";;")
    row = last_ok(assistant, "fix:", before)
    text_app.wait_text(lambda t: t == row["output_text"], 30, "the result")
    time.sleep(0.3)
    xserver.key("ctrl+alt+z")
    text_app.wait_text(lambda t: t == FIX_INPUT, 15, "the original command back")


@pytest.fixture
def xterm_cat(xserver, tmp_path):
    """xterm running `cat > file` (Ctrl+Shift+V pastes the clipboard, as in common terminals);
    a line reaches the file when Enter is pressed."""
    out = tmp_path / "typed.txt"
    proc = subprocess.Popen(
        ["xterm", "-geometry", "100x10+0+320", "-xrm",
         "XTerm*VT100.translations: #override Ctrl Shift <Key>V: insert-selection(CLIPBOARD)",
         "-e", "sh", "-c", f"cat > {out}"],
        env=xserver.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        window = wait_until(lambda: xserver.run("xdotool", "search", "--pid", str(proc.pid)).stdout.split(),
                            20, message="the xterm window")[-1]
        wait_until(lambda: out.exists(), 10, message="cat to start")
        xserver.xdotool("windowfocus", "--sync", window)
        time.sleep(0.5)
        yield out
    finally:
        kill(proc)


def test_terminal_paste_chord_in_xterm(assistant, xserver, xterm_cat):
    xserver.set_clipboard("terminal clipboard")
    before = len(assistant.history())
    pastes = assistant.log().count("(paste)")
    xserver.type("fix: teh cat sat on teh mat and teh dog sat on teh rug;;")
    row = last_ok(assistant, "fix:", before)
    assert row["status"] == "ok", row["error"]
    assistant.wait_log("(paste)", 15, count=pastes + 1)
    time.sleep(0.5)
    xserver.key("Return")
    line = wait_until(lambda: xterm_cat.read_text().strip(), 10, message="the line in the file")
    assert line == row["output_text"].strip()
    wait_until(lambda: xserver.clipboard() == "terminal clipboard", 5, message="clipboard restored")


def test_gen_is_not_streamed_into_a_terminal(assistant, xserver, xterm_cat):
    """A streamed newline would be Enter in a shell; in terminals the answer is pasted whole."""
    before = len(assistant.history())
    streams = assistant.log().count("(stream)")
    dones = assistant.log().count("typed command gen:: done")
    xserver.type("gen: write one sentence about the moon;;")
    row = last_ok(assistant, "gen:", before)
    assert row["status"] == "ok", row["error"]
    log = assistant.wait_log("typed command gen:: done", 30, count=dones + 1)
    assert log.count("(stream)") == streams
    time.sleep(0.5)
    xserver.key("Return")
    text = wait_until(lambda: xterm_cat.read_text().strip(), 10, message="the answer in the file")
    assert text == row["output_text"].strip().replace("\n\n", "\n") or \
        text.split() == row["output_text"].split()


def test_denied_app_and_pause_hotkey(assistant, text_app_factory, xserver):
    before = len(assistant.history())
    vault = text_app_factory("KeePassXC")
    xserver.type("fix: teh cat;;")
    time.sleep(2)
    assert vault.text() == "fix: teh cat;;"
    app = text_app_factory("Hushtest")
    xserver.key("ctrl+alt+p")
    assistant.wait_log("paused", 10)
    xserver.type("fix: teh cat;;")
    time.sleep(2)
    assert app.text() == "fix: teh cat;;" and len(assistant.history()) == before
    xserver.key("ctrl+alt+p")
    assistant.wait_log("resumed", 10)
    app.click_below_text()          # Tk moves the caret on Ctrl(+Alt)+P: put it back at the end
    xserver.key("Return")
    xserver.type(FIX_INPUT + ";;")
    row = last_ok(assistant, "fix:", before)
    app.wait_text(lambda t: t == "fix: teh cat;;\n" + row["output_text"], 30, "the result after resume")


def test_the_log_never_holds_typed_text(assistant):
    """After every test above typed commands, the log names commands, never their text."""
    log = assistant.log()
    assert "listening for typed commands" in log
    for typed in ("teh", "dragon", "the sea", "my old clipboard", "terminal clipboard"):
        assert typed not in log
