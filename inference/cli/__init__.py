"""The server's command line: serve, run, list, ps, show, rm, cp, pull, create, import."""
