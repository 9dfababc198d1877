"""The push-to-talk state machine, driven with explicit times (pure, no clock, no keyboard)."""

from __future__ import annotations

import pytest

from assistant.voice.ptt import Discard, PushToTalk, Start, Stop


def machine(**kw) -> PushToTalk:
    return PushToTalk(release_grace=0.05, max_seconds=10.0, min_hold=0.3, repeat_gap=1.0, **kw)


def test_press_hold_release_records_once():
    m = machine()
    assert m.press("dictate", 0.0) == [Start(1, "dictate")]
    assert m.recording == (1, "dictate")
    assert m.release("dictate", 2.0) == []  # within the grace period: maybe auto-repeat
    assert m.next_deadline() == pytest.approx(2.05)
    assert m.tick(2.04) == []
    assert m.tick(2.05) == [Stop(1, "dictate", "released", 2.0)]
    assert m.recording is None
    assert m.next_deadline() is None


def test_x11_autorepeat_release_press_pairs_do_not_stop_the_recording():
    m = machine()
    actions = m.press("dictate", 0.0)
    t = 0.5
    while t < 3.0:  # X11 auto-repeat: release + press 1 ms apart every 33 ms
        actions += m.release("dictate", t)
        actions += m.press("dictate", t + 0.001)
        actions += m.tick(t + 0.02)
        t += 0.033
    assert actions == [Start(1, "dictate")]
    assert m.recording == (1, "dictate")
    m.release("dictate", 3.2)
    assert m.tick(3.3) == [Stop(1, "dictate", "released", pytest.approx(3.2))]


def test_repeated_press_events_without_releases_are_ignored():
    m = machine()
    actions = []
    for i in range(60):
        actions += m.press("dictate", i * 0.03)
    assert actions == [Start(1, "dictate")]


def test_too_short_press_is_discarded_not_transcribed():
    m = machine()
    m.press("dictate", 0.0)
    m.release("dictate", 0.2)
    assert m.tick(0.3) == [Discard(1, "dictate", "too_short", pytest.approx(0.2))]


def test_lost_key_up_is_capped_and_autorepeat_does_not_reopen_the_mic():
    m = machine()
    m.press("dictate", 0.0)
    assert m.next_deadline() == 10.0
    # key-up lost; auto-repeat presses keep coming
    actions = []
    t = 0.03
    while t < 12.0:
        actions += m.press("dictate", t)
        t += 0.03
    assert actions == [Stop(1, "dictate", "max_length", 10.0)]
    assert m.recording is None
    # the release finally arrives; a later real press records again with a new id
    assert m.release("dictate", 12.0) == []
    assert m.press("dictate", 13.0) == [Start(2, "dictate")]


def test_lost_key_up_without_repeats_a_later_press_is_fresh():
    m = machine()
    m.press("command", 0.0)
    assert m.tick(10.0) == [Stop(1, "command", "max_length", 10.0)]
    # no key-up ever came and no repeats for longer than repeat_gap: the key was let go
    # (key-up lost), so the next press is a new press
    assert m.press("command", 10.5) == [Start(2, "command")]


def test_stale_release_never_stops_a_newer_recording():
    m = machine()
    m.press("dictate", 0.0)
    m.release("dictate", 1.0)
    assert m.tick(1.1)[0].recording_id == 1
    m.press("dictate", 2.0)
    # ids are never reused
    assert m.recording == (2, "dictate")
    m.release("command", 2.5)  # another key's release
    assert m.tick(2.6) == []
    assert m.recording == (2, "dictate")


def test_overlapping_presses_first_key_owns_the_recording():
    m = machine()
    assert m.press("dictate", 0.0) == [Start(1, "dictate")]
    assert m.press("command", 0.5) == []  # ignored while dictating
    assert m.release("command", 1.0) == []
    assert m.tick(1.2) == []
    assert m.recording == (1, "dictate")
    m.release("dictate", 2.0)
    assert m.tick(2.1) == [Stop(1, "dictate", "released", 2.0)]


def test_other_key_still_held_after_owner_release_does_not_start_by_repeat():
    m = machine()
    m.press("dictate", 0.0)
    m.press("command", 0.5)
    m.release("dictate", 1.0)
    assert m.tick(1.1) == [Stop(1, "dictate", "released", 1.0)]
    # the command key is still held and auto-repeats: no new recording
    assert m.press("command", 1.13) == []
    assert m.press("command", 1.16) == []
    m.release("command", 1.5)
    # a fresh press of the command key records
    assert m.press("command", 2.0) == [Start(2, "command")]


def test_cancel_discards_the_open_recording():
    m = machine()
    m.press("dictate", 0.0)
    assert m.cancel(1.0) == [Discard(1, "dictate", "cancelled", 1.0)]
    assert m.recording is None
    assert m.cancel(1.0) == []


def test_zero_grace_stops_on_release():
    m = PushToTalk(release_grace=0.0, max_seconds=5, min_hold=0.1)
    m.press("dictate", 0.0)
    assert m.release("dictate", 1.0) == [Stop(1, "dictate", "released", 1.0)]


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError):
        PushToTalk(max_seconds=0)
