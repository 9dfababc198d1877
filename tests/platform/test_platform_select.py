"""Choosing the platform backend (pure: the environment and the probes are passed in), the
one factory's clear errors, and the voice-only Wayland backend's insert choice."""

from __future__ import annotations

import pytest

from assistant.platform.select import PlatformError, choose_backend, open_platform, session_kind
from assistant.platform.wayland import insert_method, is_wlroots

X11 = {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}
WAYLAND = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
XWAYLAND = {**WAYLAND, "DISPLAY": ":0"}


class Probe:
    """An IBus probe that says what it is told and counts its calls."""

    def __init__(self, answer: bool):
        self.answer, self.calls = answer, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.answer


def test_session_kind():
    assert session_kind(X11) == "x11"
    assert session_kind(WAYLAND) == "wayland"
    assert session_kind(XWAYLAND) == "wayland"
    assert session_kind({"XDG_SESSION_TYPE": "wayland"}) == "wayland"
    assert session_kind({}) == "none"


def test_an_x11_session_gets_x11_without_asking_ibus():
    probe = Probe(True)
    name, reason = choose_backend("auto", X11, {"ibus": probe})
    assert name == "x11" and "X11 session" in reason and ":0" in reason
    assert probe.calls == 0


def test_wayland_with_an_ibus_daemon_gets_ibus():
    name, reason = choose_backend(None, WAYLAND, {"ibus": Probe(True)})
    assert name == "ibus" and "IBus daemon" in reason


def test_wayland_without_ibus_is_voice_only_and_says_what_to_do():
    name, reason = choose_backend("auto", WAYLAND, {"ibus": Probe(False)})
    assert name == "wayland"
    assert "voice only" in reason and "hushtype voice toggle" in reason and "IBus" in reason
    name, reason = choose_backend("auto", XWAYLAND, {"ibus": Probe(False)})
    assert name == "wayland" and "--platform x11" in reason


def test_no_display_is_none():
    name, reason = choose_backend("auto", {}, {"ibus": Probe(True)})
    assert name == "none" and "no display" in reason and "keeps running" in reason


def test_an_explicit_backend_wins_and_unknown_names_are_refused():
    assert choose_backend("x11", WAYLAND, {})[0] == "x11"
    assert choose_backend("IBus", X11, {})[0] == "ibus"
    assert choose_backend("wayland", X11, {})[0] == "wayland"
    with pytest.raises(ValueError, match="unknown platform backend 'windows'.*auto, x11, ibus, wayland"):
        choose_backend("windows", X11, {})


def test_open_platform_errors_are_clear():
    with pytest.raises(PlatformError, match="needs an X display"):
        open_platform({}, "x11", env={}, probes={})
    with pytest.raises(PlatformError, match="needs a Wayland session"):
        open_platform({}, "wayland", env={}, probes={})
    with pytest.raises(PlatformError, match="unknown platform backend"):
        open_platform({"platform": {"backend": "beos"}}, env={}, probes={})


def test_ibus_asked_for_but_not_built_in_says_so(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ibus(name, *args, **kw):          # as on a checkout without the IBus backend
        if name == "assistant.platform.ibus":
            raise ImportError("no module named assistant.platform.ibus")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ibus)
    with pytest.raises(PlatformError, match="IBus backend not available"):
        open_platform({}, "ibus", env=WAYLAND, probes={})
    # chosen by auto, it falls back to the voice-only backend (with the reason)
    platform = open_platform({}, None, env={**WAYLAND, "XDG_CURRENT_DESKTOP": "GNOME"},
                             probes={"ibus": Probe(True)})
    assert platform.name == "wayland" and "IBus backend not available" in platform.reason
    assert platform.keys is None and platform.hotkeys is None and platform.output is not None


def test_no_display_platform_has_no_parts():
    platform = open_platform({}, env={}, probes={})
    assert platform.name == "none"
    assert platform.keys is None and platform.output is None and platform.hotkeys is None
    assert platform.sees


def test_wlroots_compositors_are_told_apart():
    assert is_wlroots({"SWAYSOCK": "/run/sway.sock"})
    assert is_wlroots({"HYPRLAND_INSTANCE_SIGNATURE": "abc"})
    assert is_wlroots({"XDG_CURRENT_DESKTOP": "river"})
    assert not is_wlroots({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"})
    assert not is_wlroots({"XDG_CURRENT_DESKTOP": "KDE"})


def test_insert_method_wtype_on_wlroots_else_clipboard():
    sway = {"XDG_CURRENT_DESKTOP": "sway"}
    gnome = {"XDG_CURRENT_DESKTOP": "GNOME"}
    assert insert_method({}, sway, have_wtype=True) == "wtype"
    assert insert_method({}, sway, have_wtype=False) == "clipboard"
    assert insert_method({}, gnome, have_wtype=True) == "clipboard"
    assert insert_method({"platform": {"wayland_insert": "clipboard"}}, sway, True) == "clipboard"
    assert insert_method({"platform": {"wayland_insert": "wtype"}}, gnome, True) == "wtype"
