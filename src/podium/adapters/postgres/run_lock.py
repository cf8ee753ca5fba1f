"""One bulk write at a time per database: ``podium backfill``, ``podium airtable write-back``,
``podium db restore`` and ``podium db upgrade|downgrade`` each hold a PostgreSQL advisory lock on their own
session for the whole run. A second run sees it at once and refuses, naming the run that holds it (its
command, pid, user and host travel in the session's ``application_name``; its start time is the
session's). The lock ends with the session, so a killed run never leaves it behind.

Dry runs write nothing and take no lock; they only say when a run holds it (their numbers may change).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.adapters.postgres.database import create_engine
from podium.config import Settings

# pg_try_advisory_lock(int4, int4): a namespace ("podi" in ASCII) and the one lock of the bulk writers.
LOCK_NAMESPACE = 0x706F6469
BULK_WRITE = 1
PREFIX = "podium-run"
APPLICATION_NAME_LIMIT = 63  # PostgreSQL truncates longer names (NAMEDATALEN - 1)


@dataclass(frozen=True, slots=True)
class Holder:
    """The run holding the lock, as its database session describes it."""

    command: str
    pid: str
    who: str
    started: dt.datetime | None
    session_pid: int

    def describe(self, now: dt.datetime | None = None) -> str:
        since = ""
        if self.started is not None:
            started = self.started.astimezone(dt.UTC)
            minutes = int(((now or dt.datetime.now(dt.UTC)) - started).total_seconds() // 60)
            since = f", running since {started:%Y-%m-%d %H:%M:%S} UTC ({minutes} min)"
        who = f" by {self.who}" if self.who else ""
        process = f"pid {self.pid}" if self.pid else f"database session {self.session_pid}"
        return f"`podium {self.command}` ({process}{who}{since})"


class RunInProgress(Exception):
    """Another run holds the bulk-write lock of this database; nothing was done."""

    def __init__(self, holder: Holder | None, command: str) -> None:
        running = holder.describe() if holder is not None else "another run (its session is not visible)"
        super().__init__(
            f"{running} is writing to this database, so `podium {command}` did nothing: wait for it "
            "to finish (or stop it), then run this again."
        )
        self.holder = holder


def application_name(command: str) -> str:
    """``podium-run <command> <pid> <user>@<host>``, as much as PostgreSQL keeps."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    name = f"{PREFIX} {command.replace(' ', '_')} {os.getpid()} {user}@{socket.gethostname()}"
    return name.encode("ascii", "replace").decode()[:APPLICATION_NAME_LIMIT]


_HOLDER = text(
    "SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = :namespace AND l.objid = :key AND l.objsubid = 2"
)


async def _holder(connection: AsyncConnection) -> Holder | None:
    row = (await connection.execute(_HOLDER, {"namespace": LOCK_NAMESPACE, "key": BULK_WRITE})).first()
    await connection.commit()
    if row is None:
        return None
    parts = (row.application_name or "").split(" ")
    if len(parts) >= 3 and parts[0] == PREFIX:
        command, pid, who = parts[1].replace("_", " "), parts[2], " ".join(parts[3:])
    else:
        command, pid, who = "(unknown command)", "", ""
    return Holder(command, pid, who, row.backend_start, int(row.pid))


@asynccontextmanager
async def bulk_write_lock(settings: Settings, url: str, command: str) -> AsyncIterator[None]:
    """Hold the database's bulk-write lock while the block runs; :class:`RunInProgress` if another
    run holds it (at once: a second run never waits silently)."""
    engine = create_engine(settings, url)
    try:
        async with engine.connect() as connection:
            await connection.execute(
                text("SELECT set_config('application_name', :name, false)"),
                {"name": application_name(command)},
            )
            taken = (
                await connection.execute(
                    text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                    {"namespace": LOCK_NAMESPACE, "key": BULK_WRITE},
                )
            ).scalar_one()
            # A session lock outlives the transaction: commit so the session idles outside one.
            await connection.commit()
            if not taken:
                raise RunInProgress(await _holder(connection), command)
            yield  # the lock ends with the session, closed below whatever happened
    finally:
        await engine.dispose()


async def running_run(settings: Settings, url: str) -> Holder | None:
    """The run holding the bulk-write lock now, if any (for dry runs, which take no lock)."""
    engine = create_engine(settings, url)
    try:
        async with engine.connect() as connection:
            return await _holder(connection)
    finally:
        await engine.dispose()


async def serving_sessions(settings: Settings, url: str) -> int:
    """Other sessions of the API on this database (``application_name`` ``podium`` or
    ``podium-listen``, as :func:`~podium.adapters.postgres.database.create_engine` and the live hub set
    it): non-zero while ``podium serve`` (or a command's engine) is connected."""
    engine = create_engine(settings, url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT set_config('application_name', 'podium-check', false)"))
            count = (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND application_name IN ('podium', 'podium-listen') AND pid <> pg_backend_pid()"
                    )
                )
            ).scalar_one()
            return int(count)
    finally:
        await engine.dispose()
