"""Point lookups take a pooled connection of their own: first they give back the one the request holds."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from podium.adapters.postgres.database import create_engine
from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
from podium.config import Settings
from tests.factories import UserFactory


async def test_a_lookup_after_a_read_gives_the_read_connection_back_first(
    settings: Settings, clean_database: object
) -> None:
    engine = create_engine(replace(settings, db_pool_size=1, db_max_overflow=0, db_pool_timeout=2.0))
    store = SqlAlchemyUnitOfWorkFactory(engine)
    user = UserFactory.build()
    try:
        async with store() as uow:
            await uow.users.add(user)
            await uow.commit()
        async with store.shared_reads():  # one request
            async with store(read_only=True) as uow:  # its reads check out the pool's only connection
                assert await uow.users.get(user.id) == user
            found = await asyncio.wait_for(store.lookups.user_by_email(user.email), 5)
        assert found == user
    finally:
        await engine.dispose()
