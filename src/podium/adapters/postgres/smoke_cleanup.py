"""What ``podium smoke`` cannot remove through the API: its users, their consumed magic links and the
rate-limit counters its requests created. Everything is recognised by the smoke users' e-mail domain."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class SmokeCleanup:
    """Remove smoke-test rows (users ``…@domain`` and what hangs off them) from ``engine``'s database."""

    def __init__(self, engine: AsyncEngine, domain: str) -> None:
        self._engine = engine
        self._domain = domain

    async def client_counter_keys(self) -> set[str]:
        """The per-client rate-limit counters that exist now (the smoke removes only those it adds)."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT key FROM rate_limit_hits WHERE key LIKE '%:client:%'")
            )
            return {str(row[0]) for row in rows}

    async def remove(
        self, *, token_hashes: Collection[str], keep_client_keys: Collection[str]
    ) -> dict[str, int]:
        """Delete every user of the smoke domain (this run's and any a killed run left), the events they own
        with everything under them, their magic links and counters; one transaction. Returns the counts."""
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
                    "DELETE FROM rate_limit_hits WHERE key LIKE :pattern OR split_part(key, ':', 3) = ANY(:ids) "
                    "OR (key LIKE '%:client:%' AND NOT key = ANY(:keep))"
                ),
                {"pattern": pattern, "ids": ids, "keep": list(keep_client_keys)},
            )
            removed["rate_limit_hits"] = result.rowcount
        return removed
