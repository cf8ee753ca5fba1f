"""What ``podium smoke`` cannot remove through the API: its users, their consumed magic links and their
rate-limit counters (per user and per e-mail; never per client address). Everything is recognised by the
smoke users' e-mail domain."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


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
        removed: dict[str, int] = {}
        async with self._engine.begin() as connection:
            ids = [
                str(row[0])
                for row in await connection.execute(
                    text("SELECT id FROM users WHERE email LIKE :pattern"), {"pattern": pattern}
                )
            ]
            # Events do not cascade from their owner; everything under an event cascades from it.
            result = await connection.execute(
                text("DELETE FROM events WHERE owner_id IN (SELECT id FROM users WHERE email LIKE :pattern)"),
                {"pattern": pattern},
            )
            removed["events"] = result.rowcount
            result = await connection.execute(
                text(
                    "DELETE FROM projects WHERE owner_id IN (SELECT id FROM users WHERE email LIKE :pattern)"
                ),
                {"pattern": pattern},
            )
            removed["projects"] = result.rowcount
            result = await connection.execute(
                text("DELETE FROM users WHERE email LIKE :pattern"), {"pattern": pattern}
            )
            removed["users"] = result.rowcount
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
