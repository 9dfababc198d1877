"""hushtype never leaves the user's keyboard changed: the keys it borrows to type characters
the layout lacks are given back right after each injection (also when it failed) and when
the injector closes, keys another program mapped meanwhile are left alone, the modifier map
is never touched - and after `hushtype up` has typed such characters and exited, the key map
and the modifier map are exactly what they were before. Real Xvfb, real Tk app."""

from __future__ import annotations

import time

import pytest

from desktop_helpers import TEST_CONFIG
from rigs.assistant import start_assistant
from rigs.procs import kill, wait_until

pytestmark = pytest.mark.x11

LACKING = "naïve — “ok” ✓ über"        # none of these non-ASCII characters is on the US layout


def keymap_state(display_name: str | None = None):
    """The whole core key map (every keycode's keysyms) and the modifier map, from a fresh
    connection (nothing cached)."""
    import Xlib.display

    d = Xlib.display.Display(display_name)
    try:
        first = d.display.info.min_keycode
        count = d.display.info.max_keycode - first + 1
        keys = [tuple(syms) for syms in d.get_keyboard_mapping(first, count)]
        mods = [tuple(codes) for codes in d.get_modifier_mapping()]
        return keys, mods
    finally:
        d.close()


def changed_keys(before, after) -> list:
    first = 8                                       # min_keycode on every X server
    return [(first + i, b, a) for i, (b, a) in enumerate(zip(before[0], after[0])) if b != a]


def test_injector_gives_borrowed_keys_back_after_each_injection(x_env, text_app):
    from assistant.platform.x11.output import Injector

    before = keymap_state()
    inj = Injector({"injection": {"method": "type"}})
    try:
        for round_ in (1, 2):
            inj.insert(LACKING)
            assert inj.last_method == "type"
            text_app.wait_text(lambda t: t == LACKING * round_, 10, "every character typed")
            after = keymap_state()
            assert after[1] == before[1], "the modifier map changed"
            assert after == before, f"keys left remapped: {changed_keys(before, after)}"
    finally:
        inj.close()
    assert keymap_state() == before


def test_borrowed_keys_are_given_back_when_typing_fails(x_env, text_app):
    from assistant.platform.x11.output import Injector
    from assistant.platform.x11.xdotool import XdotoolError

    before = keymap_state()
    inj = Injector({"injection": {"method": "type"}})

    def broken(text):
        raise XdotoolError("xdotool died")

    inj.keys.type = broken                          # the ASCII run after "ü" fails
    try:
        with pytest.raises(XdotoolError):
            inj.insert("ü and more")
        text_app.wait_text(lambda t: t == "ü", 10, "the character typed before the failure")
        assert keymap_state() == before
    finally:
        inj.close()


def test_a_key_mapped_by_someone_else_meanwhile_is_left_alone(x_env, text_app):
    import Xlib.display

    from assistant.platform.x11.output import Injector

    inj = Injector({"injection": {"method": "type"}})
    other = Xlib.display.Display()
    typer = inj._spare_typer()
    assert typer is not None and typer.spare, "Xvfb's key map has empty keycodes"
    code = typer.spare[0]                           # empty when the typer looked
    snowman = 0x01002603
    try:
        other.change_keyboard_mapping(code, [(snowman, snowman)])
        other.sync()
        theirs = keymap_state()
        inj.insert("ü")
        text_app.wait_text(lambda t: t == "ü", 10, "the character typed")
        assert keymap_state() == theirs, "our typing changed or cleared their key"
        inj.close()
        assert keymap_state() == theirs
    finally:
        other.change_keyboard_mapping(code, [(0, 0)])
        other.sync()
        other.close()
        inj.close()


def test_up_leaves_the_key_map_as_it_found_it(xserver, text_app, live_server, tmp_path):
    """`hushtype up` types a command back (undo) with characters the layout lacks: right after
    that, while it still runs, and after it exits, the key and modifier maps are unchanged."""
    before = keymap_state(xserver.display)
    config = TEST_CONFIG.replace("[injection]\n", '[injection]\nmethod = "type"\n')
    up = start_assistant(xserver, tmp_path / "home", live_server.host, config)
    try:
        up.wait_log("loaded in", 120)
        command = "fix: teh café is naïve"
        xserver.type(command + ";;")
        up.wait_log("typed command fix:: done", 90)
        time.sleep(0.3)
        xserver.key("ctrl+alt+z")                   # types the command back: é and ï
        up.wait_log("typed command fix: undone", 30)
        text_app.wait_text(lambda t: t == command, 15, "the command typed back")
        wait_until(lambda: keymap_state(xserver.display) == before, 5,
                   message="the key map to be given back while up runs "
                           f"({changed_keys(before, keymap_state(xserver.display))})")
    finally:
        kill(up.process)
    assert up.process.returncode == 0, up.log()[-2000:]
    assert keymap_state(xserver.display) == before
    assert "X protocol error" not in up.log(), up.log()[-2000:]
