"""Delete-then-insert into the focused X11 app: xdotool keys, clipboard paste (xclip + our own
selection owner), streaming, and the guard that tells our keys from the user's."""

from assistant.injection.injector import InjectionError, Injector, StreamSession

__all__ = ["InjectionError", "Injector", "StreamSession"]
