"""The listing-change notifications of migration 0004, heard on one dedicated connection per process.

The triggers ``NOTIFY podium_listings, '<event uuid>'`` at the commit of every change to an event's lists,
whoever makes it. :class:`ListingChangeListener` keeps one asyncpg connection (not a pooled one: a
``LISTEN`` lives as long as its session) listening on that channel and hands each event id to
``on_change``. When the connection is lost — a database restart, a killed backend, a network cut found
by the periodic check — it reconnects by itself with a growing, jittered delay, and once listening again
calls ``on_resync``: notifications sent while it was away are lost, so whoever relies on them re-reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import asyncpg

from podium.adapters.postgres.urls import parse_database_url
from podium.config import Settings

CHANNEL = "podium_listings"

log = logging.getLogger(__name__)


def listen_connection(settings: Settings) -> dict[str, Any]:
    """asyncpg ``connect()`` arguments of the session that listens: on ``PODIUM_DATABASE_DIRECT_URL``
    (a ``LISTEN`` needs a session of its own, which a transaction-mode pooler does not keep)."""
    setting = "PODIUM_DATABASE_DIRECT_URL" if settings.database_direct_url else "PODIUM_DATABASE_URL"
    url = settings.direct_database_url
    if not url:
        raise ValueError("no database URL to listen on")
    return parse_database_url(url, setting).connect_kwargs(
        connect_timeout=settings.db_connect_timeout, application_name="podium-listen"
    )


class ListingChangeListener:
    def __init__(
        self,
        connection: Mapping[str, Any],
        on_change: Callable[[UUID], None],
        on_resync: Callable[[], None],
        *,
        connect_timeout: float = 5.0,
        check_every: float = 15.0,
        backoff: tuple[float, float] = (0.05, 5.0),
    ) -> None:
        self._connection = dict(connection)
        self._on_change = on_change
        self._on_resync = on_resync
        self._connect_timeout = connect_timeout
        self._check_every = check_every
        self._backoff = backoff
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.reconnects = 0  # how many times it listened again after losing the connection

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def start(self) -> None:
        if self._task is None:
            # A fresh context: started from inside a request, it must not inherit that request's state
            # (its shared database connection among others).
            self._task = asyncio.create_task(self._run(), name="podium-listen", context=contextvars.Context())

    async def wait_listening(self, within: float) -> bool:
        """True once ``LISTEN`` is active (changes committed from then on will be heard)."""
        self.start()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._listening.wait()
        return self._listening.is_set()

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._backoff[0]
        first = True
        while not self._closing:
            connection = await self._connect()
            if connection is None:
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, self._backoff[1])
                continue
            delay = self._backoff[0]
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
            try:
                self._listening.set()
                if not first:
                    self.reconnects += 1
                    log.warning("listening for listing changes again after a lost connection")
                    self._on_resync()
                first = False
                await self._watch(connection, lost)
            finally:
                self._listening.clear()
                connection.terminate()

    async def _connect(self) -> asyncpg.Connection | None:
        try:
            connection = await asyncpg.connect(**{**self._connection, "timeout": self._connect_timeout})
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot listen for listing changes yet", extra={"error": type(exc).__name__})
            return None
        try:
            await connection.add_listener(CHANNEL, self._notified)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot listen for listing changes yet", extra={"error": type(exc).__name__})
            connection.terminate()
            return None
        return connection

    async def _watch(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection is lost; a periodic query finds one that died silently."""
        while not connection.is_closed():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_every):
                    await lost.wait()
                return
            try:
                await connection.execute("SELECT 1", timeout=self._connect_timeout)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event_id = UUID(payload)
        except ValueError:
            return  # not ours: anyone may NOTIFY on any channel
        self._on_change(event_id)
