"""A private IBus session for the tests: a D-Bus session bus and ``ibus-daemon`` of our own
(config dir, address file and GSettings all private), for an X server (XIM too) or a Wayland
compositor, and GTK3 text windows that use it (``GTK_IM_MODULE=ibus``).

Every process is our child in its own process group and is killed by pid at the end; nothing
is read from or written to the user's IBus setup.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from rigs.procs import SYSTEM_PYTHON, group_alive, kill, wait_until
from rigs.windows import SavedText

GTKAPP = Path(__file__).resolve().with_name("gtkapp.py")


def missing_tools(*tools: str) -> list[str]:
    return [t for t in tools if not shutil.which(t)]


def gtk_missing() -> str | None:
    """None when Debian's python3 can run the GTK3 window through IBus, else why not."""
    if not Path(SYSTEM_PYTHON).exists():
        return "needs Debian's /usr/bin/python3"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gtk', '3.0')"],
                           capture_output=True)
    if probe.returncode:
        return "needs python3-gi and gir1.2-gtk-3.0 (scripts/setup.sh --test installs them)"
    if not list(Path("/usr/lib").glob("*/gtk-3.0/3.0.0/immodules/im-ibus.so")):
        return "needs ibus-gtk3 (GTK's IBus input module)"
    return None


class IBusRig:
    """``start(display_env)``: display_env is {"DISPLAY": ":n"} (X11) or {"WAYLAND_DISPLAY":
    "/abs/socket", "XDG_RUNTIME_DIR": ...} (Wayland, no X)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.config = self.root / "config"
        self.dbus: subprocess.Popen | None = None
        self.daemon: subprocess.Popen | None = None
        self.bus_address: str | None = None
        self.display_env: dict = {}
        self.log_path = self.root / "ibus-daemon.log"

    @staticmethod
    def available() -> str | None:
        missing = missing_tools("dbus-daemon", "ibus-daemon", "ibus")
        if missing:
            return f"needs {', '.join(missing)} (scripts/setup.sh installs ibus and dbus)"
        return None

    def env(self, **extra) -> dict:
        """The environment of a client of this session (and of nothing else)."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("DISPLAY", "WAYLAND_DISPLAY", "IBUS_ADDRESS", "GTK_IM_MODULE",
                            "QT_IM_MODULE", "XMODIFIERS", "XDG_SESSION_TYPE")}
        env.update(self.display_env)
        env.update({"DBUS_SESSION_BUS_ADDRESS": self.bus_address or "",
                    "XDG_CONFIG_HOME": str(self.config), "GSETTINGS_BACKEND": "memory",
                    "NO_AT_BRIDGE": "1"})
        env.update(extra)
        return env

    def start(self, display_env: dict, *, xim: bool) -> "IBusRig":
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.mkdir(exist_ok=True)
        self.display_env = dict(display_env)
        self.dbus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.bus_address = self.dbus.stdout.readline().strip()
        if not self.bus_address:
            raise RuntimeError("dbus-daemon printed no address")
        args = ["ibus-daemon", "--panel=disable", "--replace", "--daemonize=no", "--verbose"]
        if xim:
            args.append("--xim")
        with open(self.log_path, "ab") as log:
            self.daemon = subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        # Debian's ibus-daemon forks its worker even with --daemonize=no: the process group
        # (ours alone) is what we wait on and kill.
        wait_until(lambda: not group_alive(self.daemon.pid) or self.ibus("address").returncode == 0
                   and bool(list(self.config.glob("ibus/bus/*"))), 20, message="ibus-daemon")
        if not group_alive(self.daemon.pid):
            raise RuntimeError(f"ibus-daemon exited: {self.log_path.read_text(errors='replace')}")
        return self

    def ibus(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ibus", *args], env=self.env(), capture_output=True, text=True,
                              timeout=20)

    def engine(self) -> str:
        """The global engine's name ("" when none is set)."""
        proc = self.ibus("engine")
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def set_engine(self, name: str) -> None:
        # On Wayland the CLI then fails to run setxkbmap (no X): the engine is set all the same.
        # Right after start the daemon may not take clients yet: try again.
        def attempt():
            self.ibus("engine", name)
            return self.engine() == name

        wait_until(attempt, 20, interval=0.3, message=f"IBus engine {name}")

    def stop(self) -> None:
        kill(self.daemon)
        kill(self.dbus)


@dataclass
class GtkApp(SavedText):
    path: Path
    process: subprocess.Popen
    snapshots: list = field(default_factory=list)

    def stop(self) -> None:
        kill(self.process)


def start_gtk_app(rig: IBusRig, path: Path, *, mode: str | None = None, **env_extra) -> GtkApp:
    """A GTK3 window whose IM is IBus; returns once its field has the keyboard focus."""
    env = rig.env(GTK_IM_MODULE="ibus", **env_extra)
    args = [SYSTEM_PYTHON, str(GTKAPP), str(path)] + ([f"--{mode}"] if mode else [])
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    app = GtkApp(path, proc)
    try:
        wait_until(lambda: proc.poll() is not None or Path(str(path) + ".ready").exists(), 30,
                   message="the GTK window to take the focus")
        if proc.poll() is not None:
            raise RuntimeError(f"the GTK window exited with {proc.returncode}")
    except BaseException:
        app.stop()
        raise
    time.sleep(0.3)          # the IM context's focus-in reaches the engine just after GTK's
    return app
