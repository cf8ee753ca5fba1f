"""Runs each contract test against both implementations of the ports: in-memory and Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.memory.store import MemoryStore
from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
from podium.domain.ports import UnitOfWorkFactory


@pytest.fixture(params=["memory", "postgres"])
def uow(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return MemoryStore()
    engine: AsyncEngine = request.getfixturevalue("clean_database")
    return SqlAlchemyUnitOfWorkFactory(engine)
