"""A GTK3 text window for the IBus tests (run with Debian's python3 + python3-gi).

    python3 gtkapp.py OUTPUT_FILE [--password | --purpose-password | --purpose-pin]

A TextView (``--password``: a password Entry, which GTK keeps from input methods itself;
``--purpose-password``/``--purpose-pin``: a TextView whose input purpose says so) whose every
change is written to OUTPUT_FILE atomically, so a test reads exactly what the app shows. The
input method is whatever GTK_IM_MODULE says (the tests set ``ibus``); it runs on X11 or on
Wayland (GDK_BACKEND). OUTPUT_FILE.ready is written once the field has the keyboard focus.
"""

import os
import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402

out_path = sys.argv[1]
password = "--password" in sys.argv[2:]
purpose = {"--purpose-password": Gtk.InputPurpose.PASSWORD,
           "--purpose-pin": Gtk.InputPurpose.PIN}.get((sys.argv[2:] or [""])[0])
last = [None]


def save(text: str) -> None:
    if text != last[0]:
        last[0] = text
        tmp = out_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, out_path)


window = Gtk.Window(title="hushtype GTK test")
window.set_default_size(700, 300)
window.move(0, 0)
window.connect("destroy", Gtk.main_quit)
if password:
    field = Gtk.Entry()
    field.set_visibility(False)
    field.set_input_purpose(Gtk.InputPurpose.PASSWORD)
    field.connect("changed", lambda entry: save(entry.get_text()))
    window.add(field)
else:
    field = Gtk.TextView()
    if purpose is not None:
        field.set_input_purpose(purpose)
    buffer = field.get_buffer()
    buffer.connect("changed", lambda b: save(b.get_text(b.get_start_iter(), b.get_end_iter(), True)))
    window.add(field)
save("")


def ready(*_):
    if field.has_focus() and not os.path.exists(out_path + ".ready"):
        with open(out_path + ".ready", "w") as f:
            f.write(str(os.getpid()))
    return False


field.connect("focus-in-event", lambda *a: GLib.idle_add(ready) and False)
window.show_all()
window.present()
field.grab_focus()
GLib.timeout_add(200, lambda: (ready(), True)[1])
Gtk.main()
