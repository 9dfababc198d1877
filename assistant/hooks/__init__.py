"""Typed commands: the pure trigger engine and the thin pynput listener adapter."""
