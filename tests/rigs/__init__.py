"""Test rigs shared by several test areas (desktop, platform_ibus, voice, remote).

``tests/`` is on ``sys.path`` (``pythonpath`` in pyproject.toml), so every area imports them
as ``rigs.<module>``: ``procs`` (waiting, killing process groups, tool checks), ``x11`` (Xvfb),
``sway`` (headless sway, no X server) and ``assistant`` (``hushtype up`` as a subprocess).
"""
