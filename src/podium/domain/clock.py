"""The services' clock: each takes a ``clock``/``now`` callable that defaults to ``utcnow`` (a test passes
its own)."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)
