"""The listing triggers announce each change on ``podium_listings`` (issue 11): payload = the event id,
one notification per event per transaction, delivered at commit, none for a rollback."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.schema_rows import seed_two_events

pytestmark = pytest.mark.usefixtures("clean_database")
CHANNEL = "podium_listings"


async def _listen(database_url: str) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    received: asyncio.Queue[str] = asyncio.Queue()
    await connection.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: received.put_nowait(payload))
    return connection, received


async def _drain(received: asyncio.Queue[str], settle: float = 0.3) -> list[str]:
    await asyncio.sleep(settle)  # notifications arrive asynchronously after the writer's commit
    out = []
    while not received.empty():
        out.append(received.get_nowait())
    return out


async def test_each_transaction_announces_each_changed_event_once_at_commit(
    engine: AsyncEngine, database_url: str
) -> None:
    ids = await seed_two_events(engine)
    listener, received = await _listen(database_url)
    writer = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await _drain(received)
        async with writer.transaction():
            await writer.execute(
                "INSERT INTO votes (id, voter_id, project_id, event_id) VALUES ($1, $2, $3, $4)",
                uuid.uuid4(), ids["voter"], ids["project_a"], ids["event_a"],
            )  # fmt: skip
            await writer.execute("UPDATE projects SET name = 'renamed' WHERE id = $1", ids["project_a"])
            await writer.execute("UPDATE projects SET name = 'other' WHERE id = $1", ids["project_b"])
            assert await _drain(received, settle=0.2) == []  # nothing before the commit
        assert sorted(await _drain(received)) == sorted([str(ids["event_a"]), str(ids["event_b"])])

        transaction = writer.transaction()
        await transaction.start()
        await writer.execute("UPDATE projects SET name = 'not kept' WHERE id = $1", ids["project_a"])
        await transaction.rollback()
        await writer.execute("UPDATE projects SET name = name")  # changes nothing: no list changed
        assert await _drain(received) == []
    finally:
        await writer.close()
        await listener.close()


async def _version(connection: asyncpg.Connection, event_id: uuid.UUID) -> int:
    total = await connection.fetchval(
        "SELECT coalesce(sum(version), 0) FROM event_listing_versions WHERE event_id = $1", event_id
    )
    return int(total)


async def test_attendance_and_referrals_move_the_version_without_announcing(
    engine: AsyncEngine, database_url: str
) -> None:
    """Only the organiser's lists show them and nothing streams those; a NOTIFY would serialise every
    attend's commit (migration 0006, bench/notify_cost.py)."""
    ids = await seed_two_events(engine)
    listener, received = await _listen(database_url)
    writer = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await _drain(received)
        before = await _version(writer, ids["event_a"])
        async with writer.transaction():
            await writer.execute(
                "INSERT INTO event_attendees (id, event_id, user_id) VALUES ($1, $2, $3)",
                uuid.uuid4(), ids["event_a"], ids["owner"],
            )  # fmt: skip
            await writer.execute(
                "INSERT INTO referrals (id, content, user_id, event_id) VALUES ($1, 'a friend', $2, $3)",
                uuid.uuid4(), ids["owner"], ids["event_a"],
            )  # fmt: skip
        after_attend = await _version(writer, ids["event_a"])
        assert after_attend > before  # the admin views' cache sees it
        await writer.execute("DELETE FROM referrals WHERE event_id = $1", ids["event_a"])
        await writer.execute("UPDATE event_attendees SET user_id = user_id")  # changes nothing
        assert await _version(writer, ids["event_a"]) > after_attend
        assert await _drain(received) == []

        await writer.execute(
            "INSERT INTO votes (id, voter_id, project_id, event_id) VALUES ($1, $2, $3, $4)",
            uuid.uuid4(), ids["voter"], ids["project_a"], ids["event_a"],
        )  # fmt: skip
        assert await _drain(received) == [str(ids["event_a"])]  # the public lists' changes still announce
    finally:
        await writer.close()
        await listener.close()
