"""The trigger engine: finds ``<prefix> free text <terminator>`` in a stream of key events.

Pure logic, no OS imports. Fed normalised events (:mod:`assistant.hooks.keys`) in order, it
answers with an action when something must happen:

* :class:`Fire` - a complete command was typed; ``shown_chars`` is how many characters the app
  shows for it (prefix through terminator), which is exactly what the injector deletes;
* :class:`PasteWanted` - a paste chord was pressed inside a command; the caller reads the
  clipboard and hands the text to :meth:`TriggerEngine.pasted`;
* :class:`Cancel` - Esc (or the user typing on) while a fired command still runs;
* :class:`Undo` - Backspace right after an injection: put the original command back.

Privacy: outside a command the engine keeps only what could still become one - whitespace
and characters that begin a registered prefix; every other character is an anonymous
placeholder (needed only to count Backspaces). Only a command's own text is kept.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Iterable

from assistant.hooks.keys import Chord, Click, FocusChange, KeyEvent, parse_chord

# Keys after which the caret may be anywhere: forget everything.
RESET_KEYS = frozenset({
    "left", "right", "up", "down", "home", "end", "page_up", "page_down", "esc", "tab",
    "delete", "insert", "menu",
})
_JUNK = "\x00"          # a character that is no part of any prefix (never its real value)
_IDLE_CELLS = 64        # how many edits back Backspace can be followed outside a command
_DEFAULT_PASTE = ("ctrl+v", "shift+insert")

IDLE, COMMAND, RUNNING = "idle", "command", "running"


@dataclass(frozen=True)
class Fire:
    prefix: str
    body: str
    shown_chars: int

    @property
    def text(self) -> str:
        return self.prefix + self.body


@dataclass(frozen=True)
class PasteWanted:
    pass


@dataclass(frozen=True)
class Cancel:
    reason: str
    restore: bool = True     # put the typed command back (False: the caret moved away)


@dataclass(frozen=True)
class Undo:
    original: str        # prefix + body, what to type back
    output_chars: int    # characters the injection put in the app
    already_deleted: int # characters the user's own key removed (1 for Backspace)
    prefix: str


def compose_dead(accent: str, char: str) -> str:
    """What an app shows for a dead key followed by ``char`` (X11 compose rules)."""
    if char == " " or char == accent:
        return accent
    try:
        combining = unicodedata.lookup("COMBINING " + unicodedata.name(accent).replace("SPACING ", ""))
    except (KeyError, ValueError):
        combining = None
    if combining is None:
        for name in _ACCENT_NAMES.get(accent, ()):
            combining = unicodedata.lookup("COMBINING " + name)
            break
    if combining is not None:
        joined = unicodedata.normalize("NFC", char + combining)
        if len(joined) == 1:
            return joined
    return accent + char


_ACCENT_NAMES = {
    "´": ("ACUTE ACCENT",), "`": ("GRAVE ACCENT",), "^": ("CIRCUMFLEX ACCENT",),
    "~": ("TILDE",), "¨": ("DIAERESIS",), "˚": ("RING ABOVE",), "¸": ("CEDILLA",),
    "ˇ": ("CARON",), "˘": ("BREVE",), "¯": ("MACRON",), "˙": ("DOT ABOVE",),
    "˛": ("OGONEK",), "˝": ("DOUBLE ACUTE ACCENT",), "'": ("ACUTE ACCENT",), '"': ("DIAERESIS",),
}


class TriggerEngine:
    def __init__(self, prefixes: Iterable[str], *, terminator: str = ";;",
                 terminator_chord: str | Chord | None = None, max_command_chars: int = 8000,
                 paste_chords: dict[str, str] | None = None,
                 default_paste_chords: Iterable[str] = _DEFAULT_PASTE,
                 enter_submits_in: Iterable[str] = ()):
        cleaned = []
        for prefix in prefixes:
            if not prefix or any(c.isspace() for c in prefix):
                raise ValueError(f"a command prefix must be non-empty without spaces: {prefix!r}")
            cleaned.append(prefix)
        if not cleaned:
            raise ValueError("no command prefixes registered")
        self.prefixes = frozenset(cleaned)
        self._starts = frozenset(p[:i] for p in cleaned for i in range(1, len(p) + 1))
        if isinstance(terminator_chord, str):
            terminator_chord = parse_chord(terminator_chord) if terminator_chord.strip() else None
        self.terminator_chord: Chord | None = terminator_chord
        if terminator_chord is None and not terminator:
            raise ValueError("set a terminator text or a terminator chord")
        self.terminator = "" if terminator_chord is not None else terminator
        self.max_command_chars = int(max_command_chars)
        self._default_paste = tuple(parse_chord(c) for c in default_paste_chords)
        self._paste_by_class = {k.lower(): parse_chord(v) for k, v in (paste_chords or {}).items()}
        # Apps (window classes) where Enter submits the line (terminals): it ends a command there.
        self.enter_submits_in = frozenset(c.lower() for c in enter_submits_in)
        self._undo: Undo | None = None
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self, *, boundary: bool = True) -> None:
        """Forget everything; ``boundary``: whether a prefix may start right here."""
        self.state = IDLE
        self._cells: list[str] = []
        self._start_boundary = boundary
        self._prefix = ""
        self._body: list[str] = []
        self._dead: str | None = None
        self._undo = None

    @property
    def buffered_chars(self) -> int:
        """Characters of real text held right now (for tests and the privacy claim)."""
        return sum(1 for c in self._cells if c != _JUNK) + len(self._body)

    def paste_chords_for(self, window_class: str | None) -> tuple[Chord, ...]:
        own = self._paste_by_class.get((window_class or "").lower())
        return (own,) + self._default_paste[1:] if own else self._default_paste

    # ------------------------------------------------------------------ input
    def feed(self, event) -> object | None:
        if isinstance(event, KeyEvent):
            return self.feed_key(event)
        if isinstance(event, Click):
            return self._interrupt("mouse click", boundary=True)
        if isinstance(event, FocusChange):
            return self._interrupt("focus moved to another window", boundary=True)
        raise TypeError(f"unknown event {event!r}")

    def feed_key(self, ev: KeyEvent) -> object | None:
        if ev.injected or ev.is_modifier:
            return None
        if self._undo is not None:
            undo, self._undo = self._undo, None
            if ev.key == "backspace" and not ev.chorded:
                self.state = RUNNING
                return Undo(undo.original, undo.output_chars, 1, undo.prefix)
        if self.state == RUNNING:
            if ev.key == "esc" and not ev.chorded:
                return Cancel("cancelled with Esc")
            return Cancel("you kept typing while the command ran")
        if (ev.chorded or ev.key == "insert") and \
                any(c.matches(ev) for c in self.paste_chords_for(ev.window_class)):
            if self.state == COMMAND:
                return PasteWanted()
            self.reset(boundary=False)           # pasted text we did not read: not a word start
            return None
        if self.terminator_chord is not None and self.state == COMMAND and \
                self.terminator_chord.matches(ev):
            return self._fire()
        if ev.chorded:
            self.reset()
            return None
        if ev.dead is not None:
            if self._dead is not None:          # two dead keys: the first one shows itself
                self._type(self._dead)
            self._dead = ev.dead
            return None
        if ev.key == "backspace":
            if self._dead is not None:
                self._dead = None
                return None
            return self._backspace()
        if ev.key in RESET_KEYS:
            self.reset()
            return None
        if (ev.char == "\n" or ev.key == "enter") and \
                (ev.window_class or "").lower() in self.enter_submits_in:
            self.reset()                         # the line was submitted: a fresh, empty line
            return None
        char = ev.char
        if char is None:
            if ev.key == "space":
                char = " "
            elif ev.key == "enter":
                char = "\n"
            else:
                return None                      # F-keys, media keys: no text change
        if self._dead is not None:
            text, self._dead = compose_dead(self._dead, char), None
            result = None
            for c in text:
                result = self._type(c) or result
            return result
        return self._type(char)

    def _interrupt(self, reason: str, *, boundary: bool):
        if self.state == RUNNING:
            return Cancel(reason, restore=False)
        self.reset(boundary=boundary)
        return None

    def _type(self, char: str):
        if self.state == COMMAND:
            self._body.append(char)
            if self.terminator and char == self.terminator[-1] and \
                    "".join(self._body[-len(self.terminator):]) == self.terminator:
                return self._fire()
            if len(self._body) > self.max_command_chars:
                self.reset(boundary=False)
                self._cells.append(_JUNK)
            return None
        if char.isspace():
            self._push(char)
            return None
        word = self._current_word()
        if word is not None and (word + char) in self._starts:
            self._push(char)
            if word + char in self.prefixes:
                self.state = COMMAND
                self._prefix = word + char
                self._body = []
            return None
        self._push(_JUNK)
        return None

    def _current_word(self) -> str | None:
        """The text since the last whitespace if it can still grow into a prefix, else None."""
        chars = []
        for cell in reversed(self._cells):
            if cell == _JUNK:
                return None
            if cell.isspace():
                return "".join(reversed(chars))
            chars.append(cell)
        if not self._start_boundary:
            return None
        return "".join(reversed(chars))

    def _push(self, cell: str) -> None:
        self._cells.append(cell)
        if len(self._cells) > _IDLE_CELLS:
            dropped = self._cells.pop(0)
            self._start_boundary = dropped.isspace()

    def _backspace(self):
        if self.state == COMMAND:
            if self._body:
                self._body.pop()
                return None
            self.state = IDLE               # back into the prefix itself
            self._prefix = ""
        if self._cells:
            self._cells.pop()
        else:
            self._start_boundary = False    # deleting into text we never saw
        return None

    def _fire(self) -> Fire:
        body = "".join(self._body)
        shown = len(self._prefix) + len(body)
        if self.terminator:
            body = body[: -len(self.terminator)]
        fire = Fire(self._prefix, body, shown)
        self.state = RUNNING
        self._body = []
        self._cells = []
        return fire

    # ------------------------------------------------------------------ caller feedback
    def pasted(self, text: str) -> None:
        """The clipboard text a paste chord inserted into the command being typed."""
        if self.state != COMMAND:
            return
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        self._body.extend(text)
        if len(self._body) > self.max_command_chars:
            self.reset(boundary=False)
            self._cells.append(_JUNK)

    def finished(self, *, original: str | None = None, output: str | None = None,
                 prefix: str = "") -> None:
        """The fired command is over. ``output``: what was injected (None: the typed command
        stayed in the app). After an injection, Backspace as the very next key undoes it."""
        self.reset(boundary=bool(output) and output[-1].isspace())
        if output and original is not None:
            self._undo = Undo(original, len(output), 0, prefix)

    def take_undo(self) -> Undo | None:
        """The undo hotkey: the pending undo (nothing typed since the injection), if any."""
        undo, self._undo = self._undo, None
        if undo is not None:
            self.state = RUNNING
        return undo

    def restored(self, prefix: str, body: str) -> None:
        """The original command was typed back (undo): it can be edited and terminated again."""
        self.reset(boundary=True)
        for c in prefix:
            self._cells.append(c)
        self.state = COMMAND
        self._prefix = prefix
        self._body = list(body)
