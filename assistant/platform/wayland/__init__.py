"""The Wayland backend without an input method (voice only): no key source, no global
hotkeys (`hushtype voice start|stop|toggle` is bound to a desktop shortcut instead), text out
through wtype on wlroots compositors, else the clipboard plus a "press Ctrl+V" notification."""

from __future__ import annotations

import logging
import shutil
from typing import Mapping

from assistant.platform.base import Platform

log = logging.getLogger("hushtype.wayland")

WLROOTS_DESKTOPS = ("sway", "hyprland", "river", "wayfire", "labwc", "niri", "dwl", "qtile", "wlroots")

SEES_WTYPE = ("no keys and no window names (voice only): it hears the microphone only between "
              "`hushtype voice start` and `stop`, and types the transcript with wtype")
SEES_CLIPBOARD = ("no keys and no window names (voice only): it hears the microphone only between "
                  "`hushtype voice start` and `stop`, and leaves the transcript on the clipboard")


def is_wlroots(env: Mapping[str, str]) -> bool:
    """Whether the compositor is wlroots-based (offers the virtual-keyboard protocol wtype
    needs). Pure: sway/Hyprland set their IPC variables; others name themselves."""
    if env.get("SWAYSOCK") or env.get("HYPRLAND_INSTANCE_SIGNATURE"):
        return True
    desktops = (env.get("XDG_CURRENT_DESKTOP") or "").lower().split(":")
    return any(d in WLROOTS_DESKTOPS for d in desktops)


def insert_method(settings: dict, env: Mapping[str, str], have_wtype: bool) -> str:
    """"wtype" | "clipboard": ``[platform] wayland_insert`` ("auto" picks wtype on wlroots)."""
    wanted = str(settings.get("platform", {}).get("wayland_insert", "auto") or "auto").lower()
    if wanted in ("wtype", "clipboard"):
        return wanted
    return "wtype" if have_wtype and is_wlroots(env) else "clipboard"


def open_wayland(settings: dict, reason: str, *, env: Mapping[str, str]) -> Platform:
    from assistant.platform.notify import desktop_notify
    from assistant.platform.wayland.clipboard import PyperclipClipboard
    from assistant.platform.wayland.output import ClipboardOutput, WtypeOutput

    clipboard = PyperclipClipboard()
    method = insert_method(settings, env, bool(shutil.which("wtype")))
    if method == "wtype":
        output = WtypeOutput(settings)
        sees = SEES_WTYPE
    else:
        output = ClipboardOutput(clipboard, desktop_notify)
        sees = SEES_CLIPBOARD
    return Platform(name="wayland", reason=f"{reason}; text goes in by {method}", output=output,
                    clipboard=clipboard, notify=desktop_notify, sees=sees)
