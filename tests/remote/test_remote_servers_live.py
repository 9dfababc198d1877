"""The assistant pointed at other servers, all real and on this machine.

- api = "openai" against the bundled server's own /v1 (the protocol vLLM and llama-server
  speak): listing, completions, chat, streaming, cancel, a missing model, and a command run
  end to end; greedy answers match the Ollama API's word for word.
- a second bundled server on another port, reached through `[server] url`.
- a URL naming a host that is not loopback: doctor, the Privacy tab and `hushtype up`'s log say
  "text leaves this machine, to <host>". The host used is this machine's own non-loopback
  address with nothing listening, so no traffic goes anywhere else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from assistant.commands.pipeline import CommandPipeline
from assistant.config import load_settings
from assistant.ollama_client import Cancelled, ModelMissing, OllamaClient

pytestmark = pytest.mark.live

MODEL = "gemma3:270m"
PROMPT = "Text: i has two apple.\nCorrected: I have two apples.\n\nText: she go home.\nCorrected:"
GREEDY = {"temperature": 0, "num_predict": 12, "seed": 1}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def warm(live_server):
    httpx.post(live_server.base_url + "/api/generate", json={"model": MODEL, "keep_alive": -1},
               timeout=120).raise_for_status()
    return live_server


def test_openai_api_lists_generates_and_chats_on_the_bundled_v1(warm):
    with OllamaClient(warm.base_url, api="openai", timeout=120) as oa, \
            OllamaClient(warm.base_url, api="ollama", timeout=120) as native:
        assert oa.is_running() and oa.version()
        assert MODEL in {m["name"] for m in oa.tags()}
        pieces: list[str] = []
        via_v1 = oa.generate(MODEL, PROMPT, raw=True, options=GREEDY, on_chunk=pieces.append)
        via_api = native.generate(MODEL, PROMPT, raw=True, options=GREEDY)
        assert via_v1.text and via_v1.text == via_api.text          # same model, same greedy answer
        assert "".join(pieces) == via_v1.text and len(pieces) > 1    # streamed
        assert via_v1.done_reason in ("stop", "length") and via_v1.stats["eval_count"] > 0
        chat = oa.chat(MODEL, [{"role": "user", "content": "Say hi."}], options=GREEDY)
        same = native.chat(MODEL, [{"role": "user", "content": "Say hi."}], options=GREEDY)
        assert chat.text == same.text and chat.stats["prompt_eval_count"] > 0


def test_openai_api_missing_model_and_cancel(warm):
    with OllamaClient(warm.base_url, api="openai", timeout=120) as oa:
        with pytest.raises(ModelMissing):
            oa.generate("nosuch:1b", "hi", raw=True, options={"num_predict": 2})
        cancel = threading.Event()
        got: list[str] = []

        def on_chunk(piece):
            got.append(piece)
            cancel.set()

        started = time.monotonic()
        with pytest.raises(Cancelled):
            oa.generate(MODEL, "Write a long story about the sea.", raw=True,
                        options={"num_predict": 400, "temperature": 0.8, "seed": 3}, on_chunk=on_chunk,
                        cancel=cancel)
        assert got and time.monotonic() - started < 60


def _settings(tmp_home, text: str) -> dict:
    (tmp_home / "config.toml").write_text(text)
    return load_settings()


def test_a_command_runs_through_the_openai_api(warm, hushtype_home):
    settings = _settings(hushtype_home, f'[server]\nurl = "{warm.base_url}"\napi = "openai"\n'
                                        f'timeout_seconds = 120\n')
    pipeline = CommandPipeline(settings)
    try:
        assert pipeline.client.api == "openai"
        # gen: always asks the model (fix: may answer from its dictionary alone)
        result = pipeline.run("gen: one sentence about the sea")
        assert result.status == "ok", result.error
        assert result.output and result.output.strip()
    finally:
        pipeline.client.close()


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_a_second_bundled_server_on_another_port(server_factory, hushtype_home, api):
    second = server_factory()
    settings = _settings(hushtype_home, f'[server]\nurl = "{second.base_url}"\napi = "{api}"\n'
                                        f'timeout_seconds = 120\n')
    with OllamaClient.from_settings(settings) as client:
        assert client.base_url == second.base_url
        reply = client.generate(MODEL, PROMPT, raw=True, options=GREEDY)
        assert reply.text
    # the answer came from the second server: it has the model loaded now
    loaded = httpx.get(second.base_url + "/api/ps", timeout=10, trust_env=False).json()["models"]
    assert [m["name"] for m in loaded] == [MODEL]


# ------------------------------------------------------------------ a host that is not loopback
def _own_address() -> str:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        address = ""
    if not address or address.startswith("127.") or address == "0.0.0.0":
        pytest.skip("this machine has no non-loopback IPv4 address to stand in for a remote host")
    return address


@pytest.fixture
def remote_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host = _own_address()
    return f"http://{host}:{port}", f"{host}:{port}"


def _env(home, url) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "OLLAMA_MODELS")}
    env.update(HUSHTYPE_HOME=str(home), PYTHONUNBUFFERED="1")
    env.pop("OLLAMA_HOST", None)
    return env


def test_doctor_says_text_leaves_this_machine(tmp_path, remote_url):
    url, where = remote_url
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'[server]\nurl = "{url}"\napi = "openai"\nstart_bundled = false\n')
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, env=_env(home, url),
                         capture_output=True, text=True, timeout=120).stdout
    assert f"privacy: text leaves this machine, to {where}" in out, out
    assert "openai API" in out
    (home / "config.toml").write_text("")
    local = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, env=_env(home, url),
                           capture_output=True, text=True, timeout=120).stdout
    assert "privacy: text stays on this machine" in local and "text leaves this machine" not in local


def test_privacy_tab_and_report_say_where_text_goes(hushtype_home, remote_url):
    from assistant.history.privacy import privacy_report
    from assistant.settings.backend import SettingsBackend
    from assistant.settings.server import SettingsServer

    url, where = remote_url
    (hushtype_home / "config.toml").write_text(f'[server]\nurl = "{url}"\n')
    report = privacy_report()
    assert report["remote_server"] == f"text leaves this machine, to {where}"
    assert f"text leaves this machine, to {where}" in report["network"]
    backend = SettingsBackend(None)
    server = SettingsServer(backend, port=0).start()
    try:
        with httpx.Client(follow_redirects=True, trust_env=False, timeout=30) as web:
            page = web.get(server.url_for("/privacy")).text
        assert f"Text leaves this machine, to {where}" in page
        assert "Your text leaves this machine" in page and "Nothing leaves this computer" not in page
        (hushtype_home / "config.toml").write_text("")
        assert privacy_report()["remote_server"] is None
    finally:
        server.stop()
        backend.close()


def test_up_logs_that_text_leaves_this_machine(tmp_path, remote_url):
    from rigs.assistant import start_assistant
    from rigs.procs import kill

    url, where = remote_url
    up = start_assistant(None, tmp_path / "home", url, config='[server]\napi = "openai"\n',
                         wait_for="hushtype is up")
    try:
        log = up.log()
        assert f"privacy: text leaves this machine, to {where}" in log
        assert "not this machine, so not starting one" in log
        os.killpg(up.process.pid, signal.SIGTERM)
        up.process.wait(timeout=30)
    finally:
        kill(up.process)
