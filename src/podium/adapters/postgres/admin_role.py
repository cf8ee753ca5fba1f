"""A least-privilege PostgreSQL role for the admin UI (Mathesar) and operators: read and write the data
tables, nothing else — no consumed magic links (login credentials once used), no rate-limit counters,
no migration or backfill bookkeeping, no column that is a privilege (``users.is_superadmin``, read, never
written, and migration 0009's trigger refuses it to any role but the owner's anyway;
``events.feature_flags_csv``, which puts an event into an official series), and no function
(the listing triggers run as their owner, migrations 0004/0009, so the role's edits keep the cached lists
exact without the role calling anything). The grants are the table in docs/cutover.md."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

DATA_TABLES = (
    "users",
    "events",
    "projects",
    "votes",
    "referrals",
    "event_attendees",
    "project_collaborators",
)
#: Readable (the admin UI shows when an event's lists last changed), never written by hand: the triggers
#: of migrations 0004 and 0015 write them.
READ_ONLY_TABLES = ("event_listing_versions", "listing_marks")
NO_ACCESS_TABLES = (
    "consumed_magic_links",
    "rate_limit_hits",
    "alembic_version",
    "backfill_written",
    "backfill_reported",
    "airtable_pending_creates",
)
#: Columns of the data tables the role reads but never writes: each one is a privilege in the application
#: (app superadmin; an event's official series: listed, joined without a code, in the series' PII export).
PRIVILEGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("is_superadmin",),
    "events": ("feature_flags_csv",),
}
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
        # Revoking a table's privileges revokes its columns' too: a re-run starts from nothing.
        await connection.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{name}"'))
        await connection.execute(text(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{name}"'))
        await connection.execute(text(f'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM "{name}"'))
        whole = [table for table in DATA_TABLES if table not in PRIVILEGE_COLUMNS]
        await connection.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {", ".join(whole)} TO "{name}"')
        )
        for table, kept in PRIVILEGE_COLUMNS.items():
            columns = ", ".join(
                f'"{column}"' for column in await _columns(connection, table) if column not in kept
            )
            await connection.execute(text(f'GRANT SELECT, DELETE ON {table} TO "{name}"'))
            await connection.execute(
                text(f'GRANT INSERT ({columns}), UPDATE ({columns}) ON {table} TO "{name}"')
            )
        await connection.execute(text(f'GRANT SELECT ON {", ".join(READ_ONLY_TABLES)} TO "{name}"'))
    return not exists


async def _columns(connection: AsyncConnection, table: str) -> list[str]:
    rows = await connection.execute(
        text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ),
        {"t": f"public.{table}"},
    )
    return list(rows.scalars())
