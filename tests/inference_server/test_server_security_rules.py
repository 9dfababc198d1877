"""Host-header (DNS rebinding) and Origin rules, and the CORS middleware on a real ASGI app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from inference.api.security import OriginPolicy, SecurityMiddleware, allowed_request_headers, host_allowed


@pytest.mark.parametrize("host", [
    "localhost", "localhost:11434", "LOCALHOST:1", "app.localhost:8080", "127.0.0.1:11434", "127.5.6.7",
    "[::1]:11434", "::1", "", None,
])
def test_loopback_server_accepts_local_host_headers(host):
    assert host_allowed(host, "127.0.0.1")


@pytest.mark.parametrize("host", [
    "evil.com", "evil.com:11434", "localhost.evil.com", "127.0.0.1.nip.io", "192.168.1.10:11434",
    "10.0.0.1", "0.0.0.0:11434", "[2001:db8::1]:11434", "notlocalhost",
])
def test_loopback_server_refuses_other_host_headers(host):
    assert not host_allowed(host, "127.0.0.1")


def test_bound_address_and_machine_name_are_allowed():
    assert host_allowed("127.0.0.2:5000", "127.0.0.2")
    assert host_allowed("mybox:11434", "127.0.0.1", machine_name="MyBox")
    assert not host_allowed("otherbox:11434", "127.0.0.1", machine_name="mybox")


def test_host_check_is_off_when_bound_to_all_interfaces():
    assert host_allowed("evil.com", "0.0.0.0")
    assert host_allowed("server.lan:11434", "192.168.1.5")


@pytest.mark.parametrize("origin", [
    "http://localhost", "https://localhost", "http://localhost:3000", "https://127.0.0.1:8443",
    "http://0.0.0.0:11434", "app://obsidian.md", "file://", "tauri://localhost", "vscode-webview://abc123",
    "http://[::1]:8080",
])
def test_default_origins_are_allowed(origin):
    assert OriginPolicy().allows(origin)


@pytest.mark.parametrize("origin", [
    "https://evil.com", "http://localhost.evil.com", "http://localhost:3000.evil.com", "null",
    "http://127.0.0.1.evil.com", "chrome-extension://abc",
])
def test_other_origins_are_refused(origin):
    assert not OriginPolicy().allows(origin)


def test_ollama_origins_adds_exact_and_wildcard_origins(monkeypatch):
    monkeypatch.setenv("OLLAMA_ORIGINS", "https://my.app, chrome-extension://*,https://*.example.org")
    policy = OriginPolicy.from_env()
    assert policy.allows("https://my.app")
    assert policy.allows("chrome-extension://abcdef")
    assert policy.allows("https://docs.example.org")
    assert not policy.allows("https://my.app.evil.com")
    assert not policy.allows("http://docs.example.org")
    monkeypatch.setenv("OLLAMA_ORIGINS", "*")
    assert OriginPolicy.from_env().allows("https://anything.test")


def test_preflight_headers_allow_stainless_and_authorization():
    allowed = allowed_request_headers("authorization, x-stainless-os, x-stainless-retry-count, x-evil")
    names = [h.strip() for h in allowed.split(",")]
    assert "authorization" in names and "content-type" in names
    assert "x-stainless-os" in names and "x-stainless-retry-count" in names
    assert "x-evil" not in names


@pytest.fixture
def client():
    app = FastAPI()

    @app.get("/api/tags")
    def tags():
        return {"models": []}

    app.add_middleware(SecurityMiddleware, bind_host="127.0.0.1", origins=OriginPolicy(extra=("https://ok.test",)))
    return TestClient(app, base_url="http://127.0.0.1:11434")


def test_middleware_refuses_rebinding_host_with_json(client):
    r = client.get("/api/tags", headers={"Host": "attacker.example:11434"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/json")
    assert "attacker.example" in r.json()["error"]


def test_middleware_refuses_foreign_origin_and_says_how_to_allow_it(client):
    r = client.get("/api/tags", headers={"Origin": "https://evil.test"})
    assert r.status_code == 403
    error = r.json()["error"]
    assert "https://evil.test" in error and "OLLAMA_ORIGINS" in error


def test_middleware_adds_cors_for_allowed_origin_and_answers_preflight(client):
    r = client.get("/api/tags", headers={"Origin": "https://ok.test"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://ok.test"
    pre = client.options("/api/tags", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-stainless-lang",
    })
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "http://localhost:5173"
    allow = pre.headers["access-control-allow-headers"]
    assert "authorization" in allow and "x-stainless-lang" in allow
    assert "POST" in pre.headers["access-control-allow-methods"]


def test_middleware_serves_requests_without_origin(client):
    r = client.get("/api/tags")
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
