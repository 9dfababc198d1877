"""The settings page in a real browser (Debian's chromium via Playwright) against the real page,
the real history database file and, where commands or models are involved, the live server.

Every page is also saved as a screenshot in test-artifacts/screenshots/<page>.png.
"""

from __future__ import annotations

import json
import threading
import tomllib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from settings_helpers import db_rows, hushtype_cli, screenshot, submit

from assistant import paths

pytestmark = pytest.mark.browser


def login(page, server, path: str = "/history"):
    page.goto(server.url_for(path))
    assert "token=" not in page.url, "the token must not stay in the address bar"
    return page


def user_config() -> dict:
    path = paths.config_file()
    return tomllib.loads(path.read_text()) if path.exists() else {}


def add_history(*records, clock=None):
    from assistant.history.store import HistoryStore

    store = HistoryStore(paths.history_db(), clock=clock, retention_days=3650)
    ids = [store.add(**r) for r in records]
    store.close()
    return ids


# ----------------------------------------------------------------------------- access
def test_page_without_the_token_is_refused(settings_server, page):
    response = page.goto(settings_server.base_url + "/history")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Not allowed"
    assert "hushtype settings" in page.content()
    screenshot(page, "refused")
    assert page.goto(settings_server.base_url + "/?token=guessed").status == 403

    login(page, settings_server)
    assert page.url == settings_server.base_url + "/history"
    assert page.locator("h1").inner_text() == "History"
    cookie = next(c for c in page.context.cookies() if c["name"].startswith("hushtype_settings_"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # not readable by scripts


# ----------------------------------------------------------------------------- history
@pytest.mark.live
def test_history_shows_hushtype_do_entries_and_deletes_them_from_the_database(settings_server, page, on_live_server):
    for text in ("fix: teh cat sat on teh mat", "sum: The meeting moved to Tuesday because the room was booked."):
        done = hushtype_cli(["do", text])
        assert done.returncode == 0, done.stderr
    db = paths.history_db()
    rows = db_rows(db)
    assert [r[1] for r in rows] == ["fix:", "sum:"]

    login(page, settings_server)
    table = page.locator("table.history tbody tr")
    assert table.count() == 2
    assert "teh cat sat on teh mat" in page.locator("table.history").inner_text()
    screenshot(page, "history")

    # search and filter by command
    page.fill("#q", "meeting")
    submit(page, "form[role=search] button[type=submit]")
    assert table.count() == 1 and "meeting moved" in table.inner_text()
    page.goto(settings_server.base_url + "/history")
    page.select_option("#command", "fix:")
    submit(page, "form[role=search] button[type=submit]")
    assert table.count() == 1 and "teh cat" in table.inner_text()

    # view one entry
    fix_id = rows[0][0]
    submit(page, f"tr[data-entry-id='{fix_id}'] a:has-text('View')")
    assert page.locator("#entry-input").inner_text() == "teh cat sat on teh mat"
    assert page.locator("#entry-output").inner_text() == rows[0][3]
    screenshot(page, "history-entry")

    # delete it: gone from the SQLite file
    submit(page, "button:has-text('Delete this entry')")
    assert page.locator(".notice").inner_text() == "The entry was deleted."
    assert [r[1] for r in db_rows(db)] == ["sum:"]
    assert page.goto(f"{settings_server.base_url}/history/{fix_id}").status == 404


def test_export_downloads_every_entry_as_json(settings_server, page):
    add_history({"prefix": "fix:", "command": "fix", "input": "exported text", "output": "Exported text.",
                 "model": "m", "status": "ok"})
    login(page, settings_server)
    with page.expect_download() as info:
        page.click("a:has-text('Export all as JSON')")
    download = info.value
    assert download.suggested_filename.startswith("hushtype-history-") and download.suggested_filename.endswith(".json")
    data = json.loads(open(download.path(), encoding="utf-8").read())
    assert [r["input"] for r in data["records"]] == ["exported text"]
    assert not list(paths.data_dir().glob(".export-*")), "the temporary export file must be removed"


def test_wipe_all_asks_first_then_leaves_nothing_in_the_file(settings_server, page):
    secret = "my bank PIN is 4711 and the vault code"
    add_history(*[{"prefix": "fix:", "command": "fix", "input": f"{secret} {i}", "output": "x", "model": "m",
                   "status": "ok"} for i in range(5)])
    db = paths.history_db()
    assert len(db_rows(db)) == 5
    login(page, settings_server)
    submit(page, "a:has-text('Wipe all history')")
    assert page.locator("h1").inner_text() == "Wipe all history?"
    assert "all 5 entries" in page.locator("main").inner_text()
    screenshot(page, "history-wipe")
    # the confirmation box is required: submitting without it changes nothing
    page.click("button:has-text('Wipe everything')")
    assert page.url.endswith("/history/wipe") and len(db_rows(db)) == 5
    page.check("input[name=confirm]")
    submit(page, "button:has-text('Wipe everything')")
    assert page.locator(".notice").inner_text().startswith("History wiped")
    assert db_rows(db) == []
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert b"vault code" not in raw, "wiped text must not be recoverable from the database files"
    assert "No history yet" in page.locator("main").inner_text()


# ----------------------------------------------------------------------------- retention
def test_changing_retention_sweeps_at_once(settings_server, page):
    now = datetime.now(timezone.utc)
    add_history({"prefix": "fix:", "input": "ten days old", "model": "m", "status": "ok",
                 "created_at": now - timedelta(days=10)},
                {"prefix": "fix:", "input": "two days old", "model": "m", "status": "ok",
                 "created_at": now - timedelta(days=2)},
                {"prefix": "fix:", "input": "fresh", "model": "m", "status": "ok"})
    db = paths.history_db()
    login(page, settings_server, "/retention")
    assert page.locator("#retention-now").inner_text().startswith("30 days")
    page.fill("#retention_days", "7")
    submit(page, "button:has-text('Save and apply')")
    assert page.locator(".notice").inner_text() == "Retention saved and applied."
    assert page.locator("#swept").inner_text() == "1 entry"
    assert [r[2] for r in db_rows(db)] == ["two days old", "fresh"]
    assert user_config()["history"]["retention_days"] == 7
    screenshot(page, "retention")

    # bad input: a clear message, nothing changed
    page.fill("#retention_days", "-1")
    page.evaluate("document.querySelector('#retention_days').removeAttribute('min')")
    submit(page, "button:has-text('Save and apply')")
    assert "negative" in page.locator(".alert").inner_text()
    assert user_config()["history"]["retention_days"] == 7

    # 0 keeps nothing
    submit(page, "button.secondary:has-text('Keep nothing')")
    assert page.locator("#retention-now").inner_text().startswith("0 days")
    assert db_rows(db) == []


# ----------------------------------------------------------------------------- commands
@pytest.mark.live
def test_custom_command_added_on_the_page_works_in_hushtype_do(settings_server, page, on_live_server):
    login(page, settings_server, "/commands")
    page.fill("#add-name", "shout")
    page.fill("#add-prefix", "up:")
    page.fill("#add-instruction", "Rewrite the text in capital letters.")
    page.fill("#add-description", "Capital letters")
    page.fill("#add-num_predict", "24")
    page.fill("#add-temperature", "0")  # repeatable answers from the small model
    submit(page, "button:has-text('Add command')")
    assert page.locator(".notice").inner_text() == "Command added."
    assert page.locator("#cmd-shout summary").inner_text().startswith("up:")
    table = user_config()["commands"]["shout"]
    assert table["prefix"] == "up:" and table["options"] == {"num_predict": 24, "temperature": 0.0}

    done = hushtype_cli(["do", "--json", "up: hello there"])
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["prefix"] == "up:" and record["command"] == "shout" and record["status"] == "ok"
    assert [r[1] for r in db_rows(paths.history_db())] == ["up:"]

    # the "try it" box runs it through the pipeline on the live server, without storing it
    page.select_option("#try-command", "shout")
    page.fill("#try-text", "good morning")
    page.click("#try-run")
    page.wait_for_selector("#try-output", timeout=120_000)
    assert page.locator("#try-output").inner_text().strip()
    assert "gemma3:270m" in page.locator("#try-result").inner_text()
    assert len(db_rows(paths.history_db())) == 1
    page.click("#cmd-shout summary")
    screenshot(page, "commands")
    page.click("#cmd-shout summary")

    # remove it: `hushtype do` no longer knows the prefix
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cmd-shout summary")
    submit(page, "button:has-text('Remove shout')")
    assert page.locator(".notice").inner_text() == "Command removed."
    assert "shout" not in user_config().get("commands", {})
    gone = hushtype_cli(["do", "up: hello"])
    assert gone.returncode != 0 and "does not start with a command prefix" in gone.stderr


def test_command_edits_are_validated_and_saved(settings_server, page):
    login(page, settings_server, "/commands")
    page.click("#cmd-fix summary")
    page.fill("#fix-prefix", "gen:")  # already used by gen
    submit(page, "button:has-text('Save fix')")
    assert "already used" in page.locator("#cmd-fix .alert").inner_text()
    assert "commands" not in user_config()
    page.fill("#fix-prefix", "fx:")
    page.fill("#fix-opt-temperature", "9")
    submit(page, "button:has-text('Save fix')")
    assert "between 0 and 5" in page.locator("#cmd-fix .alert").inner_text()
    page.fill("#fix-prefix", "fx:")
    page.fill("#fix-opt-temperature", "0.1")
    page.fill("#fix-opt-stop", "END\n###")
    submit(page, "button:has-text('Save fix')")
    assert page.locator(".notice").inner_text().startswith("Saved")
    fix = user_config()["commands"]["fix"]
    assert fix["prefix"] == "fx:" and fix["options"]["temperature"] == 0.1 and fix["options"]["stop"] == ["END", "###"]
    from assistant.config import command_specs, load_settings

    assert command_specs(load_settings())["fix"].prefix == "fx:"

    page.fill("#terminator", "")
    submit(page, "button:has-text('Save keys')")
    assert "Terminator" in page.locator("section[aria-labelledby=term-h] .alert").inner_text()
    page.fill("#terminator", "//")
    page.fill("#pause_hotkey", "<ctrl>+<alt>+z")  # the same as the undo key
    submit(page, "button:has-text('Save keys')")
    assert "must all differ" in page.locator("section[aria-labelledby=term-h] .alert").inner_text()
    page.fill("#terminator", "//")
    page.fill("#pause_hotkey", "<ctrl>+<shift>+p")
    submit(page, "button:has-text('Save keys')")
    typing = user_config()["typing"]
    assert typing["terminator"] == "//" and typing["pause_hotkey"] == "<ctrl>+<shift>+p"


def test_try_it_explains_a_missing_model_server(settings_server, page, monkeypatch):
    from settings_helpers import free_port

    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    login(page, settings_server, "/commands")
    page.select_option("#try-command", "fix")
    page.fill("#try-text", "teh cat")
    page.click("#try-run")
    page.wait_for_selector("#try-result .alert")
    assert "not running" in page.locator("#try-result .alert").inner_text()
    page.fill("#try-text", "   ")
    page.click("#try-run")
    expect(page.locator("#try-result .alert")).to_contain_text("Type some text")


def test_a_broken_settings_file_is_reported_and_never_overwritten(settings_server, page):
    broken = "[history\nretention_days = 5\n"
    paths.config_file().write_text(broken)
    login(page, settings_server, "/retention")
    assert "config.toml" in page.locator("p.alert[role=alert]").first.inner_text()
    page.fill("#retention_days", "9")
    submit(page, "button:has-text('Save and apply')")
    assert "invalid TOML" in page.locator("form .alert").inner_text()
    assert paths.config_file().read_text() == broken


# ----------------------------------------------------------------------------- forged requests
class _EvilSite:
    """Another web page (another origin) that tries to change the settings."""

    def __init__(self, target: str, csrf: str):
        html = f"""<!doctype html><html><body>
<form id="f" method="post" action="{target}/retention">
  <input name="retention_days" value="0"><input name="csrf_token" value="{csrf}">
</form>
<script>
  fetch("{target}/retention", {{method: "POST", mode: "no-cors", credentials: "include",
      headers: {{"Content-Type": "application/x-www-form-urlencoded"}},
      body: "retention_days=0&csrf_token={csrf}"}}).finally(() => document.getElementById("f").submit());
</script></body></html>""".encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_cross_origin_post_is_refused(settings_server, page):
    login(page, settings_server, "/retention")  # the user is logged in to the page
    # even an attacker who somehow knew the CSRF token is stopped by the Origin check
    evil = _EvilSite(settings_server.base_url, settings_server.secrets.csrf)
    try:
        with page.expect_navigation(url=settings_server.base_url + "/retention"):
            page.goto(evil.url)
        assert "Not allowed" in page.content()
    finally:
        evil.close()
    assert "history" not in user_config(), "the forged request changed the settings"
    login(page, settings_server, "/retention")
    assert page.locator("#retention-now").inner_text().startswith("30 days")


def test_same_origin_post_without_the_csrf_token_is_refused(settings_server, page):
    login(page, settings_server, "/retention")
    status = page.evaluate("""async () => (await fetch('/retention', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'retention_days=0'})).status""")
    assert status == 403
    status = page.evaluate("""async () => (await fetch('/retention', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': 'forged'},
        body: 'retention_days=0'})).status""")
    assert status == 403
    assert "history" not in user_config()


# ----------------------------------------------------------------------------- privacy
def test_privacy_page_lists_every_file_with_size_purpose_and_retention(settings_server, page):
    add_history({"prefix": "fix:", "input": "x", "model": "m", "status": "ok"})
    login(page, settings_server, "/privacy")
    text = page.locator("main").inner_text()
    assert "Nothing leaves this computer" in text and "ss -tnp" in text
    for item in paths.data_dir().iterdir():
        assert item.name in text, f"{item.name} is not listed"
    assert "command history" in text and "private link" in text
    assert "commands are deleted after 30 days" in page.locator("#privacy-retention").inner_text()
    screenshot(page, "privacy")
    # the apps where keys are never read
    assert "keepassxc" in page.locator("#deny_apps").input_value()
    page.fill("#deny_apps", "KeePassXC\nmy-bank-app\n\nkeepassxc\n")
    submit(page, "button:has-text('Save apps')")
    assert user_config()["privacy"]["deny_apps"] == ["keepassxc", "my-bank-app"]
    assert not page.js_errors


# ----------------------------------------------------------------------------- every page
PAGES = ["/history", "/retention", "/commands", "/models", "/voice", "/privacy", "/history/wipe"]


def test_every_page_loads_only_from_itself_and_labels_every_control(settings_server, page, monkeypatch):
    from settings_helpers import free_port

    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")  # no server: pages must still work
    add_history({"prefix": "fix:", "input": "x", "model": "m", "status": "ok"})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    login(page, settings_server)
    for path in PAGES:
        response = page.goto(settings_server.base_url + path)
        assert response.status == 200, path
        assert page.locator("h1").count() == 1, path
        if path != "/history/wipe":
            assert page.locator("nav a[aria-current=page]").get_attribute("href") == path
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden')
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name || e.id)""")
        assert unlabelled == [], f"{path}: controls without a label: {unlabelled}"
        assert page.locator("link[rel=stylesheet]").get_attribute("href") == "/static/style.css"
    outside = [u for u in requests if not u.startswith(settings_server.base_url)]
    assert outside == [], f"requests outside the page: {outside}"
    assert not page.js_errors
