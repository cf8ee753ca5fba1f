"""Domain errors. Each carries the stable, user-facing message the client shows verbatim."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use-case raises on purpose; the HTTP layer maps each kind to a status."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing asked for does not exist (404)."""


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this (403)."""


class Invalid(DomainError):
    """The request breaks a business rule (400)."""


class Unprocessable(DomainError):
    """The request is well-formed but a value is unacceptable (422 with a string detail)."""


class Unauthenticated(DomainError):
    """Missing, malformed or expired credentials (401)."""


class RateLimited(DomainError):
    """Too many attempts; try again after ``retry_after`` seconds (429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency the operation needs is not configured or not reachable (503)."""


class UpstreamFailed(DomainError):
    """An external service answered with an error (502)."""


BAD_ACCESS = "You don't have permission to do this"
