"""A least-privilege PostgreSQL role for the admin UI (Mathesar) and operators: read and write the data
tables, nothing else — no consumed magic links (login credentials once used), no rate-limit counters,
no migration or backfill bookkeeping. The listing triggers run as their owner (migration 0004), so the
role's edits keep the cached lists exact."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

DATA_TABLES = (
    "users",
    "events",
    "projects",
    "votes",
    "referrals",
    "event_attendees",
    "project_collaborators",
)
#: Readable (the admin UI shows when an event's lists last changed), never written by hand.
READ_ONLY_TABLES = ("event_listing_versions",)
NO_ACCESS_TABLES = (
    "consumed_magic_links",
    "rate_limit_hits",
    "alembic_version",
    "backfill_written",
    "backfill_reported",
    "airtable_pending_creates",
)
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class AdminRoleError(ValueError):
    pass


async def create_admin_role(engine: AsyncEngine, name: str, password: str) -> bool:
    """Create (or, when it exists, re-grant and set the password of) the role ``name``; True if created."""
    if not _NAME.fullmatch(name):
        raise AdminRoleError(
            "the role name must be 1-63 lower-case letters, digits or _, not starting with a digit"
        )
    if name in ("postgres", "podium", "public"):
        raise AdminRoleError(f"{name!r} is reserved")
    async with engine.begin() as connection:
        database = (await connection.execute(text("SELECT current_database()"))).scalar_one()
        exists = (
            await connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
        ).first()
        # Identifiers are checked above; the password goes through quote_literal on the server.
        literal = (await connection.execute(text("SELECT quote_literal(:p)"), {"p": password})).scalar_one()
        verb = "ALTER" if exists else "CREATE"
        await connection.execute(
            text(f'{verb} ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {literal}')
        )
        await connection.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{name}"'))
        await connection.execute(text(f'GRANT USAGE ON SCHEMA public TO "{name}"'))
        await connection.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{name}"'))
        await connection.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {", ".join(DATA_TABLES)} TO "{name}"')
        )
        await connection.execute(text(f'GRANT SELECT ON {", ".join(READ_ONLY_TABLES)} TO "{name}"'))
    return not exists
