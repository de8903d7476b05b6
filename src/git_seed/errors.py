"""Errors the seeder raises. A SeedError's text becomes the FAILED response's Reason."""

from __future__ import annotations


class SeedError(Exception):
    """A failure explained in one line for the stack's events (never holds the token)."""


class HttpError(Exception):
    """A provider answered with a status the caller did not expect, or could not be reached
    (status None)."""

    def __init__(self, status: int | None, method: str, path: str, message: str):
        super().__init__(f"HTTP {status} on {method} {path}: {message}" if status else f"{method} {path}: {message}")
        self.status = status
        self.method = method
        self.path = path
        self.message = message


class TransientError(HttpError):
    """A failure worth another attempt: 429, 5xx, a timeout, a dropped connection."""

    def __init__(self, status: int | None, method: str, path: str, message: str, retry_after: float | None = None):
        super().__init__(status, method, path, message)
        self.retry_after = retry_after
