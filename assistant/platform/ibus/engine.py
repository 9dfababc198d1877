"""The IBus engine object "hushtype" (a GObject subclass of ``IBus.Engine``).

It lives on the session's GLib thread and does as little as possible there: every callback
hands the raw facts (keyval, keycode, state, time) to :class:`~.session.IBusSession`, which
puts them on the key source's queue, and returns at once. Keys pass through to the app
(``False``) unless the session claims them (the voice hotkey chord).
"""

from __future__ import annotations

import gi

gi.require_version("IBus", "1.0")
from gi.repository import IBus  # noqa: E402

ENGINE_NAME = "hushtype"
COMPONENT_NAME = "org.hushtype.IBus"
SURROUNDING_TEXT_CAP = int(IBus.Capabilite.SURROUNDING_TEXT)
SECURE_PURPOSES = frozenset({int(IBus.InputPurpose.PASSWORD), int(IBus.InputPurpose.PIN)})


class HushtypeEngine(IBus.Engine):
    __gtype_name__ = "HushtypeEngine"

    session = None                # set right after construction by the session
    capabilities = 0

    def do_process_key_event(self, keyval, keycode, state):
        return self.session.on_key(self, keyval, keycode, state)

    def do_focus_in(self):
        self.session.on_focus_in(self, None, None)

    def do_focus_in_id(self, object_path, client):
        # IBus names the input context (one per field/window) and its client program
        self.session.on_focus_in(self, object_path, client or None)

    def do_focus_out(self):
        self.session.on_focus_out(self)

    def do_focus_out_id(self, object_path):
        self.session.on_focus_out(self)

    def do_reset(self):
        self.session.on_reset(self)

    def do_set_capabilities(self, caps):
        self.capabilities = int(caps)

    def do_set_content_type(self, purpose, hints):
        self.session.on_content_type(self, int(purpose), int(hints))

    def do_enable(self):
        # Ask the client to report the text around the caret (GTK and Qt do).
        self.get_surrounding_text()

    def do_destroy(self):
        self.session.on_destroy(self)
        IBus.Engine.do_destroy(self)

    @property
    def surrounding_text(self) -> bool:
        return bool(self.capabilities & SURROUNDING_TEXT_CAP)


def make_component(version: str = "0.1") -> "IBus.Component":
    component = IBus.Component(name=COMPONENT_NAME, description="hushtype typed commands and voice",
                               version=version, license="MIT", author="hushtype",
                               homepage="", command_line="", textdomain="")
    # layout "default": the user's keyboard layout stays as it is while hushtype is active.
    component.add_engine(IBus.EngineDesc(
        name=ENGINE_NAME, longname="hushtype", description="hushtype: typed commands and voice",
        language="other", license="MIT", author="hushtype", icon="", layout="default",
        rank=0, symbol="h"))
    return component
