"""Push-to-talk state machine: key events in, recording actions out. Pure (no clock, no OS).

The caller feeds ``press(mode, now)`` / ``release(mode, now)`` from its key listener and calls
``tick(now)`` whenever ``next_deadline()`` passes. ``mode`` is the name of the hotkey that was
pressed ("dictate" or "command").

Rules (see docs: desktop lessons, push-to-talk):

* X11 auto-repeat: a held key either repeats its press events or sends release/press pairs
  a few milliseconds apart. A release only stops the recording when no press of the same key
  follows within ``release_grace`` seconds; repeated presses of a held key are ignored.
* A lost key-up never leaves the microphone open: each recording has an id and a hard cap
  (``max_seconds``); when the cap passes, ``tick`` stops it. The key then counts as still
  held (its auto-repeat must not start a new recording) until it is released, or until it has
  been quiet for ``repeat_gap`` seconds, after which a press is a fresh press again.
* A press shorter than ``min_hold`` seconds is an accident (or only the key click): the
  recording is discarded, not transcribed.
* Overlapping hotkeys: the key that started a recording owns it. Presses and releases of the
  other hotkey during the recording are ignored; a new recording starts only on a fresh press
  after the current one ended.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Start:
    recording_id: int
    mode: str


@dataclass(frozen=True)
class Stop:
    """Stop recording ``recording_id`` and transcribe it."""

    recording_id: int
    mode: str
    reason: str  # "released" | "max_length"
    held_seconds: float


@dataclass(frozen=True)
class Discard:
    """Stop recording ``recording_id`` and throw its audio away."""

    recording_id: int
    mode: str
    reason: str  # "too_short" | "cancelled"
    held_seconds: float


Action = Start | Stop | Discard


@dataclass
class _Recording:
    recording_id: int
    mode: str
    started: float
    release_at: float | None = None  # time of a release that may still be an auto-repeat pair


class PushToTalk:
    def __init__(
        self,
        *,
        release_grace: float = 0.05,
        max_seconds: float = 120.0,
        min_hold: float = 0.3,
        repeat_gap: float = 1.0,
    ) -> None:
        if release_grace < 0 or max_seconds <= 0 or min_hold < 0:
            raise ValueError("release_grace and min_hold must be >= 0, max_seconds > 0")
        self.release_grace = release_grace
        self.max_seconds = max_seconds
        self.min_hold = min_hold
        self.repeat_gap = repeat_gap
        self._next_id = 1
        self._current: _Recording | None = None
        # mode -> time of the last press event seen while the key is (believed) held
        self._held: dict[str, float] = {}
        # mode -> time of its last release (a press right after it is an auto-repeat pair)
        self._released: dict[str, float] = {}

    # -- state ---------------------------------------------------------------------------
    @property
    def recording(self) -> tuple[int, str] | None:
        """(id, mode) of the open recording, if any."""
        cur = self._current
        return (cur.recording_id, cur.mode) if cur else None

    def next_deadline(self) -> float | None:
        """The earliest time at which ``tick`` has something to do."""
        cur = self._current
        if cur is None:
            return None
        cap = cur.started + self.max_seconds
        if cur.release_at is not None:
            return min(cap, cur.release_at + self.release_grace)
        return cap

    # -- events --------------------------------------------------------------------------
    def press(self, mode: str, now: float) -> list[Action]:
        actions = self.tick(now)
        cur = self._current
        last_press = self._held.get(mode)
        fresh = last_press is None or now - last_press > self.repeat_gap
        if mode in self._released and now - self._released[mode] <= self.release_grace:
            fresh = False  # the press half of an auto-repeat release/press pair
        self._held[mode] = now
        if cur is not None:
            if cur.mode == mode:
                cur.release_at = None  # auto-repeat: the key is still down
            return actions
        if not fresh:
            return actions  # auto-repeat of a key whose recording already ended (cap)
        self._current = _Recording(self._next_id, mode, now)
        self._next_id += 1
        actions.append(Start(self._current.recording_id, mode))
        return actions

    def release(self, mode: str, now: float) -> list[Action]:
        actions = self.tick(now)
        self._held.pop(mode, None)
        self._released[mode] = now
        cur = self._current
        if cur is not None and cur.mode == mode and cur.release_at is None:
            cur.release_at = now
            if self.release_grace == 0:
                actions.extend(self.tick(now))
        return actions

    def tick(self, now: float) -> list[Action]:
        cur = self._current
        if cur is None:
            return []
        if cur.release_at is not None and now >= cur.release_at + self.release_grace:
            held = cur.release_at - cur.started
            self._current = None
            if held < self.min_hold:
                return [Discard(cur.recording_id, cur.mode, "too_short", held)]
            return [Stop(cur.recording_id, cur.mode, "released", held)]
        if now >= cur.started + self.max_seconds:
            self._current = None
            return [Stop(cur.recording_id, cur.mode, "max_length", self.max_seconds)]
        return []

    def cancel(self, now: float) -> list[Action]:
        """Drop the open recording (pause, shutdown)."""
        cur = self._current
        if cur is None:
            return []
        self._current = None
        return [Discard(cur.recording_id, cur.mode, "cancelled", now - cur.started)]
