"""The one error type of the web layer: leaves as JSON ``{"error": code, "message": text}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer; ``code`` is a message key the UI translates."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
