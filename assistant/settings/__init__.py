"""The settings page (a loopback web app), the tray icon and autostart.

* ``service.start(ctx)``: run by `hushtype up`; serves the page and shows the tray icon.
* ``cli.register(app)``: `hushtype settings [--no-browser]`, `hushtype autostart ...`.
"""
