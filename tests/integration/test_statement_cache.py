"""Prebuilt statements stay in SQLAlchemy's statement cache, all but the ``INSERT … ON CONFLICT`` ones:
PostgreSQL's upsert construct opts out of the cache and is compiled per execution. Turning those into
cacheable text (the ``prebuilt_statements`` mechanism) was measured to gain nothing on any scenario
(docs/benchmarks.md, "What each speed mechanism earns") and was removed."""

from __future__ import annotations

import pytest
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from podium.adapters.postgres import rate_limiter
from podium.adapters.postgres.repositories import events, projects, users, votes

PREBUILT = {
    f"{module.__name__.rsplit('.', 1)[-1]}.{name}": value
    for module in (events, projects, users, votes, rate_limiter)
    for name, value in vars(module).items()
    if name.startswith("_") and name[1:].isupper() and isinstance(value, Executable | ClauseElement)
}
# Compiled per execution by SQLAlchemy's design (the PostgreSQL dialect's Insert sets inherit_cache=False).
UPSERTS = {
    "users._ADD_USER",
    "users._CONSUME_MAGIC_LINK",
    "events._ADD_ATTENDEE",
    "projects._ADD_COLLABORATOR",
}


def test_the_adapter_has_prebuilt_statements() -> None:
    assert {"events._ADD_ATTENDEE", "rate_limiter._DECIDE", "votes._BALLOT"} <= PREBUILT.keys()


@pytest.mark.parametrize("name", sorted(PREBUILT.keys() - UPSERTS))
def test_a_prebuilt_statement_is_cacheable(name: str) -> None:
    assert PREBUILT[name]._generate_cache_key() is not None


def test_only_the_upserts_are_compiled_per_execution() -> None:
    uncached = {name for name, value in PREBUILT.items() if value._generate_cache_key() is None}
    assert uncached == UPSERTS
