"""Runs the settings web app with uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import uvicorn

from assistant.settings import runtime_file
from assistant.settings.security import Secrets

log = logging.getLogger(__name__)


class SettingsServer:
    """The page on ``127.0.0.1:<port>`` (0 = a free port), with its runtime file while it runs."""

    def __init__(self, backend, *, port: int = 0, write_runtime_file: bool = True):
        from assistant.settings.app import create_app

        self.secrets = Secrets()
        self._socket = _bind_loopback(port)
        self.port: int = self._socket.getsockname()[1]
        self.app = create_app(backend, port=self.port, run=self.secrets)
        self._write_runtime_file = write_runtime_file
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=3)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The private link: the token in it is exchanged for the session cookie."""
        return self.url_for("/")

    def url_for(self, path: str) -> str:
        """The private link to one page (e.g. ``/history/wipe``)."""
        return f"{self.base_url}{path}?token={self.secrets.url_token}"

    def start(self, timeout: float = 10.0) -> "SettingsServer":
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="hushtype-settings", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the settings page failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("the settings page did not start in time")
            time.sleep(0.02)
        if self._write_runtime_file:
            runtime_file.write(runtime_file.RuntimeInfo(url=self.url, port=self.port, pid=os.getpid(),
                                                        started_at=time.time()))
        log.info("settings page on %s", self.base_url)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl+C in the foreground stops it)."""
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self._write_runtime_file:
            runtime_file.remove(only_pid=os.getpid())
        self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        try:
            self._socket.close()
        except OSError:
            pass


def _bind_loopback(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", int(port)))
    except OSError as exc:
        sock.close()
        raise RuntimeError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
    sock.listen(64)
    sock.set_inheritable(False)
    return sock
