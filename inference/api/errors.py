"""Exception types shared by the inference modules and the HTTP layer."""

from __future__ import annotations


class ApiError(Exception):
    """An error the HTTP layer turns into ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.message!r})"
