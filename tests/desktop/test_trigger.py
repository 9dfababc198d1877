"""Every rule of the trigger engine, fed key events directly (pure logic, no X server)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from assistant.hooks.keys import Click, FocusChange, KeyEvent, parse_chord, ChordError
from assistant.hooks.trigger import (Cancel, Fire, PasteWanted, TriggerEngine, Undo,
                                     compose_dead)

PREFIXES = ("fix:", "gen:", "sum:")


def engine(**kw) -> TriggerEngine:
    kw.setdefault("paste_chords", {"xterm": "ctrl+shift+v"})
    return TriggerEngine(PREFIXES, **kw)


def chars(text: str) -> list[KeyEvent]:
    return [KeyEvent(char=c) for c in text]


def key(name: str, **mods) -> KeyEvent:
    return KeyEvent(key=name, **mods)


BS = key("backspace")


def feed(eng: TriggerEngine, events) -> list:
    out = []
    for ev in events:
        action = eng.feed(ev)
        if action is not None:
            out.append(action)
    return out


def test_prefix_text_terminator_fires_with_exact_length():
    eng = engine()
    actions = feed(eng, chars("fix: teh cat;;"))
    assert actions == [Fire("fix:", " teh cat", len("fix: teh cat;;"))]


def test_prefix_only_at_word_boundary():
    assert feed(engine(), chars("prefix: nope;;")) == []
    assert feed(engine(), chars("ok fix: yes;;")) == [Fire("fix:", " yes", 10)]
    assert feed(engine(), chars("line\nfix: yes;;")) == [Fire("fix:", " yes", 10)]
    assert feed(engine(), chars("tab\tgen: x;;")) == [Fire("gen:", " x", 8)]


def test_no_terminator_no_fire_and_single_semicolon_is_text():
    eng = engine()
    assert feed(eng, chars("fix: a; b ; c")) == []
    assert feed(eng, chars(";;")) == [Fire("fix:", " a; b ; c", len("fix: a; b ; c;;"))]


def test_free_text_of_any_length_up_to_the_limit():
    body = " " + "word " * 1500
    assert feed(engine(), chars("gen:" + body + ";;")) == [Fire("gen:", body, 4 + len(body) + 2)]
    eng = engine(max_command_chars=50)
    assert feed(eng, chars("gen:" + "x" * 60 + ";;")) == []
    assert eng.buffered_chars == 0


def test_backspace_corrected_prefix_still_triggers():
    events = chars("fox") + [BS, BS] + chars("ix: a cat;;")
    assert feed(engine(), events) == [Fire("fix:", " a cat", len("fix: a cat;;"))]


def test_backspace_inside_body_and_back_into_prefix():
    events = chars("fix: teh") + [BS, BS] + chars("he cat;;")
    assert feed(engine(), events) == [Fire("fix:", " the cat", 14)]
    # Backspace through the whole body and into the prefix: "fix" + ":" again
    events = chars("fix: ab") + [BS, BS, BS, BS] + chars(": ok;;")
    assert feed(engine(), events) == [Fire("fix:", " ok", 9)]
    # Backspace the prefix away entirely: no command any more
    events = chars("fix: ab") + [BS] * 7 + chars("ab;;")
    assert feed(engine(), events) == []


def test_backspace_over_a_word_boundary_remembers_the_previous_word():
    # "hello " then BS: caret is after "hello" - not a boundary
    assert feed(engine(), chars("hello ") + [BS] + chars("fix: a;;")) == []
    # "a fix" -> BS x3 -> "a " : boundary again
    assert feed(engine(), chars("a fix") + [BS] * 3 + chars("fix: b;;")) == [Fire("fix:", " b", 8)]


def test_backspace_beyond_what_was_seen_is_not_a_boundary():
    assert feed(engine(), [BS] + chars("fix: a;;")) == []


@pytest.mark.parametrize("reset", ["left", "right", "up", "down", "home", "end", "page_up",
                                   "page_down", "esc", "tab", "delete"])
def test_navigation_keys_reset(reset):
    assert feed(engine(), chars("fix: a") + [key(reset)] + chars("b;;")) == []
    # ...and a new command may start right after
    assert feed(engine(), chars("fi") + [key(reset)] + chars("fix: b;;")) == [Fire("fix:", " b", 8)]


def test_click_and_focus_change_reset():
    assert feed(engine(), chars("fix: a") + [Click()] + chars("b;;")) == []
    assert feed(engine(), chars("fi") + [Click()] + chars("x: b;;")) == []
    assert feed(engine(), chars("fix: a") + [FocusChange(5, "firefox")] + chars("b;;")) == []
    assert feed(engine(), chars("xyz") + [Click()] + chars("fix: b;;")) == [Fire("fix:", " b", 8)]


def test_ctrl_alt_super_chords_are_not_text_and_reset():
    for mods in ({"ctrl": True}, {"alt": True}, {"super": True}):
        assert feed(engine(), chars("fix: a") + [KeyEvent(char="b", **mods)] + chars("c;;")) == []
        # the chord's character never counts as text
        assert feed(engine(), chars("fix") + [KeyEvent(char=":", **mods)] + chars(" c;;")) == []


def test_shift_and_altgr_characters_are_text():
    events = [KeyEvent(char="F", shift=True)] + chars("ix:") + [KeyEvent(char="€")] + chars(";;")
    assert feed(TriggerEngine(["Fix:"]), events) == [Fire("Fix:", "€", 7)]


def test_dead_keys_compose_like_the_app_shows_them():
    assert compose_dead("´", "e") == "é"
    assert compose_dead("¨", "u") == "ü"
    assert compose_dead("~", "n") == "ñ"
    assert compose_dead("^", " ") == "^"
    assert compose_dead("´", "q") == "´q"
    events = chars("fix: caf") + [KeyEvent(dead="´")] + chars("e;;")
    assert feed(engine(), events) == [Fire("fix:", " café", 11)]
    events = chars("fix: ") + [KeyEvent(dead="´")] + chars("q;;")      # shows two characters
    assert feed(engine(), events) == [Fire("fix:", " ´q", len("fix: ´q;;"))]
    events = chars("fix: a") + [KeyEvent(dead="´"), BS] + chars("b;;")  # BS cancels the dead key
    assert feed(engine(), events) == [Fire("fix:", " ab", 9)]


def test_injected_and_modifier_keys_are_ignored():
    events = chars("fix: a") + [KeyEvent(char=c, injected=True) for c in "zz;;"] + \
        [key("shift"), key("ctrl"), key("alt_gr"), key("caps_lock")] + chars(";;")
    assert feed(engine(), events) == [Fire("fix:", " a", 8)]
    assert feed(engine(), [KeyEvent(char=c, injected=True) for c in "fix: a;;"]) == []


def test_paste_chord_inside_a_command_joins_the_clipboard_text():
    eng = engine()
    assert feed(eng, chars("sum: ")) == []
    assert eng.feed(KeyEvent(char="v", ctrl=True)) == PasteWanted()
    eng.pasted("a long\r\narticle")
    assert feed(eng, chars(";;")) == [Fire("sum:", " a long\narticle", len("sum: a long\narticle;;"))]


def test_paste_chords_per_app_and_shift_insert():
    eng = engine()
    feed(eng, chars("sum: "))
    # in xterm Ctrl+V is not paste (it resets like any chord), Ctrl+Shift+V is
    assert eng.feed(KeyEvent(char="V", ctrl=True, shift=True, window_class="xterm")) == PasteWanted()
    eng.pasted("x")
    assert eng.feed(KeyEvent(key="insert", shift=True)) == PasteWanted()
    eng.pasted("y")
    assert feed(eng, chars(";;")) == [Fire("sum:", " xy", 9)]
    eng = engine()
    feed(eng, chars("sum: "))
    assert eng.feed(KeyEvent(char="v", ctrl=True, window_class="xterm")) is None
    assert feed(eng, chars("a;;")) == []


def test_paste_outside_a_command_is_not_read_and_is_not_a_word_start():
    eng = engine()
    assert eng.feed(KeyEvent(char="v", ctrl=True)) is None       # no PasteWanted: not read
    assert feed(eng, chars("fix: a;;")) == []
    assert feed(eng, chars(" fix: a;;")) == [Fire("fix:", " a", 8)]


def test_terminator_chord_instead_of_text():
    eng = engine(terminator_chord="<ctrl>+<alt>+<enter>")
    assert feed(eng, chars("fix: a;; b")) == []
    assert eng.feed(KeyEvent(key="enter", ctrl=True, alt=True)) == Fire("fix:", " a;; b", 10)


def test_enter_in_a_terminal_submits_the_line_and_resets():
    eng = engine(enter_submits_in=["xterm"])
    events = [KeyEvent(char=c, window_class="xterm") for c in "fix: ls"] + \
        [KeyEvent(char="\n", window_class="xterm")] + [KeyEvent(char=c, window_class="xterm") for c in "a;;"]
    assert feed(eng, events) == []
    # in an editor Enter is a new line inside the command
    eng = engine(enter_submits_in=["xterm"])
    assert feed(eng, chars("gen: one\ntwo;;")) == [Fire("gen:", " one\ntwo", len("gen: one\ntwo;;"))]


def test_other_text_terminator():
    eng = engine(terminator="//")
    assert feed(eng, chars("fix: a;; b//")) == [Fire("fix:", " a;; b", 12)]


def test_esc_or_typing_while_running_cancels_and_text_stays():
    eng = engine()
    feed(eng, chars("fix: a;;"))
    assert eng.feed(key("esc")) == Cancel("cancelled with Esc")
    eng.finished()
    # the typed command stays in the app: ";;" before the caret is no word boundary
    assert feed(eng, chars("fix: b;;")) == []
    eng = engine()
    feed(eng, chars("gen: a;;"))
    assert isinstance(eng.feed(KeyEvent(char="x")), Cancel)
    assert isinstance(eng.feed(Click()), Cancel)
    assert eng.feed(key("shift")) is None


def test_backspace_right_after_injection_undoes():
    eng = engine()
    feed(eng, chars("fix: teh;;"))
    eng.finished(original="fix: teh", output="the", prefix="fix:")
    assert eng.feed(BS) == Undo("fix: teh", 3, 1, "fix:")
    eng.restored("fix:", " teh")
    # the restored command can be edited and terminated again
    assert feed(eng, [BS] + chars("e;;")) == [Fire("fix:", " tee", 10)]


def test_undo_only_as_the_very_next_key_or_by_hotkey():
    eng = engine()
    feed(eng, chars("fix: teh;;"))
    eng.finished(original="fix: teh", output="the", prefix="fix:")
    assert eng.feed(KeyEvent(char="x")) is None
    assert eng.feed(BS) is None                 # an ordinary Backspace now
    assert eng.take_undo() is None
    feed(eng, chars(" fix: b;;"))
    eng.finished(original="fix: b", output="B", prefix="fix:")
    assert eng.take_undo() == Undo("fix: b", 1, 0, "fix:")


def test_nothing_buffered_outside_a_command():
    eng = engine()
    feed(eng, chars("my password is hunter2 and fi"))
    # only "fi" (a possible prefix start) and whitespace are held as text
    assert eng.buffered_chars == sum(1 for c in "my password is hunter2 and fi" if c.isspace()) + 2
    assert "hunter2" not in repr(vars(eng))


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        TriggerEngine(["fix :"])
    with pytest.raises(ValueError):
        TriggerEngine([])
    with pytest.raises(ChordError):
        parse_chord("ctrl+alt")
    assert str(parse_chord("<ctrl>+<alt>+p")) == "ctrl+alt+p"
    assert str(parse_chord("shift+Insert")) == "shift+insert"


# ---------------------------------------------------------------------- property tests
class AppModel:
    """A text field: what the app shows, with a caret. Reset events move the caret."""

    def __init__(self):
        self.text, self.caret = "", 0
        self.clipboard = "clip board"

    def apply(self, ev, arg=None):
        if isinstance(ev, Click):
            self.caret = arg % (len(self.text) + 1)
        elif isinstance(ev, KeyEvent):
            if ev.key == "backspace" and not ev.chorded:
                if self.caret:
                    self.text = self.text[: self.caret - 1] + self.text[self.caret:]
                    self.caret -= 1
            elif ev.key == "left":
                self.caret = max(0, self.caret - 1)
            elif ev.key == "end":
                self.caret = len(self.text)
            elif ev.ctrl and ev.char == "v":
                self._insert(self.clipboard)
            elif ev.char is not None and not ev.chorded:
                self._insert(ev.char)

    def _insert(self, s):
        self.text = self.text[: self.caret] + s + self.text[self.caret:]
        self.caret += len(s)


EVENTS = st.one_of(
    st.sampled_from(list("fixgensum: ;a\n")).map(lambda c: KeyEvent(char=c)),
    st.just(BS), st.just(key("left")), st.just(key("end")),
    st.just(KeyEvent(char="v", ctrl=True)), st.just(KeyEvent(char="a", ctrl=True)),
    st.tuples(st.just(Click()), st.integers(0, 1000)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(EVENTS, max_size=80))
def test_random_keystrokes_fire_only_on_prefix_text_terminator(events):
    eng, app = engine(), AppModel()
    for item in events:
        ev, arg = item if isinstance(item, tuple) else (item, None)
        action = eng.feed(ev)
        app.apply(ev, arg)
        if isinstance(action, PasteWanted):
            eng.pasted(app.clipboard)
        if isinstance(action, Fire):
            shown = app.text[: app.caret]
            # exactly prefix + body + terminator sits before the caret: deleting shown_chars
            # removes the command and nothing else
            assert shown.endswith(action.prefix + action.body + ";;")
            assert action.shown_chars == len(action.prefix + action.body + ";;")
            assert action.prefix in PREFIXES
            eng.finished()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(list("fixgen:; a\n")).map(lambda c: KeyEvent(char=c)),
                          st.just(BS), st.just(key("left")), st.just(Click())), max_size=60))
def test_never_fires_without_terminator_or_prefix(events):
    eng = engine()
    for ev in events:
        action = eng.feed(ev)
        if isinstance(action, Fire):
            typed = "".join(e.char or "" for e in events if isinstance(e, KeyEvent))
            assert ";;" in typed and any(p in typed for p in PREFIXES)
            eng.finished()
    # and without any ";" there is never a Fire
    eng = engine()
    no_term = [e for e in events if not (isinstance(e, KeyEvent) and e.char == ";")]
    assert not any(isinstance(eng.feed(e), Fire) for e in no_term)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="fixgensum:; abc\n", max_size=120))
def test_outside_a_command_only_prefix_fragments_are_held(text):
    """Privacy: whatever is typed, outside a command the engine holds whitespace and the
    beginnings of registered prefixes only - every other character is an anonymous mark."""
    eng = engine()
    for c in text:
        if isinstance(eng.feed(KeyEvent(char=c)), Fire):
            eng.finished()
        if eng.state != "idle":
            continue
        word = ""
        for cell in eng._cells:
            if cell.isspace():
                word = ""
            elif cell != "\x00":
                word += cell
                assert word in eng._starts, (text, eng._cells)
