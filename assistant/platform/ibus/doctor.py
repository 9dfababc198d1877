"""``hushtype doctor``'s IBus checks: is a daemon running, is the hushtype engine active, do
apps use IBus, and what this desktop needs once - exactly what to click or run."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Mapping

ENV_LINES = "GTK_IM_MODULE=ibus QT_IM_MODULE=ibus XMODIFIERS=@im=ibus"


def desktop_name(env: Mapping[str, str]) -> str:
    """"gnome" | "kde" | "wlroots" | "x11" | "other" from the session's environment (pure)."""
    desktops = (env.get("XDG_CURRENT_DESKTOP") or env.get("XDG_SESSION_DESKTOP") or "").lower()
    if "gnome" in desktops or "unity" in desktops:
        return "gnome"
    if "kde" in desktops or "plasma" in desktops:
        return "kde"
    if env.get("SWAYSOCK") or env.get("HYPRLAND_INSTANCE_SIGNATURE") or \
            any(d in desktops for d in ("sway", "hyprland", "river", "wayfire", "labwc")):
        return "wlroots"
    if not env.get("WAYLAND_DISPLAY") and env.get("DISPLAY"):
        return "x11"
    return "other"


def setup_steps(desktop: str) -> str:
    """What to do once so that apps type through IBus on this desktop (pure)."""
    return {
        "gnome": ("GNOME runs IBus itself: nothing to start. Keep at least one input source in "
                  "Settings → Keyboard → Input Sources; `hushtype up` takes it over while it runs "
                  "and gives it back on exit. Do not switch input sources (Super+Space) while "
                  "hushtype runs (that hands the keys back to the other source; run `hushtype up` "
                  "again)."),
        "kde": ("System Settings → Keyboard → Virtual Keyboard: choose \"IBus Wayland\", Apply, "
                "then log out and in. Start IBus once: `ibus-daemon --daemonize --replace`."),
        "wlroots": ("start IBus with the session: add `exec ibus-daemon --daemonize --replace` to "
                    "~/.config/sway/config (Hyprland: `exec-once = ibus-daemon --daemonize "
                    f"--replace`), and set {ENV_LINES} in ~/.config/environment.d/ibus.conf; log "
                    "out and in."),
        "x11": (f"run `im-config -n ibus` (Debian/Ubuntu) or put {ENV_LINES} in ~/.profile and "
                "`ibus-daemon --daemonize --xim` in your session's autostart; log out and in; "
                "then `hushtype up --platform ibus` (auto uses X11 RECORD on X11)."),
    }.get(desktop, (f"start `ibus-daemon --daemonize --replace` with the session and set "
                    f"{ENV_LINES} for it; log out and in."))


def _global_engine(env: Mapping[str, str]) -> tuple[bool, str]:
    """(daemon answers, global engine name or "") through the `ibus` command."""
    ibus = shutil.which("ibus")
    if not ibus:
        return False, ""
    try:
        address = subprocess.run([ibus, "address"], capture_output=True, text=True, timeout=5,
                                 env=dict(env)).stdout.strip()
        if not address or address == "(null)":
            return False, ""
        proc = subprocess.run([ibus, "engine"], capture_output=True, text=True, timeout=5,
                              env=dict(env))
    except (OSError, subprocess.TimeoutExpired):
        return False, ""
    if proc.returncode != 0 and "No engine" not in proc.stdout + proc.stderr \
            and "No global engine" not in proc.stderr:
        return False, ""
    return True, proc.stdout.strip() if proc.returncode == 0 else ""


def ibus_checks(env: Mapping[str, str] | None = None) -> list:
    from assistant.service.doctor import Check

    env = os.environ if env is None else env
    desktop = desktop_name(env)
    steps = setup_steps(desktop)
    wayland = bool(env.get("WAYLAND_DISPLAY"))
    if not shutil.which("ibus-daemon"):
        return [Check("IBus", False, "IBus is not installed (typed commands on Wayland need it)",
                      "sudo apt install ibus gir1.2-ibus-1.0 ibus-gtk3 ibus-gtk4; then: " + steps,
                      required=False)]
    try:
        import gi

        gi.require_version("IBus", "1.0")
        from gi.repository import IBus  # noqa: F401
        bindings = Check("IBus bindings", True, "PyGObject with the IBus typelib", required=False)
    except (ImportError, ValueError) as exc:
        bindings = Check("IBus bindings", False, f"cannot load IBus from Python: {exc}",
                         "sudo apt install gir1.2-ibus-1.0 libgirepository1.0-dev; bash scripts/setup.sh",
                         required=wayland)
    running, engine = _global_engine(env)
    checks = [bindings]
    checks.append(Check("IBus daemon", running,
                        "running" if running else "no IBus daemon answers in this session",
                        "" if running else steps, required=False))
    if running:
        active = engine == "hushtype"
        detail = ("the hushtype engine is active: typed commands see the focused text field"
                  if active else
                  f"the active engine is {engine or 'none'}; `hushtype up` makes hushtype the "
                  "active input method while it runs")
        checks.append(Check("IBus engine", True, detail, required=False))
    im = env.get("GTK_IM_MODULE")
    if im and im != "ibus":
        checks.append(Check("apps' input method", False,
                            f"GTK_IM_MODULE={im}: GTK apps will not type through IBus",
                            f"set {ENV_LINES} for your session ({steps})", required=False))
    checks.append(Check("desktop setup (once)", True, f"{desktop}: {steps}", required=False))
    checks.append(Check("IBus limits", True,
                        "apps without input-method support (xterm, some games, Java/Swing without "
                        "IBus) and terminals that take keys raw (foot, kitty, alacritty on "
                        "Wayland) are not seen; Chromium/Electron need --enable-wayland-ime",
                        required=False))
    return checks
