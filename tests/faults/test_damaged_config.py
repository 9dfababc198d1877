"""A settings file with a syntax error is reported with its line everywhere the user looks —
`hushtype up`'s log and a desktop notification (a launcher shows no log), `hushtype doctor`,
every tab of the settings page — and nothing overwrites it: the assistant runs on the defaults
and every save on the page is refused with the reason, the file's bytes unchanged."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
from faults_helpers import REPO, start_up

from assistant import config, paths

BROKEN = '[history]\nretention_days = 7\n\n[commands.tr\nprefix = "tr:"\n'   # line 4: no "]"


def _write_broken() -> bytes:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BROKEN)
    return path.read_bytes()


def test_up_tells_the_user_the_line_and_leaves_the_file(live_server, hushtype_home, tmp_path):
    before = _write_broken()
    up = start_up(hushtype_home, live_server.host, tmp_path)
    try:
        log = up.wait_log("hushtype is up")
        assert "config.toml, line 4: invalid TOML" in log and "running on the defaults" in log
        shown = up.shown()
        assert "settings file has an error" in shown and "line 4" in shown
    finally:
        up.stop()
    assert paths.config_file().read_bytes() == before


def test_doctor_reports_the_line(hushtype_home):
    _write_broken()
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1
    assert "[FAIL] settings:" in r.stdout and "config.toml, line 4: invalid TOML" in r.stdout


def test_a_config_path_that_cannot_be_read_is_a_clear_error_not_a_crash(hushtype_home):
    path = paths.config_file()
    path.mkdir(parents=True)  # a directory where the file should be
    try:
        config.load_settings()
        raise AssertionError("expected a ConfigError")
    except config.ConfigError as exc:
        assert "config.toml: cannot be read" in str(exc) and exc.settings is not None
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "doctor"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert "Traceback" not in r.stderr and "[FAIL] settings:" in r.stdout and "cannot be read" in r.stdout


def test_every_settings_tab_shows_the_line_and_no_save_overwrites_the_file(hushtype_home):
    from assistant.settings.backend import SettingsBackend
    from assistant.settings.server import SettingsServer

    before = _write_broken()
    backend = SettingsBackend(None)
    server = SettingsServer(backend, port=0).start()
    try:
        with httpx.Client(trust_env=False, follow_redirects=True, timeout=30,
                          headers={"Origin": server.base_url}) as client:
            client.get(server.url)
            for tab in ("/history", "/retention", "/commands", "/models", "/voice", "/privacy"):
                page = client.get(server.base_url + tab)
                assert page.status_code == 200 and "line 4: invalid TOML" in page.text, tab
            token = re.search(r'name="csrf_token" value="([^"]+)"',
                              client.get(server.base_url + "/retention").text).group(1)
            saves = {"/retention": {"retention_days": "3"}, "/commands/terminator": {"terminator": "!!"},
                     "/commands/add": {"name": "zz", "prefix": "zz:", "instruction": "Shout."},
                     "/models/default": {"model": "gemma3:270m"},
                     "/privacy/deny-apps": {"deny_apps": "KeePassXC"}, "/voice": {"vocabulary": "hushtype"}}
            for path, form in saves.items():
                r = client.post(server.base_url + path, data={**form, "csrf_token": token})
                assert r.status_code == 400 and "line 4" in r.text, path
                assert paths.config_file().read_bytes() == before, f"{path} overwrote the broken file"
    finally:
        server.stop()
        backend.close()
