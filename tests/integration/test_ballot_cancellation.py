"""A ballot whose request goes away mid-statement leaves the pool's connection fit for the next caller.

``PostgresBallots.cast`` runs its one statement on the driver's connection in autocommit, so nothing rolls
back when the connection is handed back: the next ballot, on a pool of one, must not meet a statement
still being cancelled ("another operation is in progress"). asyncpg finishes the cancellation before the
connection's next use; this pins that the vote path keeps it so.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.database import create_engine
from podium.adapters.postgres.uow import PostgresBallots, SqlAlchemyUnitOfWorkFactory
from podium.config import Settings
from podium.domain.models import BallotTerms, Vote
from podium.domain.rules import fewest_projects_by_cast
from tests.factories import EventFactory, ProjectFactory, UserFactory


async def _scene(engine: AsyncEngine) -> tuple[UUID, UUID, UUID]:
    owner, voter = UserFactory.batch(2)
    event = EventFactory.build(owner_id=owner.id, votable=True)
    projects = [ProjectFactory.build(event_id=event.id, owner_id=owner.id) for _ in range(3)]
    async with SqlAlchemyUnitOfWorkFactory(engine)() as tx:
        for user in (owner, voter):
            assert await tx.users.add(user)
        await tx.events.add(event)
        for project in projects:
            await tx.projects.add(project)
        await tx.attendance.add(event.id, voter.id)
        await tx.commit()
    return event.id, voter.id, projects[0].id


def _terms(event_id: UUID, voter_id: UUID, project_id: UUID) -> BallotTerms:
    votes = (Vote(voter_id=voter_id, project_id=project_id, event_id=event_id),)
    return BallotTerms(event_id, voter_id, votes, fewest_projects_by_cast(1))


async def _ballots_waiting(watcher: asyncpg.Connection) -> int:
    """Ballot statements waiting on a lock (asked outside the blocker's transaction, whose view of
    pg_stat_activity is taken once)."""
    count: int = await watcher.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE "
        "'%podium_cast_ballot_on_terms%'"
    )
    return count


async def test_a_ballot_cancelled_mid_statement_does_not_hand_its_connection_on(
    clean_database: AsyncEngine, settings: Settings, database_url: str
) -> None:
    event_id, voter_id, project_id = await _scene(clean_database)
    engine = create_engine(replace(settings, db_pool_size=1, db_max_overflow=0))
    ballots = PostgresBallots(engine, share=False)
    dsn = database_url.replace("postgresql+asyncpg", "postgresql")
    blocker, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        # Another transaction holds the voter's attendee row: the ballot's statement waits for it.
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute(
            "SELECT 1 FROM event_attendees WHERE event_id = $1 AND user_id = $2 FOR UPDATE",
            event_id,
            voter_id,
        )
        cast = asyncio.create_task(ballots.cast(_terms(event_id, voter_id, project_id)))
        for _ in range(500):  # until the statement is waiting on the lock
            waiting = await _ballots_waiting(watcher)
            if waiting:
                break
            await asyncio.sleep(0.01)
        assert waiting, "the ballot never waited on the lock"
        cast.cancel()
        await asyncio.gather(cast, return_exceptions=True)
        assert cast.cancelled()
        # asyncpg asks the server to cancel on a connection of its own, in the background: the statement
        # ends only once the server has seen that request. Release the lock only then, or the statement
        # may take it and commit first (a cancellation is a request, not a guarantee).
        for _ in range(500):
            waiting = await _ballots_waiting(watcher)
            if not waiting:
                break
            await asyncio.sleep(0.01)
        assert not waiting, "the server never cancelled the ballot's statement"
        await holding.rollback()

        # The pool's one connection, at rest: the next ballot is cast.
        outcome = await asyncio.wait_for(ballots.cast(_terms(event_id, voter_id, project_id)), 10)
        assert outcome.admitted
    finally:
        await blocker.close()
        await watcher.close()
        await engine.dispose()
