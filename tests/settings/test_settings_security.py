"""Who may use the settings page: the pure checks, then the same rules over real HTTP."""

from __future__ import annotations

import os
import re
import stat

import httpx
import pytest

from assistant.settings import runtime_file, security
from assistant.settings.security import Secrets, judge

PORT = 41234
RUN = Secrets()


def _judge(method="GET", path="/history", query="", **headers):
    base = {"host": f"127.0.0.1:{PORT}"}
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    return judge(method=method, path=path, query=query, headers=base, port=PORT, run=RUN)


def _cookie(run=RUN):
    return f"{security.cookie_name(PORT)}={run.session}"


# ----------------------------------------------------------------------------- pure rules
def test_no_cookie_is_refused_and_right_cookie_allowed():
    assert _judge().action == "refuse"
    assert _judge(cookie=_cookie()).action == "allow"
    assert _judge(cookie=_cookie(Secrets())).action == "refuse"  # another run's cookie
    assert _judge(cookie=f"{security.cookie_name(PORT + 1)}={RUN.session}").action == "refuse"


def test_token_logs_in_and_redirects_to_the_clean_url():
    verdict = _judge(path="/history", query=f"q=cat&token={RUN.url_token}")
    assert verdict.action == "login"
    assert verdict.redirect_to == "/history?q=cat"
    assert RUN.url_token not in verdict.redirect_to
    assert _judge(query="token=wrong").action == "refuse"
    assert _judge(method="POST", query=f"token={RUN.url_token}", origin=f"http://127.0.0.1:{PORT}").action == "refuse"


@pytest.mark.parametrize("host", ["evil.example:41234", f"127.0.0.1:{PORT + 1}", "127.0.0.1", "", "localhost.evil:41234"])
def test_foreign_host_is_refused_even_with_the_cookie(host):
    # DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends Host: evil.example
    assert _judge(host=host, cookie=_cookie()).action == "refuse"


def test_localhost_host_is_accepted():
    assert _judge(host=f"localhost:{PORT}", cookie=_cookie()).action == "allow"


def test_cross_origin_requests_are_refused():
    ok = f"http://127.0.0.1:{PORT}"
    assert _judge("POST", cookie=_cookie(), origin=ok).action == "allow"
    assert _judge("POST", cookie=_cookie(), origin="http://evil.example").action == "refuse"
    assert _judge("POST", cookie=_cookie(), origin=f"http://127.0.0.1:{PORT + 1}").action == "refuse"
    assert _judge("POST", cookie=_cookie(), origin="null").action == "refuse"
    assert _judge("GET", cookie=_cookie(), origin="http://evil.example").action == "refuse"
    # no Origin: the Referer decides; neither: refused
    assert _judge("POST", cookie=_cookie(), referer=f"{ok}/commands").action == "allow"
    assert _judge("POST", cookie=_cookie(), referer="http://evil.example/x").action == "refuse"
    assert _judge("POST", cookie=_cookie()).action == "refuse"
    assert _judge("POST", cookie=_cookie(), origin=ok, sec_fetch_site="cross-site").action == "refuse"


def test_public_paths_need_no_cookie_but_still_the_host():
    assert _judge(path="/static/style.css").action == "allow"
    assert _judge(path="/healthz").action == "allow"
    assert _judge(path="/healthz", host="evil.example:41234").action == "refuse"


def test_csrf_token_is_per_run():
    assert security.csrf_ok(RUN, RUN.csrf)
    assert not security.csrf_ok(RUN, Secrets().csrf)
    assert not security.csrf_ok(RUN, "")
    assert not security.csrf_ok(RUN, None)


# ----------------------------------------------------------------------------- real HTTP
def _client(server):
    return httpx.Client(base_url=server.base_url, follow_redirects=False, trust_env=False, timeout=10)


def _login(client, server) -> None:
    response = client.get("/", params={"token": server.secrets.url_token})
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert response.headers["location"] == "/"


def test_http_refuses_without_cookie_and_serves_with_it(settings_server):
    with _client(settings_server) as client:
        refused = client.get("/history")
        assert refused.status_code == 403
        assert "hushtype settings" in refused.text
        assert client.get("/", params={"token": "nope"}).status_code == 403
        _login(client, settings_server)
        page = client.get("/history")
        assert page.status_code == 200 and "<h1>History</h1>" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_http_refuses_a_rebound_host(settings_server):
    with _client(settings_server) as client:
        _login(client, settings_server)
        response = client.get("/history", headers={"Host": f"attacker.example:{settings_server.port}"})
        assert response.status_code == 403


def test_http_state_change_needs_same_origin_and_csrf(settings_server):
    origin = settings_server.base_url
    with _client(settings_server) as client:
        _login(client, settings_server)
        data = {"retention_days": "5"}
        # cross-origin POST with a valid CSRF token: refused before it reaches the page
        r = client.post("/retention", data={**data, "csrf_token": settings_server.secrets.csrf},
                        headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        # same origin without the CSRF token: refused
        r = client.post("/retention", data=data, headers={"Origin": origin})
        assert r.status_code == 403 and "CSRF" in r.text
        # wrong token: refused
        r = client.post("/retention", data={**data, "csrf_token": "x" * 64}, headers={"Origin": origin})
        assert r.status_code == 403
        assert client.get("/retention").text.count('value="30"') >= 1  # nothing changed
        # both right: saved
        r = client.post("/retention", data={**data, "csrf_token": settings_server.secrets.csrf},
                        headers={"Origin": origin})
        assert r.status_code == 303
        assert 'id="retention-now">5 days' in client.get("/retention").text


def test_http_bad_input_is_a_clear_4xx(settings_server):
    origin = settings_server.base_url
    with _client(settings_server) as client:
        _login(client, settings_server)
        csrf = settings_server.secrets.csrf
        r = client.post("/retention", data={"retention_days": "-3", "csrf_token": csrf}, headers={"Origin": origin})
        assert r.status_code == 400 and "negative" in r.text
        r = client.post("/retention", data={"retention_days": "soon", "csrf_token": csrf}, headers={"Origin": origin})
        assert r.status_code == 400 and "whole number" in r.text
        r = client.get("/history/abc")
        assert r.status_code == 400
        r = client.get("/history/999999")
        assert r.status_code == 404 and "no history entry" in r.text
        r = client.post("/try", content=b"{not json", headers={"Origin": origin, "X-CSRF-Token": csrf,
                                                                 "Content-Type": "application/json",
                                                                 "Accept": "application/json"})
        assert r.status_code == 400 and "JSON" in r.json()["error"]


def test_export_leaves_no_copy_on_disk_once_the_answer_starts(settings_server):
    """The history export's temporary file is gone before the first byte reaches the browser.

    Removing it only after the answer was sent left a window in which the download had finished
    while a full copy of the history still sat in the data folder (it made the browser test flaky).
    """
    from assistant import paths
    from assistant.history.store import HistoryStore

    store = HistoryStore(paths.history_db(), retention_days=3650)  # the real SQLite file the page reads
    store.add(prefix="fix:", command="fix", input="kept private " * 2000, output="x", model="m", status="ok")
    store.close()
    with _client(settings_server) as client:
        _login(client, settings_server)
        with client.stream("GET", "/history/export.json") as response:
            assert response.status_code == 200
            assert not list(paths.data_dir().glob(".export-*")), "the copy must be gone before the answer"
            assert "attachment" in response.headers["content-disposition"]
            body = b"".join(response.iter_bytes())
        assert len(body) == int(response.headers["content-length"])
        assert b"kept private" in body


def test_runtime_file_is_private_and_removed_on_stop(hushtype_home):
    from assistant.settings.backend import SettingsBackend
    from assistant.settings.server import SettingsServer

    backend = SettingsBackend(None)
    server = SettingsServer(backend).start()
    path = runtime_file.runtime_path()
    try:
        assert path.parent == hushtype_home
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        info = runtime_file.find_running()
        assert info is not None and info.url == server.url and info.pid == os.getpid()
        assert re.search(r"\?token=[\w-]{40,}$", info.url)
    finally:
        server.stop()
        backend.close()
    assert not path.exists()


def test_stale_runtime_file_is_ignored(hushtype_home):
    runtime_file.write(runtime_file.RuntimeInfo(url="http://127.0.0.1:9/?token=x", port=9, pid=2 ** 22 + 1,
                                                started_at=0))
    assert runtime_file.find_running(timeout=0.2) is None
    assert not runtime_file.runtime_path().exists()
