"""Path parameters that answer 422 (not 404) when malformed, as the legacy API did."""

from __future__ import annotations

from uuid import UUID

from litestar.exceptions import ValidationException


def uuid_param(value: str, name: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ValidationException(
            detail="Validation failed",
            extra=[{"key": name, "source": "path", "message": "Input should be a valid UUID"}],
        ) from None
