"""The IBus backend's pure parts: key naming, raw engine items -> events, the doctor's
per-desktop advice. No IBus needed."""

from __future__ import annotations

from assistant.hooks.keys import Click, FocusChange, KeyEvent, parse_chord
from assistant.platform.base import SecureField
from assistant.platform.ibus import keyvals
from assistant.platform.ibus.doctor import desktop_name, setup_steps
from assistant.platform.ibus.keysource import decode_item
from assistant.platform.ibus.session import FOCUS, PRESS, RELEASE, RESET, SECURE, _app_class


def test_keys_are_named_as_the_trigger_engine_names_them():
    assert keyvals.key_event("a", "a", 0) == KeyEvent(char="a")
    assert keyvals.key_event("eacute", "é", 0) == KeyEvent(char="é")
    assert keyvals.key_event("A", "A", keyvals.SHIFT_MASK) == KeyEvent(char="A", shift=True)
    assert keyvals.key_event("BackSpace", "\b", 0) == KeyEvent(key="backspace")
    assert keyvals.key_event("Escape", "\x1b", 0) == KeyEvent(key="esc")
    assert keyvals.key_event("Return", "\r", 0) == KeyEvent(char="\n")
    assert keyvals.key_event("space", " ", 0) == KeyEvent(char=" ")
    assert keyvals.key_event("Left", "", 0) == KeyEvent(key="left")
    assert keyvals.key_event("Shift_L", "", 0).is_modifier
    assert keyvals.key_event("dead_acute", "", 0) == KeyEvent(dead="´")
    assert keyvals.key_event("F5", "", 0) == KeyEvent(key="f5")
    assert keyvals.key_event("VoidSymbol", "", 0) is None


def test_modifier_state_makes_chords():
    state = keyvals.CONTROL_MASK | keyvals.MOD1_MASK
    event = keyvals.key_event("space", " ", state)
    assert event.ctrl and event.alt and not event.shift
    assert parse_chord("<ctrl>+<alt>+space").matches(event)
    assert not parse_chord("<ctrl>+<alt>+space").matches(keyvals.key_event("space", " ", 0))
    assert keyvals.key_event("z", "z", keyvals.SUPER_MASK).super
    assert keyvals.is_release(keyvals.RELEASE_MASK) and keyvals.is_forwarded(keyvals.FORWARD_MASK)


def test_raw_items_decode_to_events():
    assert decode_item((PRESS, "x", "x", 45, 0, 12.5)) == [KeyEvent(char="x")]
    assert decode_item((PRESS, "x", "x", 45, 0, 12.5))[0].at == 12.5
    assert decode_item((RELEASE, None, "", 45, keyvals.RELEASE_MASK, 0.0)) == []
    assert decode_item((FOCUS, 3, "gedit")) == [FocusChange(3, "gedit")]
    assert decode_item((RESET, 1.0)) == [Click()]
    assert decode_item((SECURE, True)) == [SecureField(True)]
    assert decode_item((SECURE, False)) == [SecureField(False)]


def test_client_names_become_app_classes():
    assert _app_class("gtk3-im:gedit") == "gedit"
    assert _app_class("gtk4-im:org.gnome.TextEditor") == "org.gnome.texteditor"
    assert _app_class("xim") == "xim"
    assert _app_class(None) is None


def test_doctor_names_the_desktop_and_what_to_do_there():
    assert desktop_name({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME", "WAYLAND_DISPLAY": "w"}) == "gnome"
    assert desktop_name({"XDG_CURRENT_DESKTOP": "KDE", "WAYLAND_DISPLAY": "w"}) == "kde"
    assert desktop_name({"SWAYSOCK": "/run/s", "WAYLAND_DISPLAY": "w"}) == "wlroots"
    assert desktop_name({"XDG_CURRENT_DESKTOP": "Hyprland"}) == "wlroots"
    assert desktop_name({"DISPLAY": ":0"}) == "x11"
    assert "Input Sources" in setup_steps("gnome")
    assert "Virtual Keyboard" in setup_steps("kde") and "IBus Wayland" in setup_steps("kde")
    assert "exec ibus-daemon" in setup_steps("wlroots")
    assert "--xim" in setup_steps("x11") and "GTK_IM_MODULE=ibus" in setup_steps("x11")
