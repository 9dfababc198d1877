"""The request queue and client disconnects against real servers with the real model."""

from __future__ import annotations

import re
import socket
import threading
import time

import httpx
import pytest

from rigs.procs import wait_until
from server_helpers import MODEL

pytestmark = pytest.mark.live

LONG = {"model": MODEL, "prompt": "Write a very long story about the history of the world.",
        "options": {"temperature": 0.8, "seed": 7, "num_predict": 3000, "stop": ["\u0000"]}}


def cancelled_counts(log_text: str) -> list[int]:
    return [int(n) for n in re.findall(r"cancelled after (\d+) tokens", log_text)]


def _send_raw(server, body: bytes) -> socket.socket:
    """Send a POST /api/generate on a raw socket (the bytes are in the kernel on return)."""
    host, port = server.host.split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: " + server.host.encode() +
                 b"\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                 str(len(body)).encode() + b"\r\n\r\n" + body)
    return sock


def _read_all(sock: socket.socket, timeout: float = 120) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


def test_queue_limit_answers_503_and_queued_requests_are_served(server_factory):
    # One slot: the second request waits in the queue, the third finds it full.
    server = server_factory(extra_env={"OLLAMA_MAX_QUEUE": "1", "OLLAMA_NUM_PARALLEL": "1"})
    url = server.base_url + "/api/generate"
    httpx.post(url, json={"model": MODEL}, timeout=120).raise_for_status()  # load
    running = threading.Event()
    leave = threading.Event()

    def long_request():
        with httpx.Client(timeout=120) as c, c.stream("POST", url, json=LONG) as r:
            for _ in r.iter_lines():
                running.set()
                if leave.is_set():
                    break  # the disconnect frees the model for the queued request

    a = threading.Thread(target=long_request)
    a.start()
    try:
        assert running.wait(60)
        queued = _send_raw(server, b'{"model": "gemma3:270m", "prompt": "Hi", "stream": false, '
                                   b'"options": {"num_predict": 2}}')
        time.sleep(0.5)  # the server admits it to the queue (pending = 1 = OLLAMA_MAX_QUEUE)
        full = httpx.post(url, json={"model": MODEL, "prompt": "Hi", "stream": False}, timeout=30)
        assert full.status_code == 503
        assert full.json() == {"error": "server busy, please try again.  maximum pending requests exceeded"}
    finally:
        leave.set()
        a.join(120)
    answer = _read_all(queued)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b'"done":true' in answer


def test_streaming_disconnect_stops_decoding_and_frees_the_model(live_server, warm):
    before = len(cancelled_counts(live_server.log_text()))
    with httpx.Client(timeout=120) as c, c.stream("POST", live_server.base_url + "/api/generate", json=LONG) as r:
        for i, _ in enumerate(r.iter_lines()):
            if i >= 3:
                break
    # The next request gets the model promptly (it would otherwise wait for 3000 tokens).
    start = time.perf_counter()
    r = httpx.post(live_server.base_url + "/api/generate", timeout=60,
                   json={"model": MODEL, "prompt": "Hi", "stream": False, "options": {"num_predict": 1}})
    elapsed = time.perf_counter() - start
    assert r.status_code == 200 and elapsed < 10, elapsed
    counts = wait_until(lambda: cancelled_counts(live_server.log_text())[before:], timeout=10,
                        message="a cancelled decode in the server log")
    assert counts and counts[0] < 100, counts


def test_non_streaming_disconnect_stops_decoding(live_server, warm):
    before = len(cancelled_counts(live_server.log_text()))
    body = dict(LONG, stream=False)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(live_server.base_url + "/api/generate", json=body, timeout=httpx.Timeout(60, read=1.5))
    counts = wait_until(lambda: cancelled_counts(live_server.log_text())[before:], timeout=10,
                        message="a cancelled decode in the server log")
    assert counts and counts[0] < 1000, counts
    r = httpx.post(live_server.base_url + "/api/ps", timeout=10)
    assert r.status_code == 405  # sanity: the server is alive and answering


def test_queued_request_of_a_client_that_left_is_dropped(server_factory):
    server = server_factory()
    url = server.base_url + "/api/generate"
    httpx.post(url, json={"model": MODEL}, timeout=120).raise_for_status()
    running = threading.Event()
    stop = threading.Event()

    def long_request():
        with httpx.Client(timeout=120) as c, c.stream("POST", url, json=LONG) as r:
            for _ in r.iter_lines():
                running.set()
                if stop.is_set():
                    break

    a = threading.Thread(target=long_request)
    a.start()
    assert running.wait(60)
    # A raw client that sends a request, then hangs up while it is queued.
    sock = _send_raw(server, b'{"model": "gemma3:270m", "prompt": "queued then gone", "stream": false}')
    time.sleep(0.5)
    sock.close()
    wait_until(lambda: "request dropped" in server.log_text(), timeout=10,
               message=f"'request dropped' in the server log:\n{server.log_text()[-2000:]}")
    stop.set()
    a.join(120)


def test_max_loaded_models_evicts_the_least_recently_used(server_factory):
    from inference.models.store import ModelStore

    server = server_factory(extra_env={"OLLAMA_MAX_LOADED_MODELS": "1"})
    # A second model with its own manifest (own digest) sharing the embedded weights.
    ModelStore(server.models_dir).create_model("lru-other:1", from_model=MODEL, params={"temperature": 0.1})
    url = server.base_url
    for name in (MODEL, "lru-other:1"):
        r = httpx.post(url + "/api/generate", timeout=120,
                       json={"model": name, "prompt": "Hi", "stream": False, "options": {"num_predict": 1}})
        assert r.status_code == 200, r.text
    names = [m["name"] for m in httpx.get(url + "/api/ps").json()["models"]]
    assert names == ["lru-other:1"]
    assert "unloading gemma3:270m (evicted: OLLAMA_MAX_LOADED_MODELS reached)" in server.log_text()


def test_sigterm_during_a_generation_shuts_down_promptly(server_factory):
    import os
    import signal

    server = server_factory()
    url = server.base_url + "/api/generate"
    running = threading.Event()

    def long_request():
        try:
            with httpx.Client(timeout=60) as c, c.stream("POST", url, json=LONG) as r:
                for _ in r.iter_lines():
                    running.set()
        except httpx.HTTPError:
            pass  # the server went away mid-stream: expected

    a = threading.Thread(target=long_request)
    a.start()
    assert running.wait(60)
    started = time.monotonic()
    os.kill(server.process.pid, signal.SIGTERM)
    server.process.wait(30)
    a.join(30)
    assert time.monotonic() - started < 15
    assert "Application shutdown complete" in server.log_text()
