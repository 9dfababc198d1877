"""The injector and the listener adapter in this process, on the real Xvfb display with the
Tk text app: typing, pasting, the clipboard rules, streaming abort, the keyboard block and
the guard that keeps our own keys out of the trigger engine."""

from __future__ import annotations

import time

import pytest

from rigs.procs import wait_until

pytestmark = pytest.mark.x11


@pytest.fixture
def injector(x_env):
    from assistant.platform.x11.output import Injector

    inj = Injector({"injection": {"paste_min_chars": 30, "delay_before_restore_ms": 150}})
    yield inj
    inj.close()


def test_short_ascii_is_typed_long_or_unicode_is_pasted(injector, text_app, xserver):
    xserver.set_clipboard("keep me")
    injector.insert("short text")
    assert injector.last_method == "type"
    text_app.wait_text(lambda t: t == "short text", 10, "typed text")
    injector.replace(4, "naïve café ✓")
    assert injector.last_method == "paste"
    text_app.wait_text(lambda t: t == "short naïve café ✓", 10, "pasted unicode")
    long = " and a sentence that is longer than thirty characters"
    injector.insert(long)
    assert injector.last_method == "paste"
    text_app.wait_text(lambda t: t == "short naïve café ✓" + long, 10, "pasted long text")
    assert xserver.clipboard() == "keep me"


def test_typing_handles_characters_the_layout_lacks(x_env, text_app):
    """Streams are typed, and LLM output is full of “quotes”, dashes and accents: each one the
    (US) layout lacks goes on a spare key that keeps it until the app has read it."""
    from assistant.platform.x11.output import Injector

    inj = Injector({"injection": {"method": "type"}})
    text = "über ✓ naïve — “ok” … ß"
    for round_ in range(1, 4):
        inj.insert(text)
        assert inj.last_method == "type"
        text_app.wait_text(lambda t: t == text * round_, 10, "every character typed")
    inj.close()


def test_empty_clipboard_stays_empty_after_a_paste(x_env, text_app, xserver):
    from assistant.platform.x11.output import Injector
    from assistant.platform.x11.clipboard import ClipboardOffer, save

    # make the clipboard empty: own it, then give it up
    ClipboardOffer("x").release()
    assert save().target is None
    inj = Injector({"injection": {"method": "paste", "delay_before_restore_ms": 50}})
    inj.insert("pasted")
    text_app.wait_text(lambda t: t == "pasted", 10, "the paste")
    assert save().target is None


def test_clipboard_is_not_restored_when_someone_else_wrote(x_env, xserver):
    from assistant.platform.x11.clipboard import ClipboardOffer, SavedClipboard

    offer = ClipboardOffer("our result")
    assert xserver.clipboard() == "our result"
    assert offer.read.is_set()                      # xclip -o read it like a paste would
    xserver.set_clipboard("the user copied this meanwhile")
    assert offer.lost.wait(5)
    assert offer.handover(SavedClipboard("UTF8_STRING", b"old content")) is False
    assert xserver.clipboard() == "the user copied this meanwhile"


def test_clipboard_restored_after_the_app_read_the_paste(x_env, xserver):
    from assistant.platform.x11.clipboard import ClipboardOffer, save

    xserver.set_clipboard("old content ✓")
    saved = save()
    offer = ClipboardOffer("our result")
    assert not offer.read.is_set()
    assert xserver.clipboard() == "our result" and offer.read.is_set()
    assert offer.handover(saved) is True
    assert xserver.clipboard() == "old content ✓"


def test_stream_types_as_it_arrives_and_abort_restores(injector, text_app, xserver):
    command = "gen: a poem;;"
    xserver.type(command, delay_ms=5)
    text_app.wait_text(lambda t: t == command, 10, "the command")
    session = injector.stream(len(command), original=command)
    session.feed("Roses ")
    text_app.wait_text(lambda t: t == "Roses ", 10, "the first chunk replacing the command")
    session.feed("are red")
    text_app.wait_text(lambda t: t == "Roses are red", 10, "the second chunk")
    session.abort()
    text_app.wait_text(lambda t: t == command, 10, "the command back after abort")
    session = injector.stream(len(command), original=command)
    for chunk in ("Violets ", "are ", "blue"):
        session.feed(chunk)
    assert session.finish() == "Violets are blue"
    assert text_app.text() == "Violets are blue"


def test_physical_keyboards_are_held_while_injecting(x_env, text_app):
    """During an injection the Xvfb keyboard (a physical slave device) is grabbed by us, so the
    user's keys cannot land inside our text; XTEST (our keys) is not; the grab ends after."""
    import Xlib.X
    import Xlib.display
    from Xlib.ext import xinput

    from assistant.platform.x11.output import Injector
    from assistant.platform.x11.keyblock import physical_keyboards

    other = Xlib.display.Display()
    devices = physical_keyboards(other)
    assert devices, "Xvfb has a keyboard device"
    root = other.screen().root

    def try_grab(device):
        status = root.xinput_grab_device(device, Xlib.X.CurrentTime, xinput.GrabModeAsync,
                                         xinput.GrabModeAsync, True, xinput.KeyPressMask).status
        if status == Xlib.X.GrabSuccess:
            other.xinput_ungrab_device(device, Xlib.X.CurrentTime)
            other.sync()
        return status

    inj = Injector({"injection": {"method": "type"}})
    seen = []
    real_type = inj.keys.type
    inj.keys.type = lambda text: (seen.extend(try_grab(d) for d in devices), real_type(text))
    inj.insert("held")
    assert seen and all(s == Xlib.X.AlreadyGrabbed for s in seen)
    text_app.wait_text(lambda t: t == "held", 10, "our text, typed while the keyboard was held")
    assert all(try_grab(d) == Xlib.X.GrabSuccess for d in devices)
    other.close()
    inj.close()


def test_held_keys_are_replayed_after_and_esc_is_reported(x_env, text_app, xserver):
    """Hold-and-replay, driven through the one keyboard Xvfb lets a test press (XTEST): keys
    typed while held do not reach the app; they arrive, in order, after the release; Esc is
    reported at once and not replayed."""
    import Xlib.display

    from assistant.platform.x11.keyblock import KeyboardBlock, replay

    display = Xlib.display.Display()
    xtest_kbd = [d.deviceid for d in display.xinput_query_device(0).devices
                 if d.name == "Virtual core XTEST keyboard"]
    escapes = []
    block = KeyboardBlock(on_escape=lambda: escapes.append(1), devices=xtest_kbd)
    assert block.hold() == xtest_kbd
    xserver.type("abc", delay_ms=20)
    xserver.key("Escape")
    time.sleep(0.5)
    assert text_app.text() == ""                       # nothing reached the app
    assert escapes == [1]
    keys = block.release()
    assert len(keys) == 6                              # a, b, c: press + release each
    replay(display, keys)
    text_app.wait_text(lambda t: t == "abc", 10, "the held keys replayed")
    # the same block holds again for the next injection
    assert block.hold() == xtest_kbd
    xserver.type("d", delay_ms=20)
    time.sleep(0.3)
    assert text_app.text() == "abc"
    replay(display, block.release())
    text_app.wait_text(lambda t: t == "abcd", 10, "the second hold replayed")
    block.close()
    display.close()


@pytest.fixture
def fired(x_env, text_app):
    """The `up` listener path (pynput hook -> worker -> engine) on Xvfb, recording each fired
    command instead of running the model."""
    from assistant.config import load_settings
    from assistant.platform.x11 import open_x11
    from assistant.service.context import AssistantContext
    from assistant.service.typed import TypedCommands

    settings = load_settings()
    ctx = AssistantContext(settings=settings, platform=open_x11(settings, "test"), notifier=None)
    commands = []
    service = TypedCommands(ctx)
    service._start_job = lambda target, *args: commands.append(args[0])   # no model run
    service.start()
    yield ctx, commands
    service.stop()
    ctx.platform.close()


def test_our_injected_keys_never_feed_the_trigger_engine(fired, text_app, xserver):
    """The injector types a whole command: no fire; the same command typed by the user fires."""
    from assistant.hooks.trigger import Fire

    ctx, commands = fired
    ctx.injector.insert("fix: teh cat;;")
    text_app.wait_text(lambda t: t == "fix: teh cat;;", 10, "the injected text")
    time.sleep(1.0)
    assert commands == []
    xserver.type(" fix: teh cat;;")
    wait_until(lambda: commands, 10, message="the user's command to fire")
    assert commands == [Fire("fix:", " teh cat", len("fix: teh cat;;"))]


def test_dead_keys_and_unicode_reach_the_engine_as_the_app_shows_them(fired, xserver):
    """A dead accent then a letter is one character; characters outside the layout (xdotool
    remaps a spare keycode for them) come through as themselves."""
    from assistant.hooks.trigger import Fire

    _, commands = fired
    xserver.type("fix: caf")
    xserver.key("dead_acute", "e")
    xserver.type(" 20 € naïve;;")
    wait_until(lambda: commands, 10, message="the command to fire")
    body = " café 20 € naïve"
    assert commands == [Fire("fix:", body, len("fix:" + body + ";;"))]


def test_key_converter_maps_pynput_keys(x_env):
    from pynput.keyboard import Key, KeyCode

    from assistant.hooks.keys import KeyEvent
    from assistant.platform.x11.keysource import KeyConverter

    conv = KeyConverter()
    assert conv.press(KeyCode.from_char("a")) == KeyEvent(char="a")
    assert conv.press(Key.space) == KeyEvent(char=" ")
    assert conv.press(Key.enter) == KeyEvent(char="\n")
    assert conv.press(Key.backspace) == KeyEvent(key="backspace")
    assert conv.press(KeyCode.from_dead("~")).dead == "~"
    conv.press(Key.ctrl_l)
    assert conv.press(KeyCode.from_char("v")) == KeyEvent(char="v", ctrl=True)
    conv.press(Key.shift)
    assert conv.press(Key.insert) == KeyEvent(key="insert", ctrl=True, shift=True)
    conv.release(Key.ctrl_l)
    conv.release(Key.shift)
    conv.press(Key.alt_gr)                       # AltGr picks characters; it is not Alt
    assert conv.press(KeyCode.from_char("€")) == KeyEvent(char="€")


def test_settings_reload_changes_prefixes_and_terminator_live(fired, xserver, hushtype_home):
    """What the settings page does on save: ctx.reload_settings() - a new command and a new
    terminator apply at once, without restarting."""
    from assistant.hooks.trigger import Fire

    ctx, commands = fired
    (hushtype_home / "config.toml").write_text(
        '[typing]\nterminator = "//"\n'
        '[commands.polite]\nprefix = "polite:"\ninstruction = "Rewrite the text politely."\n')
    ctx.reload_settings()
    xserver.type("polite: give me that;;")
    time.sleep(1.0)
    assert commands == []                      # ";;" is no terminator any more
    xserver.key("Escape")                      # leave that unfinished command
    xserver.type(" polite: now please//")
    wait_until(lambda: commands, 10, message="the new command to fire")
    assert commands == [Fire("polite:", " now please", len("polite: now please//"))]


def test_failure_notifies_why_and_keeps_the_text(x_env, text_app, xserver, hushtype_home):
    """The real job path with the server down: the desktop notification says why, history
    records the failure, the typed text is untouched."""
    import socket

    from assistant.commands.pipeline import CommandPipeline
    from assistant.config import load_settings
    from assistant.history.store import HistoryStore
    from assistant.ollama_client import OllamaClient
    from assistant.platform.x11 import open_x11
    from assistant.service.context import AssistantContext
    from assistant.service.typed import TypedCommands

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    settings = load_settings()
    notes = []
    history = HistoryStore(hushtype_home / "history.sqlite3")
    ctx = AssistantContext(settings=settings, platform=open_x11(settings, "test"), history=history,
                           notifier=lambda title, message: notes.append((title, message)))
    ctx.pipeline = CommandPipeline(settings, client=OllamaClient(dead), history=history)
    service = TypedCommands(ctx).start()
    try:
        xserver.type("fix: teh cat;;")
        wait_until(lambda: notes, 30, message="a notification")
        title, message = notes[0]
        assert title == "hushtype: fix: failed"
        assert "not running" in message and "Your text is unchanged" in message
        time.sleep(0.3)
        assert text_app.text() == "fix: teh cat;;"
        entry = history.list(limit=1)[0]
        assert entry["status"] == "failed" and entry["prefix"] == "fix:"
    finally:
        service.stop()
        ctx.platform.close()
