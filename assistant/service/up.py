"""``hushtype up``: the bundled server (when none answers), typed commands, voice and the
settings page, until Ctrl+C / SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

from assistant import paths

log = logging.getLogger("hushtype")

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


# ---------------------------------------------------------------------- display
def display_status(env=None) -> tuple[str, str]:
    """("x11" | "xwayland" | "wayland" | "none", explanation)."""
    env = os.environ if env is None else env
    session = (env.get("XDG_SESSION_TYPE") or "").lower()
    x = env.get("DISPLAY")
    wayland = env.get("WAYLAND_DISPLAY") or session == "wayland"
    if wayland and x:
        return "xwayland", ("Wayland session: typed commands work only in X11 (XWayland) apps; "
                            "native Wayland apps do not show their keys to other programs. "
                            "Log in with an X11 session (\"Ubuntu on Xorg\", \"Plasma (X11)\") "
                            "for commands in every app.")
    if wayland:
        return "wayland", ("Wayland session without XWayland: typed commands cannot see keys "
                           "(Wayland keeps each app's keys private). Use an X11 session, or the "
                           "settings page and `hushtype do`.")
    if x:
        return "x11", f"X11 display {x}"
    return "none", ("no display (DISPLAY is not set): typed commands and voice need a desktop "
                    "session; the model server keeps running for `hushtype do`, the settings "
                    "page and other apps")


# ---------------------------------------------------------------------- server
class BundledServer:
    """``python -m inference serve`` as a child process, logging to <data dir>/logs/server.log."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.base_url = base_url
        self.host = f"{parts.hostname}:{parts.port or 11434}"
        self.process: subprocess.Popen | None = None
        self.log_path = paths.logs_dir() / "server.log"

    def start(self, timeout: float = 120.0) -> "BundledServer":
        import httpx

        env = dict(os.environ)
        env["OLLAMA_HOST"] = self.host
        log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "inference", "serve"],
                                        cwd=str(paths.REPO_ROOT), env=env, stdout=log_file,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log_file.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bundled server exited with {self.process.returncode}; "
                                   f"see {self.log_path}")
            try:
                httpx.get(self.base_url + "/", timeout=2.0, trust_env=False)
                return self
            except httpx.HTTPError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the bundled server did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()


def ensure_server(settings: dict, client) -> BundledServer | None:
    """Start the bundled server when nothing answers at the configured address."""
    if client.is_running():
        log.info("model server: %s (already running)", client.base_url)
        return None
    host = urlsplit(client.base_url).hostname or ""
    if not settings.get("server", {}).get("start_bundled", True):
        log.warning("no model server answers at %s and start_bundled is off", client.base_url)
        return None
    if host not in LOOPBACK:
        log.warning("no model server answers at %s (not this machine, so not starting one)", client.base_url)
        return None
    log.info("model server: starting the bundled server at %s", client.base_url)
    return BundledServer(client.base_url).start()


# ---------------------------------------------------------------------- logging
def setup_logging(verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(level)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    root.addHandler(stream)
    try:
        handler = logging.FileHandler(paths.logs_dir() / "hushtype.log", encoding="utf-8")
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError as exc:
        log.warning("no log file: %s", exc)
    for noisy in ("httpx", "httpcore", "PIL", "urllib3", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ---------------------------------------------------------------------- components
def _start_optional(module_name: str, ctx, label: str):
    try:
        module = __import__(module_name, fromlist=["start"])
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            log.info("%s: not installed", label)
            return None
        log.warning("%s unavailable: %s", label, exc)
        return None
    try:
        component = module.start(ctx)
    except Exception as exc:
        log.warning("%s could not start: %s", label, exc)
        return None
    log.info("%s: started", label)
    return component


def single_instance():
    """An exclusive lock on <data dir>/up.lock, or None when another `hushtype up` holds it
    (two assistants would both answer every typed command)."""
    import fcntl

    handle = open(paths.data_dir() / "up.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        other = handle.read().strip()
        handle.close()
        log.error("hushtype is already running%s; stop it first (Ctrl+C in its terminal, or "
                  "`kill %s`)", f" (pid {other})" if other else "", other or "<pid>")
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def run(*, voice: bool = True, settings_page: bool = True, typed: bool = True,
        platform: str | None = None) -> int:
    lock = single_instance()
    if lock is None:
        return 1
    try:
        return _run(voice=voice, settings_page=settings_page, typed=typed, requested=platform)
    finally:
        lock.close()


def _run(*, voice: bool, settings_page: bool, typed: bool, requested: str | None = None) -> int:
    from assistant.commands.pipeline import CommandPipeline
    from assistant.config import ConfigError, load_settings
    from assistant.history.store import HistoryStore
    from assistant.ollama_client import OllamaClient, OllamaError
    from assistant.service.context import AssistantContext

    try:
        settings = load_settings()
    except ConfigError as exc:
        log.error("settings: %s (running on the defaults)", exc)
        settings = exc.settings
    client = OllamaClient.from_settings(settings)
    try:
        server = ensure_server(settings, client)
    except RuntimeError as exc:
        log.error("model server: %s", exc)
        server = None
    history = HistoryStore(retention_days=settings.get("history", {}).get("retention_days"))
    retention_timer = history.start_retention_timer()  # hourly sweep while running
    ctx = AssistantContext(settings=settings, history=history)
    ctx.pipeline = CommandPipeline(settings, client=client, history=history)

    def preload():
        model = ctx.pipeline.default_model
        try:
            started = time.monotonic()
            ctx.pipeline.preload(model)
            log.info("model %s loaded in %.1f s", model, time.monotonic() - started)
        except OllamaError as exc:
            log.warning("model %s not loaded: %s (run `hushtype pull %s`)", model, exc, model)

    threading.Thread(target=preload, name="hushtype-preload", daemon=True).start()

    components = []
    platform = None
    try:
        from assistant.platform.select import open_platform

        platform = open_platform(settings, requested)
        ctx.use_platform(platform)
        log.info("platform: %s (%s)", platform.name, platform.reason)
    except Exception as exc:
        log.error("platform: %s (run `hushtype doctor`)", exc)
    if platform is not None and platform.name == "wayland":
        ctx.notify("hushtype", platform.reason)
    if typed and platform is not None and platform.keys is not None and ctx.injector is not None:
        try:
            from assistant.service.typed import TypedCommands

            service = TypedCommands(ctx).start()
            components.append(service)
            log.info("listening for %s", service.describe())
        except Exception as exc:
            log.error("typed commands unavailable: %s (run `hushtype doctor`)", exc)
    elif typed and platform is not None and platform.name != "none":
        log.warning("typed commands unavailable on the %s backend: %s", platform.name, platform.reason)
    voice_service = None
    if voice and platform is not None and platform.output is not None:
        voice_service = _start_optional("assistant.voice.service", ctx, "push-to-talk")
        if voice_service is not None:
            components.append(voice_service)
    if platform is not None and platform.name == "none":
        log.warning(platform.reason)
    try:
        from assistant.service.control import ControlServer

        components.append(ControlServer(ctx, voice=voice_service).start())
    except Exception as exc:
        log.warning("control socket unavailable (`hushtype voice ...` will not reach us): %s", exc)
    if settings_page:
        comp = _start_optional("assistant.settings.service", ctx, "settings page")
        if comp is not None:
            components.append(comp)
            url = getattr(comp, "url", None)
            if url:
                log.info("settings page: %s", url)

    def on_signal(signum, frame):
        ctx.stop.set()

    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)   # `kill -USR1 <pid>`: thread dump

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info("hushtype is up (Ctrl+C to stop)")
    try:
        while not ctx.stop.wait(1.0):
            if server is not None and server.process.poll() is not None:
                log.error("the bundled model server exited (%s); see %s",
                          server.process.returncode, server.log_path)
                server = None
    finally:
        log.info("stopping")
        for component in reversed(components):
            try:
                component.stop()
            except Exception as exc:
                log.warning("stopping %s: %s", type(component).__name__, exc)
        if ctx.platform is not None:
            try:
                ctx.platform.close()
            except Exception as exc:
                log.debug("closing the platform: %s", exc)
        retention_timer.stop()
        if server is not None:
            server.stop()
        client.close()
    return 0
