"""Headless sway for the Wayland tests: a compositor with no X server at all.

    with sway_session() as env:          # env: for Wayland clients (GTK apps, wtype, hushtype up)
        subprocess.Popen(["foot"], env=env)

    sway = SwayRig(root, keep_keyboard=True).start()   # the IBus tests: sway.display_env
    ...
    sway.stop()

sway refuses to run as root, so as root it runs as the ordinary user ``hushtype-sway``
(created when missing) through ``setpriv``, with a private ``XDG_RUNTIME_DIR`` and ``HOME`` of
its own; as any other user it runs as that user. Two views of the one session:

* ``env()``: a root client's, with ``WAYLAND_DISPLAY`` the socket's absolute path, ``SWAYSOCK``
  (``swaymsg``), ``XDG_SESSION_TYPE=wayland``, ``XDG_CURRENT_DESKTOP=sway``,
  ``GDK_BACKEND=wayland`` and a private ``XDG_RUNTIME_DIR`` for the clients themselves;
* ``display_env``: a desktop session's own, ``WAYLAND_DISPLAY=wayland-N`` inside the
  compositor's ``XDG_RUNTIME_DIR`` (libibus names its address file after ``WAYLAND_DISPLAY``:
  an absolute path would put slashes into that name).

Neither carries ``DISPLAY``, ``XAUTHORITY`` or another session's ``WAYLAND_DISPLAY``.
``keep_keyboard`` keeps one ``wtype -s 600000 -k Shift_L`` running, so the virtual keyboard's
keymap lives between wtype calls. Everything is killed by process group at the end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from rigs.procs import kill, wait_until

SWAY_USER = "hushtype-sway"
CONFIG = """\
output HEADLESS-1 resolution {width}x{height}
default_border none
focus_follows_mouse no
"""
_LEAKS = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")


class SwayRig:
    def __init__(self, root: Path | None = None, *, width: int = 1280, height: int = 800,
                 keep_keyboard: bool = False):
        # sway's user must reach its own dirs: not under pytest's root-only temp tree
        self.own = Path(tempfile.mkdtemp(prefix="hushtype-sway-"))
        self.root = Path(root) if root is not None else self.own
        self.runtime = self.own / "run"
        self.client_runtime = self.own / "client-run"
        self.size = (width, height)
        self.keep_keyboard = keep_keyboard
        self.log_path = self.root / "sway.log"
        self.process: subprocess.Popen | None = None
        self.keeper: subprocess.Popen | None = None
        self.socket: Path | None = None
        self.ipc: Path | None = None

    @staticmethod
    def available(keep_keyboard: bool = False) -> str | None:
        """None when sway can run here, else why not."""
        tools = ["sway", "swaymsg"] + (["setpriv"] if os.geteuid() == 0 else []) + \
                (["wtype"] if keep_keyboard else [])
        missing = [t for t in tools if not shutil.which(t)]
        if missing:
            return f"needs {', '.join(missing)} (scripts/setup.sh --test installs sway and wtype)"
        return None

    @staticmethod
    def _user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SWAY_USER)
        except KeyError:
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            SWAY_USER], check=True, capture_output=True)
            return pwd.getpwnam(SWAY_USER)

    # ------------------------------------------------------------------ the two views
    @property
    def display_env(self) -> dict:
        return {"WAYLAND_DISPLAY": self.socket.name, "XDG_RUNTIME_DIR": str(self.runtime),
                "XDG_SESSION_TYPE": "wayland", "GDK_BACKEND": "wayland"}

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
        env.update({
            "WAYLAND_DISPLAY": str(self.socket), "SWAYSOCK": str(self.ipc),
            "XDG_RUNTIME_DIR": str(self.client_runtime), "XDG_SESSION_TYPE": "wayland",
            "XDG_CURRENT_DESKTOP": "sway", "GDK_BACKEND": "wayland", "NO_AT_BRIDGE": "1",
        })
        return env

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "SwayRig":
        self.root.mkdir(parents=True, exist_ok=True)
        home = self.own / "home"
        for path in (self.runtime, self.client_runtime, home):
            path.mkdir(mode=0o700, exist_ok=True)
        config = self.own / "sway.conf"
        config.write_text(CONFIG.format(width=self.size[0], height=self.size[1]))
        prefix = []
        if os.geteuid() == 0:
            user = self._user()
            for path in (self.own, self.runtime, home, config):
                os.chown(path, user.pw_uid, user.pw_gid)
            prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                      "--clear-groups", "--"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "XDG_RUNTIME_DIR": str(self.runtime), "WLR_BACKENDS": "headless",
               "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman",
               "WLR_HEADLESS_OUTPUTS": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(prefix + ["sway", "-c", str(config)], env=env,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=str(self.own))
        try:
            wait_until(self._sockets, 30, interval=0.1, message="sway's sockets")
            wait_until(self._answers, 10, interval=0.2, message="sway's IPC to answer")
            if self.keep_keyboard:
                self.keeper = subprocess.Popen(["wtype", "-s", "600000", "-k", "Shift_L"],
                                               env=self.env(), stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, start_new_session=True)
                time.sleep(0.3)
        except BaseException:
            self.stop()
            raise
        return self

    def _sockets(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"sway exited ({self.process.returncode}):\n{self.log()}")
        sockets = sorted(p for p in self.runtime.glob("wayland-*") if p.suffix != ".lock")
        ipcs = sorted(self.runtime.glob("sway-ipc.*.sock"))
        if sockets and ipcs:
            self.socket, self.ipc = sockets[0], ipcs[0]
            return True
        return False

    def _answers(self) -> bool:
        try:
            self.swaymsg("-t", "get_outputs")
            return True
        except RuntimeError:
            return False

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except FileNotFoundError:
            return ""

    def swaymsg(self, *args: str, timeout: float = 10) -> str:
        out = subprocess.run(["swaymsg", "-s", str(self.ipc), *args], capture_output=True,
                             text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"swaymsg {' '.join(args)}: {out.stderr or out.stdout}")
        return out.stdout

    def stop(self) -> None:
        kill(self.keeper)
        kill(self.process, timeout=10)
        shutil.rmtree(self.own, ignore_errors=True)


@contextlib.contextmanager
def sway_session(width: int = 1280, height: int = 800, *, keep_keyboard: bool = False):
    """Start headless sway; yield a root client's environment (``SwayRig.env()``); stop it
    (and every client started in its session) at the end. Skips (saying why) where sway
    cannot run."""
    why = SwayRig.available(keep_keyboard)
    if why:
        pytest.skip(why)
    rig = SwayRig(width=width, height=height, keep_keyboard=keep_keyboard).start()
    try:
        yield rig.env()
    finally:
        rig.stop()
