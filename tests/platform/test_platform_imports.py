"""The trigger engine, the command pipeline, typed commands, the voice service and the
settings page talk only to the platform layer's protocols: importing them loads no X11,
pynput or GObject (IBus/GTK) module. Checked in a fresh interpreter, so nothing imported by
another test can hide an import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PORTABLE = [
    "assistant.hooks.trigger",
    "assistant.hooks.keys",
    "assistant.commands.pipeline",
    "assistant.service.typed",
    "assistant.service.context",
    "assistant.service.control",
    "assistant.voice.service",
    "assistant.settings.app",
    "assistant.settings.service",
    "assistant.settings.backend",
    "assistant.platform.base",
    "assistant.platform.select",
]
FORBIDDEN = ("Xlib", "pynput", "gi", "pystray")


@pytest.mark.parametrize("module", PORTABLE)
def test_module_imports_no_os_input_library(module):
    code = (f"import importlib, json, sys; importlib.import_module({module!r}); "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_check_itself_sees_an_x11_import():
    """The same probe flags the X11 backend (so an empty list above means something)."""
    code = ("import importlib, json, sys; importlib.import_module('assistant.platform.x11.output'); "
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}}})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Xlib" in json.loads(out.stdout.strip().splitlines()[-1])
