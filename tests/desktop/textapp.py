"""A tiny X11 text window for the desktop tests (run with Debian's python3 + python3-tk).

    python3 textapp.py OUTPUT_FILE [CLASS]

Every change of its text is written to OUTPUT_FILE (atomically), so a test can read exactly
what the app shows. Ctrl+V / Shift+Insert paste the CLIPBOARD (Tk's own bindings).
"""

import os
import sys
import tkinter

out_path = sys.argv[1]
klass = sys.argv[2] if len(sys.argv) > 2 else "Hushtest"
root = tkinter.Tk(className=klass)
root.title(f"{klass} text")
root.geometry("700x300+0+0")
text = tkinter.Text(root, undo=False, font=("DejaVu Sans Mono", 11))
text.pack(fill="both", expand=True)
last = [None]


def save(*_):
    content = text.get("1.0", "end-1c")
    if content != last[0]:
        last[0] = content
        tmp = out_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(content)
        os.replace(tmp, out_path)
    text.edit_modified(False)


text.bind("<<Modified>>", save)
text.focus_set()
save()
with open(out_path + ".ready", "w") as f:
    f.write(str(root.winfo_id()))
root.mainloop()
