"""Runs the real tray (pystray's GTK backend) in a process of its own for the tray-menu test:

    python gtk_tray_probe.py EVENTS_FILE

Each thing the menu does is appended to EVENTS_FILE as a JSON line ({"ready": backend},
{"notify": title}, {"opened": url}, {"quit": true}); the process ends after Quit."""

import json
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from assistant.settings import tray  # noqa: E402

out = open(sys.argv[1], "a", buffering=1, encoding="utf-8")


def note(**event):
    out.write(json.dumps(event) + "\n")


ctx = SimpleNamespace(paused=threading.Event(), stop=threading.Event(), busy=threading.Event(),
                      notify=lambda title, message: note(notify=title))
actions = tray.TrayActions(ctx, lambda path: f"http://127.0.0.1:1{path}", lambda url: note(opened=url))
icon = tray.Tray(ctx, actions, poll=0.05).start()
if icon.ready.wait(20):
    note(ready=icon.backend)
while not ctx.stop.wait(0.05):
    pass
icon.stop()
note(quit=True)
