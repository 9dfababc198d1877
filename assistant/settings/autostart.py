"""Start hushtype at login: an XDG autostart entry running `hushtype up`.

``$XDG_CONFIG_HOME/autostart/hushtype.desktop`` (``~/.config/autostart`` by default) is read
by every XDG-compliant desktop (GNOME, KDE, Xfce, LXQt, Cinnamon, MATE ...) at login.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ENTRY_NAME = "hushtype.desktop"


def autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base).expanduser() if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "autostart"


def entry_path() -> Path:
    return autostart_dir() / ENTRY_NAME


def hushtype_command() -> list[str]:
    """How to run hushtype: the `hushtype` script of this installation, else this Python."""
    script = Path(sys.executable).with_name("hushtype")
    if script.exists():
        return [str(script)]
    found = shutil.which("hushtype")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "assistant.cli"]


def quote_exec_arg(arg: str) -> str:
    """Quote one argument for a desktop entry's Exec key (Desktop Entry Specification)."""
    reserved = set(' \t\n"\'\\><~|&;$*?#()`')
    escaped = arg.replace("%", "%%")
    if not any(ch in reserved for ch in escaped):
        return escaped
    inner = escaped
    for ch in ("\\", '"', "`", "$"):
        inner = inner.replace(ch, "\\" + ch)
    # The Exec value is itself a desktop-entry string, where a backslash is written twice.
    return '"' + inner.replace("\\", "\\\\") + '"'


def entry_text(command: list[str] | None = None) -> str:
    argv = (command or hushtype_command()) + ["up"]
    exec_line = " ".join(quote_exec_arg(a) for a in argv)
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        "Name=hushtype",
        "GenericName=Offline writing and voice assistant",
        "Comment=Private, fully offline writing and voice assistant (starts the tray icon)",
        f"Exec={exec_line}",
        "Terminal=false",
        "Categories=Utility;Accessibility;",
        "StartupNotify=false",
        "X-GNOME-Autostart-enabled=true",
        "X-GNOME-Autostart-Delay=5",
        "",
    ])


def enable(command: list[str] | None = None) -> Path:
    path = entry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(entry_text(command), encoding="utf-8")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def disable() -> bool:
    """Remove the entry; False if there was none."""
    try:
        entry_path().unlink()
    except FileNotFoundError:
        return False
    return True


def is_enabled() -> bool:
    return entry_path().exists()
