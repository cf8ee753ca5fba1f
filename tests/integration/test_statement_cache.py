"""Every prebuilt statement of the Postgres adapter is kept in SQLAlchemy's statement cache: none is
compiled again per execution (PostgreSQL's ``INSERT … ON CONFLICT`` would be, see ``compiled_once``)."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

from podium.adapters.postgres import rate_limiter
from podium.adapters.postgres.models import EventAttendeeModel, ReferralModel
from podium.adapters.postgres.repositories import events, projects, users, votes
from podium.adapters.postgres.statements import compiled_once

PREBUILT = {
    f"{module.__name__.rsplit('.', 1)[-1]}.{name}": value
    for module in (events, projects, users, votes, rate_limiter)
    for name, value in vars(module).items()
    if name.startswith("_") and name[1:].isupper() and isinstance(value, Executable | ClauseElement)
}


def test_the_adapter_has_prebuilt_statements() -> None:
    assert {
        "events._ADD_ATTENDEE",
        "rate_limiter._DECIDE",
    } <= PREBUILT.keys()


@pytest.mark.parametrize("name", sorted(PREBUILT))
def test_a_prebuilt_statement_is_cacheable(name: str) -> None:
    assert PREBUILT[name]._generate_cache_key() is not None


def test_on_conflict_statements_need_compiled_once() -> None:
    upsert = pg_insert(EventAttendeeModel).values(event_id=bindparam("e"), user_id=bindparam("u"))
    upsert = upsert.on_conflict_do_nothing()
    assert upsert._generate_cache_key() is None  # why compiled_once exists; if this fails, drop it
    assert compiled_once(upsert)._generate_cache_key() is not None


def test_compiled_once_refuses_a_statement_that_relies_on_python_side_defaults() -> None:
    # ReferralModel.id defaults to uuid4() in Python: frozen into text, it would insert NULL.
    upsert = pg_insert(ReferralModel).values(content=bindparam("c")).on_conflict_do_nothing()
    with pytest.raises(ValueError, match="Python-side default"):
        compiled_once(upsert)
