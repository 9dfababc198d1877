"""The running assistant's control socket: ``<data dir>/control.sock`` (0600), JSON lines.

`hushtype voice start|stop|toggle` (bound to a desktop shortcut) sends
``{"voice": "start"}`` and reads ``{"ok": true, "recording": true}``; ``{"ping": true}``
answers ``{"ok": true, "platform": "..."}``. Only our own user may connect (the socket's mode
and the peer's uid are both checked); a bad request gets ``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import socketserver
import struct
import tempfile
import threading
from pathlib import Path

from assistant import paths

log = logging.getLogger("hushtype.control")

MAX_REQUEST = 4096
_SUN_PATH_MAX = 100   # sockaddr_un holds 108 bytes; keep a margin


class ControlError(RuntimeError):
    pass


def socket_path() -> Path:
    """``<data dir>/control.sock``; when that path is too long for a Unix socket, a socket in
    a private per-user directory under the temp dir, named after the data dir."""
    data = paths.data_dir()
    path = data / "control.sock"
    if len(os.fsencode(str(path))) <= _SUN_PATH_MAX:
        return path
    private = Path(tempfile.gettempdir()) / f"hushtype-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    info = private.lstat()
    if info.st_uid != os.getuid() or (info.st_mode & 0o077) or private.is_symlink():
        raise ControlError(f"{private} is not a private directory of this user")
    digest = hashlib.sha256(os.fsencode(str(data.resolve()))).hexdigest()[:16]
    return private / f"control-{digest}.sock"


def peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: ControlServer = self.server.owner          # type: ignore[attr-defined]
        try:
            if peer_uid(self.connection) != os.getuid():
                self._send({"ok": False, "error": "not this user's assistant"})
                return
        except OSError:
            return
        self.connection.settimeout(10)
        while True:
            try:
                line = self.rfile.readline(MAX_REQUEST + 1)
            except (OSError, socket.timeout):
                return
            if not line:
                return
            if len(line) > MAX_REQUEST:
                self._send({"ok": False, "error": f"request longer than {MAX_REQUEST} bytes"})
                return
            self._send(server.answer(line))

    def _send(self, reply: dict) -> None:
        try:
            self.wfile.write(json.dumps(reply).encode() + b"\n")
            self.wfile.flush()
        except OSError:
            pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class ControlServer:
    """Serves the control socket for ``hushtype up`` (``start()`` / ``stop()``)."""

    def __init__(self, ctx, *, voice=None, path: Path | None = None):
        self.ctx = ctx
        self.voice = voice
        self.path = path or socket_path()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def answer(self, line: bytes) -> dict:
        """One request line -> its reply (never raises)."""
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return {"ok": False, "error": "not a JSON line"}
        if not isinstance(request, dict):
            return {"ok": False, "error": "a request is a JSON object, e.g. {\"voice\": \"toggle\"}"}
        if request.get("ping"):
            platform = getattr(self.ctx, "platform", None)
            return {"ok": True, "pid": os.getpid(), "platform": getattr(platform, "name", None)}
        if "voice" in request:
            if self.voice is None:
                return {"ok": False, "error": "push-to-talk is not running in this assistant "
                                              "(started with --no-voice, or no microphone/model)"}
            action, mode = request.get("voice"), request.get("mode", "dictate")
            if not isinstance(action, str) or not isinstance(mode, str):
                return {"ok": False, "error": "voice: start, stop or toggle"}
            try:
                return self.voice.control(action, mode)
            except ValueError as exc:
                return {"ok": False, "error": str(exc)}
            except Exception as exc:
                log.exception("control request failed")
                return {"ok": False, "error": f"failed: {exc}"}
        return {"ok": False, "error": "unknown request (known: voice, ping)"}

    def start(self) -> "ControlServer":
        path = self.path
        if path.exists() or path.is_symlink():
            if _answers(path):
                raise ControlError(f"another assistant answers on {path}")
            path.unlink()                        # left over by an assistant that was killed
        server = _Server(str(path), _Handler, bind_and_activate=False)
        server.owner = self                      # type: ignore[attr-defined]
        old = os.umask(0o177)                    # no moment where others could connect
        try:
            server.server_bind()
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        server.server_activate()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.25},
                                        name="hushtype-control", daemon=True)
        self._thread.start()
        log.info("control socket: %s (`hushtype voice start|stop|toggle`)", path)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        try:
            self.path.unlink()
        except OSError:
            pass


def _answers(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(path))
            return True
    except OSError:
        return False


def request(payload: dict, *, timeout: float = 10.0, path: Path | None = None) -> dict:
    """Send one request to the running assistant; ControlError when none runs."""
    path = path or socket_path()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(json.dumps(payload).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise ControlError("hushtype is not running (start it with `hushtype up`)") from None
    except OSError as exc:
        raise ControlError(f"cannot reach the running assistant at {path}: {exc}") from None
    try:
        return json.loads(data)
    except ValueError:
        raise ControlError("the running assistant gave no answer") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m assistant.service.control voice start|stop|toggle [--command]``: the same as
    `hushtype voice ...` without loading the whole CLI (a desktop shortcut answers faster)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    command = "--command" in args
    args = [a for a in args if a != "--command"]
    if len(args) != 2 or args[0] != "voice" or args[1] not in ("start", "stop", "toggle"):
        print("usage: python -m assistant.service.control voice start|stop|toggle [--command]", file=sys.stderr)
        return 2
    try:
        reply = request({"voice": args[1], "mode": "command" if command else "dictate"})
    except ControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not reply.get("ok"):
        print(f"error: {reply.get('error', 'refused')}", file=sys.stderr)
        return 1
    print("recording" if reply.get("recording") else "stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
