"""What ``podium smoke`` cannot remove through the API: its users, their consumed magic links and their
rate-limit counters (per user and per e-mail; never per client address). Everything is recognised by the
smoke users' e-mail domain."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# The users Podium HEAD's E2E suite creates (its ``/events/test/cleanup`` removes exactly these).
E2E_USER_PATTERNS = (
    "test+pw%@example.com",
    "organizer+%@test.local",
    "attendee+%@test.local",
    "admin+%@test.local",
)


async def delete_users_like(connection: AsyncConnection, patterns: Collection[str]) -> dict[str, int]:
    """Delete the users whose email matches one of the LIKE ``patterns``, the events and projects they own
    with everything under them (votes, attendance, referrals and collaborations cascade); the counts."""
    removed: dict[str, int] = {}
    matching = "SELECT id FROM users WHERE email LIKE ANY(:patterns)"
    params = {"patterns": list(patterns)}
    # Events and projects do not cascade from their owner; everything under them cascades from them.
    for table in ("events", "projects"):
        result = await connection.execute(text(f"DELETE FROM {table} WHERE owner_id IN ({matching})"), params)
        removed[table] = result.rowcount
    result = await connection.execute(text("DELETE FROM users WHERE email LIKE ANY(:patterns)"), params)
    removed["users"] = result.rowcount
    return removed


class E2eTestData:
    """``E2eData`` (domain port): the rows of Podium HEAD's E2E suite, removed in one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def remove(self) -> dict[str, int]:
        async with self._engine.begin() as connection:
            return await delete_users_like(connection, E2E_USER_PATTERNS)


class SmokeCleanup:
    """Remove smoke-test rows (users ``…@domain`` and what hangs off them) from ``engine``'s database."""

    def __init__(self, engine: AsyncEngine, domain: str) -> None:
        self._engine = engine
        self._domain = domain

    async def remove(self, *, token_hashes: Collection[str]) -> dict[str, int]:
        """Delete every user of the smoke domain (this run's and any a killed run left), the events they own
        with everything under them, their magic links and their per-user and per-email counters; one
        transaction. Returns the counts.

        Per-client-address counters are left alone: the smoke's requests count for its address like any
        client's (they expire with their window), and the address may be shared — a counter that appeared
        during the run may be another client's, whose limit must not be reset (issue 22)."""
        pattern = f"%@{self._domain}"
        async with self._engine.begin() as connection:
            ids = [
                str(row[0])
                for row in await connection.execute(
                    text("SELECT id FROM users WHERE email LIKE :pattern"), {"pattern": pattern}
                )
            ]
            removed = await delete_users_like(connection, [pattern])
            result = await connection.execute(
                text("DELETE FROM consumed_magic_links WHERE token_hash = ANY(:hashes)"),
                {"hashes": list(token_hashes)},
            )
            removed["consumed_magic_links"] = result.rowcount
            result = await connection.execute(
                text(
                    "DELETE FROM rate_limit_hits WHERE key NOT LIKE '%:client:%'"
                    " AND (key LIKE :pattern OR split_part(key, ':', 3) = ANY(:ids))"
                ),
                {"pattern": pattern, "ids": ids},
            )
            removed["rate_limit_hits"] = result.rowcount
        return removed
