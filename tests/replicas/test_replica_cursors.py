"""A cached list refreshed on a replica misses no change of a transaction that was running at the time.

A snapshot taken on a hot standby lists no running transaction in the part ``pg_current_snapshot()``
shows; the cursor of a list read there must still count such a transaction as unseen, or its change,
committed later, is never re-read (``adapters/postgres/repositories/marks.py``).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.api.conftest import SignUp, attend, submit
from tests.replicas.conftest import DATABASE, Replicated, on_replica


async def _names_on_replica(client: AsyncTestClient[Any], replicated: Replicated, event_id: str) -> list[str]:
    """The public leaderboard's project names, answered by the caught-up replica (or the cache alone)."""
    board = await on_replica(client, replicated, f"/events/{event_id}/projects", {"leaderboard": "true"})
    return sorted(p["name"] for p in board)


async def test_a_transaction_running_when_the_replica_read_is_seen_once_it_commits(
    client: AsyncTestClient[Any], replicated: Replicated, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner, "Cursor Jam", leaderboard_enabled=True)
    await attend(client, owner, event)
    first = await submit(client, owner, event, "Alpha")
    second = await submit(client, owner, event, "Beta")
    # The cache holds the list, read on the replica.
    assert await _names_on_replica(client, replicated, str(event.id)) == ["Alpha", "Beta"]

    slow = await asyncpg.connect(replicated.primary.dsn(DATABASE))
    quick = await asyncpg.connect(replicated.primary.dsn(DATABASE))
    try:
        # The slow transaction takes its id first, then a quicker one (a later id) commits a change: the
        # replica knows the slow one as running, below the snapshot's xmax.
        slow_tx = slow.transaction()
        await slow_tx.start()
        await slow.fetchval("SELECT pg_catalog.txid_current()")
        await quick.execute("UPDATE projects SET name = 'Beta 2' WHERE id = $1", second["id"])
        # The list is brought up to date on the replica while the slow transaction is still running.
        assert await _names_on_replica(client, replicated, str(event.id)) == ["Alpha", "Beta 2"]
        await slow.execute("UPDATE projects SET name = 'Alpha 2' WHERE id = $1", first["id"])
        await slow_tx.commit()
    finally:
        await slow.close()
        await quick.close()

    assert await _names_on_replica(client, replicated, str(event.id)) == ["Alpha 2", "Beta 2"]
