"""Placeholder until the server area lands: registers no commands yet."""


def register(app) -> None:  # replaced by the server implementation
    return None
