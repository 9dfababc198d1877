"""`hushtype autostart enable|disable` writes and removes the XDG autostart entry."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess

import pytest
from settings_helpers import hushtype_cli

from assistant.settings import autostart


@pytest.fixture
def xdg_config(tmp_path, monkeypatch):
    root = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root))
    return root


def _read_entry(path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_cli_enable_writes_an_entry_running_hushtype_up_and_disable_removes_it(xdg_config):
    entry = xdg_config / "autostart" / "hushtype.desktop"
    result = hushtype_cli(["autostart", "enable"])
    assert result.returncode == 0, result.stderr
    assert str(entry) in result.stdout
    fields = _read_entry(entry)
    assert fields["Type"] == "Application"
    argv = shlex.split(fields["Exec"])
    assert argv[-1] == "up"
    # the command it runs is this installation's hushtype and really starts
    assert subprocess.run(argv[:-1] + ["--help"], capture_output=True, timeout=120).returncode == 0
    assert hushtype_cli(["autostart", "status"]).stdout.startswith("enabled")

    result = hushtype_cli(["autostart", "disable"])
    assert result.returncode == 0 and "no longer starts" in result.stdout
    assert not entry.exists()
    assert hushtype_cli(["autostart", "status"]).stdout.strip() == "disabled"
    again = hushtype_cli(["autostart", "disable"])
    assert again.returncode == 0 and "was not enabled" in again.stdout


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate (desktop-file-utils) is not installed")
def test_entry_is_a_valid_desktop_file(xdg_config):
    path = autostart.enable([r"/opt/my apps/hush$type", "--flag=100%"])
    check = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "error" not in check.stdout.lower()


def test_exec_quoting_follows_the_desktop_entry_spec():
    assert autostart.quote_exec_arg("/usr/bin/hushtype") == "/usr/bin/hushtype"
    assert autostart.quote_exec_arg("100%") == "100%%"
    # spaces and $ are quoted; the quoting backslash is itself doubled by the string escape rule
    assert autostart.quote_exec_arg("/opt/my apps/hush$type") == '"/opt/my apps/hush\\\\$type"'


def test_relative_xdg_config_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.entry_path() == tmp_path / ".config" / "autostart" / "hushtype.desktop"
