"""Typed commands consume only the platform protocols: any KeySource's events drive the
trigger engine, a SecureField (password/PIN field) stops all reading until focus leaves it,
and a platform without a key source is refused with a clear message. The key source here is
a scripted list of protocol events (what a backend's decode() returns); the real backends are
driven by the desktop tests (X11 on Xvfb, Wayland on sway)."""

from __future__ import annotations

import queue

import pytest

from assistant.config import load_settings
from assistant.hooks.keys import Click, FocusChange, KeyEvent
from assistant.hooks.trigger import Fire
from assistant.platform.base import KeySource, Platform, SecureField
from assistant.service.context import AssistantContext
from assistant.service.typed import TypedCommands


class ScriptedKeys:
    """A KeySource whose queue items already are protocol events."""

    def start(self, out: queue.SimpleQueue) -> None:
        self.out = out

    def decode(self, item) -> list:
        return [item]

    def stop(self) -> None:
        pass


def typed(text: str) -> list:
    return [KeyEvent(char=c) for c in text]


@pytest.fixture
def service():
    keys = ScriptedKeys()
    assert isinstance(keys, KeySource)
    ctx = AssistantContext(settings=load_settings(), notifier=None,
                           platform=Platform(name="scripted", reason="test", keys=keys))
    svc = TypedCommands(ctx)
    fired: list = []
    svc._start_job = lambda target, *args: fired.append(args[0])      # no model run
    svc.fired = fired
    return svc


def feed(svc, events) -> None:
    for event in events:
        svc.process(event)


def test_any_key_source_drives_the_trigger_engine(service):
    feed(service, typed("fix: teh cat;;"))
    assert service.fired == [Fire("fix:", " teh cat", len("fix: teh cat;;"))]


def test_a_password_field_is_never_read(service):
    feed(service, [SecureField(True)] + typed("fix: hunter2;;"))
    assert service.fired == []
    feed(service, [SecureField(False)] + typed("fix: teh dog;;"))
    assert service.fired == [Fire("fix:", " teh dog", len("fix: teh dog;;"))]


def test_focus_changes_and_clicks_from_the_key_source_reset(service):
    feed(service, typed("fix: teh") + [FocusChange("field-2", "gedit")] + typed(" cat;;"))
    feed(service, typed("fix: a") + [Click()] + typed("b;;"))
    assert service.fired == []


def test_a_platform_without_a_key_source_is_refused_clearly():
    ctx = AssistantContext(settings=load_settings(), notifier=None,
                           platform=Platform(name="wayland", reason="voice only"))
    with pytest.raises(RuntimeError, match=r"platform \(wayland\) offers no key source"):
        TypedCommands(ctx)
