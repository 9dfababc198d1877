"""Settings: defaults merged with the user's file, saving, validation of commands."""

from __future__ import annotations

import stat
import tomllib

import pytest

from assistant import paths
from assistant.config import (
    ConfigError, command_specs, deep_merge, load_defaults, load_settings, save_user_settings,
)


def write_user(text: str):
    path = paths.config_file()
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_define_the_three_built_in_commands():
    specs = command_specs(load_settings())
    assert {s.prefix: s.style for s in specs.values()} == {"gen:": "gen", "fix:": "fix", "sum:": "sum"}
    assert specs["gen"].stream is True and specs["fix"].stream is False
    assert specs["fix"].options["temperature"] == 0.0


def test_user_file_merges_table_by_table_and_adds_commands():
    write_user('[server]\nmodel = "llama3.2"\n\n[commands.fix]\nmodel = "qwen2.5:0.5b"\n'
               '[commands.fix.options]\nnum_predict = 64\n\n'
               '[commands.tr]\nprefix = "tr:"\ninstruction = "Translate the text into French."\n'
               '[[commands.tr.examples]]\ninput = "Good morning"\noutput = "Bonjour"\n')
    settings = load_settings()
    assert settings["server"]["model"] == "llama3.2"
    assert settings["server"]["url"] == "http://127.0.0.1:11434"  # untouched default kept
    specs = command_specs(settings)
    fix = specs["fix"]
    assert fix.prefix == "fix:" and fix.style == "fix" and fix.model == "qwen2.5:0.5b"
    assert fix.options == {"temperature": 0.0, "num_predict": 64}  # options table merged too
    tr = specs["tr"]
    assert (tr.prefix, tr.style, tr.stream) == ("tr:", "custom", False)
    assert tr.examples == (("Good morning", "Bonjour"),)


def test_broken_user_file_names_file_and_line_and_keeps_defaults():
    path = write_user('[server]\nmodel = "x"\nurl = http://oops\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert str(path) in message and "line 3" in message
    assert info.value.line == 3
    assert info.value.settings == load_defaults()


@pytest.mark.parametrize("table, fragment", [
    ('[commands.a]\nprefix = "fix:"\ninstruction = "x"\n', "already used by"),
    ('[commands.a]\nprefix = "FIX:"\ninstruction = "x"\n', "already used by"),
    ('[commands.a]\nprefix = ""\ninstruction = "x"\n', "non-empty prefix"),
    ('[commands.a]\nprefix = "a b:"\ninstruction = "x"\n', "must not contain spaces"),
    ('[commands.a]\nprefix = "a:"\n', "give it an instruction"),
    ('[commands.a]\nprefix = "a:"\nstyle = "poem"\n', "style must be one of"),
    ('[commands.a]\nprefix = "a:"\ninstruction = "x"\noptions = 3\n', "options must be a table"),
    ('[commands.a]\nprefix = "a:"\ninstruction = "x"\nstream = "yes"\n', "stream must be true or false"),
    ('[history]\nretention_days = -1\n', "retention_days"),
])
def test_invalid_commands_are_clear_errors(table, fragment):
    write_user(table)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert fragment in str(info.value)
    assert str(paths.config_file()) in str(info.value)


def test_a_disabled_built_in_frees_its_prefix():
    write_user('[commands.fix]\nenabled = false\n[commands.myfix]\nprefix = "fix:"\nstyle = "fix"\n')
    specs = command_specs(load_settings())
    assert "fix" not in specs and specs["myfix"].prefix == "fix:"


def test_save_user_settings_deep_merges_atomically_with_mode_0600():
    write_user('# mine\n[server]\nmodel = "llama3.2"\n')
    merged = save_user_settings({"history": {"retention_days": 7},
                                 "commands": {"tr": {"prefix": "tr:", "instruction": "Translate to German."}}})
    assert merged["history"]["retention_days"] == 7 and merged["server"]["model"] == "llama3.2"
    path = paths.config_file()
    on_disk = tomllib.loads(path.read_text())
    assert on_disk == {"server": {"model": "llama3.2"}, "history": {"retention_days": 7},
                       "commands": {"tr": {"prefix": "tr:", "instruction": "Translate to German."}}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".config-")] == []
    # None removes a key: the default comes back
    merged = save_user_settings({"server": {"model": None}})
    assert merged["server"]["model"] == load_defaults()["server"]["model"]
    assert "model" not in tomllib.loads(path.read_text()).get("server", {})
    assert command_specs(merged)["tr"].instruction == "Translate to German."


def test_save_refuses_invalid_patch_and_broken_file_without_touching_them():
    path = write_user('[history]\nretention_days = 3\n')
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already used by"):
        save_user_settings({"commands": {"x": {"prefix": "gen:", "instruction": "y"}}})
    assert path.read_bytes() == before
    path.write_text("[history\n")
    with pytest.raises(ConfigError, match="line 1"):
        save_user_settings({"history": {"retention_days": 5}})
    assert path.read_text() == "[history\n"


def test_deep_merge_replaces_values_and_merges_tables():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [3]}, "e": {"f": 2}}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": 2}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # not mutated
