"""A headless sway session for tests: no X server at all.

    with sway_session() as env:          # env: for Wayland clients (GTK apps, wtype, hushtype up)
        subprocess.Popen(["foot"], env=env)

sway refuses to run as root, so it runs as an ordinary user (``hushtype-sway``, created when
missing and we are root) with a private ``XDG_RUNTIME_DIR``; root clients connect with
``WAYLAND_DISPLAY`` set to the socket's absolute path. ``env`` has no ``DISPLAY``; it carries
``SWAYSOCK`` (``swaymsg -s``), ``XDG_SESSION_TYPE=wayland``, ``XDG_CURRENT_DESKTOP=sway`` and
``GDK_BACKEND=wayland``, plus a private ``XDG_RUNTIME_DIR`` for the clients themselves.
Skips (with the reason) where sway cannot run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SWAY_USER = "hushtype-sway"
CONFIG = """\
output HEADLESS-1 resolution 1280x800
default_border none
focus_follows_mouse no
"""


def _user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SWAY_USER)
    except KeyError:
        pass
    if os.geteuid() != 0:
        pytest.skip(f"sway refuses root and the user {SWAY_USER} is missing (create it: useradd -m {SWAY_USER})")
    subprocess.run(["useradd", "-m", SWAY_USER], check=True, capture_output=True)
    return pwd.getpwnam(SWAY_USER)


def swaymsg(env: dict, *args: str, timeout: float = 10) -> str:
    out = subprocess.run(["swaymsg", "-s", env["SWAYSOCK"], *args], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"swaymsg {' '.join(args)}: {out.stderr or out.stdout}")
    return out.stdout


@contextlib.contextmanager
def sway_session(width: int = 1280, height: int = 800):
    """Start headless sway; yield the environment for clients; stop it (and every client
    started in its session) at the end."""
    for tool in ("sway", "swaymsg"):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool} (scripts/setup.sh --test installs it)")
    user = _user()
    runtime = Path(tempfile.mkdtemp(prefix="hushtype-sway-run-"))
    os.chmod(runtime, 0o700)
    config = runtime / "config"
    config.write_text(CONFIG.replace("1280x800", f"{width}x{height}"))
    as_user = os.geteuid() == 0
    if as_user:
        os.chown(runtime, user.pw_uid, user.pw_gid)
        os.chown(config, user.pw_uid, user.pw_gid)
    server_env = {
        "HOME": user.pw_dir if as_user else os.environ.get("HOME", "/tmp"),
        "USER": user.pw_name if as_user else os.environ.get("USER", ""),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_RUNTIME_DIR": str(runtime),
        "WLR_BACKENDS": "headless", "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman",
    }
    cmd = ["sway", "-c", str(config)]
    if as_user:
        cmd = ["runuser", "-u", user.pw_name, "--"] + ["env", "-i"] + \
              [f"{k}={v}" for k, v in server_env.items()] + cmd
    log_path = runtime / "sway.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, env=server_env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    client_runtime = Path(tempfile.mkdtemp(prefix="hushtype-wl-client-"))
    os.chmod(client_runtime, 0o700)
    try:
        deadline = time.monotonic() + 20
        socket = ipc = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"sway exited ({proc.returncode}):\n{log_path.read_text(errors='replace')[-2000:]}")
            sockets = [p for p in glob.glob(str(runtime / "wayland-*")) if not p.endswith(".lock")]
            ipcs = glob.glob(str(runtime / "sway-ipc.*.sock"))
            if sockets and ipcs:
                socket, ipc = sockets[0], ipcs[0]
                break
            time.sleep(0.1)
        if socket is None:
            raise RuntimeError(f"sway did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")}
        env.update({
            "WAYLAND_DISPLAY": socket, "SWAYSOCK": ipc, "XDG_RUNTIME_DIR": str(client_runtime),
            "XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "sway", "GDK_BACKEND": "wayland",
            "NO_AT_BRIDGE": "1",
        })
        deadline = time.monotonic() + 10
        while True:
            try:
                swaymsg(env, "-t", "get_outputs")
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield env
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(runtime, ignore_errors=True)
        shutil.rmtree(client_runtime, ignore_errors=True)
