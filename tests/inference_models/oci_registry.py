"""A small OCI distribution registry served on loopback, laid out like registry.ollama.ai.

Used by the pull tests and benchmarks/bench_pull.py. It is a real HTTP server (standard
library, one thread per connection) speaking the subset of the distribution protocol that
Ollama's registry serves: ``GET /v2/``, manifests (GET/HEAD), blobs (GET/HEAD, ``Range`` ->
206, redirect to a "CDN" path like the real registry) and an optional anonymous bearer-token
flow. Knobs simulate the failures a pull must survive:

* ``drop_after_total``: after this many blob bytes in total the network "goes down": the
  current response is cut and every later blob request is reset (the pull fails; clear the
  knob and pull again to test resume).
* ``cut_each_response_after``: every blob response is cut after this many body bytes
  (a flaky link; the pull must finish through its retries).
* ``corrupt``: digests whose bytes are served with one byte flipped.
* ``bytes_per_second``: throttle, so a test can interrupt a pull mid-blob.
* ``stall_responses``/``stall_after``/``stall_seconds``: the next N blob responses stop
  sending after some bytes and hang (a stalled link; the client must give up and retry).
* ``require_token``: answer 401 + ``WWW-Authenticate: Bearer`` until a token is presented;
  ``expire_token()`` makes the current token invalid (as when it times out mid-pull).

``served`` counts the blob body bytes actually written to clients, per digest.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

MT = "application/vnd.ollama.image."
TOKEN = "fixture-token"


def make_gguf(path: Path, *, name: str = "Tiny Test Model", payload_bytes: int = 1 << 20,
              seed: int = 0) -> Path:
    """A real (not runnable) GGUF file: llama-architecture metadata plus one random tensor."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(256)
    writer.add_file_type(0)
    rng = np.random.default_rng(seed)
    writer.add_tensor("payload", rng.standard_normal(max(1, payload_bytes // 4)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class LoopbackRegistry:
    def __init__(self):
        self.manifests: dict[tuple[str, str], bytes] = {}   # ("ns/model", tag) -> raw manifest
        self.blobs: dict[str, bytes] = {}
        self.served: dict[str, int] = {}
        # reset_counters() starts a new epoch; a response begun before it (e.g. still writing
        # into the socket of a client that was just killed) no longer counts.
        self.epoch = 0
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self.drop_after_total: int | None = None
        self.cut_each_response_after: int | None = None
        self.corrupt: set[str] = set()
        self.bytes_per_second: float | None = None
        self.require_token = False
        self.token = TOKEN
        self.tokens_issued = 0
        self.expire_token_after: int | None = None  # expire the token once this many bytes went out
        self.stall_responses = 0         # this many blob responses go silent ...
        self.stall_after = 0             # ... after this many body bytes ...
        self.stall_seconds = 0.0         # ... for this long (then the connection is dropped)
        self.redirect_blobs = True
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content --------------------------------------------------------------------------
    def add_blob(self, data: bytes) -> str:
        digest = digest_of(data)
        self.blobs[digest] = data
        return digest

    def add_model(self, repo: str, tag: str, gguf_bytes: bytes, *, template: str | None = None,
                  params: dict | None = None, license: str | None = None) -> dict:
        """Publish a model the way Ollama lays one out; returns the manifest dict."""
        layers = []

        def layer(data: bytes, kind: str):
            layers.append({"mediaType": MT + kind, "digest": self.add_blob(data), "size": len(data)})

        layer(gguf_bytes, "model")
        if template is not None:
            layer(template.encode(), "template")
        if license is not None:
            layer(license.encode(), "license")
        if params is not None:
            layer(json.dumps(params).encode(), "params")
        config = json.dumps({
            "model_format": "gguf", "model_family": "llama", "model_families": ["llama"],
            "model_type": "", "file_type": "F32", "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [entry["digest"] for entry in layers]},
        }).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "digest": self.add_blob(config), "size": len(config)},
            "layers": layers,
        }
        # deliberately not json.dumps' default spacing: the client must store these bytes as-is
        self.manifests[(repo, tag)] = json.dumps(manifest, indent=3).encode()
        return manifest

    def expire_token(self) -> None:
        with self.lock:
            self.token = f"{TOKEN}-{self.tokens_issued + 1}"

    def served_total(self) -> int:
        with self.lock:
            return sum(self.served.values())

    def reset_counters(self) -> None:
        with self.lock:
            self.epoch += 1
            self.served.clear()
            self.requests.clear()

    # -- server ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "LoopbackRegistry":
        registry = self

        class Handler(_Handler):
            reg = registry

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    reg: LoopbackRegistry

    def log_message(self, *args):  # keep test output quiet
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, code: str, head: bool = False):
        body = json.dumps({"errors": [{"code": code, "message": code.lower()}]}).encode()
        self._reply(status, body, {"Content-Type": "application/json"}, head)

    def _authorised(self) -> bool:
        if not self.reg.require_token or self.headers.get("Authorization") == f"Bearer {self.reg.token}":
            return True
        self._error(401, "UNAUTHORIZED", self.command == "HEAD")
        return False

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if code == 401:
            realm = f"http://{self.reg.host}/token"
            self.send_header("WWW-Authenticate",
                             f'Bearer realm="{realm}",service="fixture",scope="repository:x:pull"')

    def do_HEAD(self):
        self._route(head=True)

    def do_GET(self):
        self._route(head=False)

    def _route(self, head: bool):
        reg = self.reg
        with reg.lock:
            reg.requests.append((self.command, self.path, self.headers.get("Range")))
        path = self.path.split("?", 1)[0]
        if path == "/token":
            with reg.lock:
                reg.tokens_issued += 1
                token = reg.token
            return self._reply(200, json.dumps({"token": token}).encode(), {"Content-Type": "application/json"})
        if path.startswith("/cdn/"):
            return self._blob(path[len("/cdn/"):], head)
        if path == "/v2/":
            if self._authorised():
                self._reply(200, b"{}", {"Content-Type": "application/json"}, head)
            return
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        if not m:
            return self._error(404, "NOT_FOUND", head)
        if not self._authorised():
            return
        repo, kind, ref = m.groups()
        if kind == "manifests":
            raw = reg.manifests.get((repo, ref))
            if raw is None:
                return self._error(404, "MANIFEST_UNKNOWN", head)
            return self._reply(200, raw, {
                "Content-Type": "application/vnd.docker.distribution.manifest.v2+json",
                "Docker-Content-Digest": digest_of(raw)}, head)
        if ref not in reg.blobs:
            return self._error(404, "BLOB_UNKNOWN", head)
        if reg.redirect_blobs:
            return self._reply(307, b"", {"Location": f"/cdn/{ref}"}, head)
        return self._blob(ref, head)

    def _blob(self, digest: str, head: bool):
        reg = self.reg
        data = reg.blobs.get(digest)
        if data is None:
            return self._error(404, "BLOB_UNKNOWN", head)
        if digest in reg.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        total = len(data)
        start, end, status = 0, total - 1, 200
        rng = self.headers.get("Range")
        if rng and not head:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if not m or int(m.group(1)) >= total:
                return self._reply(416, b"", {"Content-Range": f"bytes */{total}"})
            start = int(m.group(1))
            end = min(total - 1, int(m.group(2))) if m.group(2) else total - 1
            status = 206
        if head:
            return self._head_blob(total)
        if reg.drop_after_total is not None and reg.served_total() >= reg.drop_after_total:
            self._cut()
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        self.end_headers()
        sent, pos, chunk = 0, start, 64 * 1024
        stall = False
        with reg.lock:
            self._epoch = reg.epoch
            if reg.stall_responses > 0:
                reg.stall_responses -= 1
                stall = True
        try:
            while pos <= end:
                if stall and sent >= reg.stall_after:
                    self.wfile.flush()
                    time.sleep(reg.stall_seconds)
                    self._cut()
                    return
                piece = data[pos:min(end + 1, pos + chunk)]
                limit = None
                if reg.cut_each_response_after is not None:
                    limit = reg.cut_each_response_after - sent
                # the bytes are counted before they are written, under the lock: parallel part
                # downloads must not each see room for one more chunk and overshoot together
                wanted = len(piece) if limit is None else max(0, min(len(piece), limit))
                counted = self._count(digest, wanted, cap=reg.drop_after_total)
                if counted < len(piece):
                    if counted:
                        self.wfile.write(piece[:counted])
                    self.wfile.flush()
                    self._cut()
                    return
                self.wfile.write(piece)
                sent += len(piece)
                pos += len(piece)
                if reg.bytes_per_second:
                    time.sleep(len(piece) / reg.bytes_per_second)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _head_blob(self, total: int):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(total))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def _count(self, digest: str, n: int, cap: int | None = None) -> int:
        """Count ``n`` bytes served (at most up to a total of ``cap``); returns how many may go."""
        reg = self.reg
        with reg.lock:
            if cap is not None:
                n = max(0, min(n, cap - sum(reg.served.values())))
            if getattr(self, "_epoch", reg.epoch) != reg.epoch:
                return n  # a response from before reset_counters()
            reg.served[digest] = reg.served.get(digest, 0) + n
            if reg.expire_token_after is not None and sum(reg.served.values()) >= reg.expire_token_after:
                reg.expire_token_after = None
                reg.token = f"{TOKEN}-{reg.tokens_issued + 1}"
        return n

    def _cut(self):
        """Drop the connection abruptly, like a network failure."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
