"""Headless sway for the Wayland tests, with no X server at all.

sway refuses to run as root, so it runs as the unprivileged ``nobody`` (setpriv) with its
own runtime dir; our (root) clients reach it through that dir's ``wayland-1`` socket. Keys
come from ``wtype`` (the virtual-keyboard protocol); one ``wtype -s 600000 -k Shift_L`` stays
running so the virtual keyboard's keymap lives between calls. Killed by process group.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ibus_rig import kill, wait_until

USER = "nobody"
CONFIG = """
output HEADLESS-1 resolution 1280x800
default_border none
focus_follows_mouse no
"""


class SwayRig:
    def __init__(self, root: Path):
        self.root = Path(root)
        # sway's user must reach its own dirs: not under pytest's root-only temp tree
        self.own = Path(tempfile.mkdtemp(prefix="hushtype-sway-"))
        self.runtime = self.own / "run"
        self.process: subprocess.Popen | None = None
        self.keeper: subprocess.Popen | None = None
        self.log_path = self.root / "sway.log"

    @staticmethod
    def available() -> str | None:
        missing = [t for t in ("sway", "wtype", "setpriv") if not shutil.which(t)]
        if missing:
            return f"needs {', '.join(missing)} (scripts/setup.sh --test installs sway and wtype)"
        try:
            pwd.getpwnam(USER)
        except KeyError:
            return f"needs the unprivileged user {USER!r} to run sway"
        if os.geteuid() != 0:
            return None
        return None

    @property
    def display_env(self) -> dict:
        return {"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": str(self.runtime),
                "XDG_SESSION_TYPE": "wayland", "GDK_BACKEND": "wayland"}

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env.update(self.display_env)
        return env

    def start(self) -> "SwayRig":
        user = pwd.getpwnam(USER)
        self.root.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        home = self.own / "home"
        home.mkdir(exist_ok=True)
        config = self.own / "sway.conf"
        config.write_text(CONFIG)
        as_root = os.geteuid() == 0
        if as_root:
            for path in (self.own, self.runtime, home, config):
                os.chown(path, user.pw_uid, user.pw_gid)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "XDG_RUNTIME_DIR": str(self.runtime), "WLR_BACKENDS": "headless",
               "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman",
               "WLR_HEADLESS_OUTPUTS": "1"}
        prefix = (["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                   "--"] if as_root else [])
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(prefix + ["sway", "-c", str(config)], env=env,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=str(self.own))
        socket = self.runtime / "wayland-1"
        wait_until(lambda: self.process.poll() is not None or socket.exists(), 30,
                   message="sway's socket")
        if self.process.poll() is not None:
            raise RuntimeError(f"sway exited: {self.log_path.read_text(errors='replace')[-2000:]}")
        self.keeper = subprocess.Popen(["wtype", "-s", "600000", "-k", "Shift_L"], env=self.env(),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
        time.sleep(0.3)
        return self

    def wtype(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(["wtype", *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, proc.stderr

    def type(self, text: str, delay_ms: int = 30) -> None:
        self.wtype("-d", str(delay_ms), "--", text)

    def swaymsg(self, *args: str) -> str:
        env = self.env()
        sockets = list(self.runtime.glob("sway-ipc.*.sock"))
        if sockets:
            env["SWAYSOCK"] = str(sockets[0])
        proc = subprocess.run(["swaymsg", *args], env=env, capture_output=True, text=True, timeout=20)
        return proc.stdout

    def stop(self) -> None:
        kill(self.keeper)
        kill(self.process)
        shutil.rmtree(self.own, ignore_errors=True)
