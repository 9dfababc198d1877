"""A tiny GTK3 text window for the desktop tests (Debian's python3 + python3-gi + gir1.2-gtk-3.0).

    python3 gtk_textapp.py OUTPUT_FILE [TITLE]

Runs on whatever GDK_BACKEND says (wayland under the sway rig, x11 under Xvfb). Every change
of its text is written to OUTPUT_FILE (atomically), so a test can read exactly what the app
shows; OUTPUT_FILE.ready appears once the text view has the keyboard focus. Its input method
is whatever GTK_IM_MODULE says (ibus for the IBus tests).
"""

import os
import sys

import gi

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402

out_path = sys.argv[1]
title = sys.argv[2] if len(sys.argv) > 2 else "Hushtest"
window = Gtk.Window(title=title)
window.set_default_size(700, 300)
view = Gtk.TextView()
buffer = view.get_buffer()
window.add(view)
last = [None]


def save(*_):
    content = buffer.get_text(buffer.get_start_iter(), buffer.get_end_iter(), True)
    if content != last[0]:
        last[0] = content
        tmp = out_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(tmp, out_path)


def ready_when_focused():
    """Polled: once the window is active and the view has the focus, write OUTPUT_FILE.ready."""
    if view.is_focus() and window.get_mapped():
        with open(out_path + ".ready", "w") as f:
            f.write(title)
        return False                 # stop polling
    return True


buffer.connect("changed", save)
window.connect("destroy", Gtk.main_quit)
window.show_all()
view.grab_focus()
save()
GLib.timeout_add(100, ready_when_focused)
Gtk.main()
