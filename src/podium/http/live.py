"""Live project lists: every open stream of an event gets the new list moments after each change.

One :class:`LiveListings` per worker process. Its listener (one dedicated ``LISTEN`` connection, see
``adapters/postgres/notifications``) hears an event's id at the commit of every change, whoever made it,
on whichever worker or instance. For an event with open streams the change marks its feed stale; the
feed then reads the list once (through the exact listing cache: one version query, and the full list
only when it moved), at most once per ``min_interval`` per event, encodes the Server-Sent Events frame
once per version, and hands that same ``bytes`` object to every subscriber. Under ``podium serve`` it is
framed as an HTTP chunk once too, and written straight to each connection that can take it at once
(``protocol.BodyWriter``: the stream has nothing in flight, its client reads): no task wakes per stream.
Otherwise the subscriber keeps only the newest frame (a one-slot buffer) and the stream's own task sends it
when the client reads again: a slow reader skips versions instead of delaying anyone or piling up memory.

A stream whose request accepts ``deflate`` is compressed (``http/deflate``): each version's frame is
compressed once, on its own, and those same bytes go to every such stream, as do the fixed frames'
(compressed once at import); each stream only keeps the running checksum it ends with.

The listener starts with the first stream (a worker that never serves one holds no extra database
connection) and then stays until shutdown, so a projector reconnecting does not reopen it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from podium.adapters.postgres.notifications import ListingChangeListener, listen_connection
from podium.bootstrap import Container
from podium.domain.clients import client_key
from podium.domain.errors import Forbidden, NotFound, RateLimited, Unavailable
from podium.domain.services.events import LEADERBOARD_DISABLED
from podium.http.listing_cache import Listing, ProjectListingCache
from podium.http.live_frames import CLOSED, GONE, HEARTBEAT, IDLE, SHUTDOWN, Snapshot, Subscriber
from podium.http.protocol import BodyWriter

log = logging.getLogger(__name__)

TOO_MANY_STREAMS = "Too many live streams on this server, please retry shortly"
TOO_MANY_CLIENT_STREAMS = "Too many live streams from your address, close one and retry"
CLIENT_RETRY_AFTER = 5
RESTARTING = "The server is restarting, please retry shortly"
LISTENER_DOWN = "Live updates are temporarily unavailable, please retry shortly"


class TooManyStreams(Unavailable):
    """This worker already serves ``PODIUM_LIVE_MAX_STREAMS`` streams, or it is shutting down (503)."""


class ChangeListener(Protocol):
    def start(self) -> None: ...
    async def wait_listening(self, within: float) -> bool: ...
    async def close(self) -> None: ...


ListenerFactory = Callable[[Callable[[UUID], None], Callable[[], None]], ChangeListener]


@dataclass(slots=True)
class LiveSettings:
    min_interval: float = 0.1
    max_streams: int = 5000
    max_streams_per_client: int = 20
    heartbeat: float = 15.0
    idle_timeout: float = 3600.0
    listen_timeout: float = 5.0


class LiveStream:
    """The byte chunks of one stream. The subscription ends with the chunks, or, if the response never
    started reading them (the client left at once), when this object is dropped."""

    __slots__ = ("_chunks", "_leave", "_loop", "_started")

    def __init__(self, chunks: AsyncGenerator[bytes, None], leave: Callable[[], None]) -> None:
        self._chunks = chunks
        self._leave = leave
        self._started = False
        self._loop = asyncio.get_running_loop()

    def __aiter__(self) -> LiveStream:
        return self

    async def __anext__(self) -> bytes:
        self._started = True
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        await self._chunks.aclose()
        self._leave()

    def __del__(self) -> None:
        if not self._started:
            # Not from inside the collector: the registries may be mid-iteration.
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to clean
                self._loop.call_soon_threadsafe(self._leave)


@dataclass(slots=True, eq=False)
class _Feed:
    event_id: UUID
    subscribers: set[Subscriber] = field(default_factory=set)
    newest: Snapshot | None = None
    published: int = -1
    published_at: float = float("-inf")
    fanout: float = 0.0  # seconds the last message took to reach every ready stream's socket
    dirty: bool = False
    refresher: asyncio.Task[None] | None = None


class LiveListings:
    def __init__(
        self, listings: ProjectListingCache, listener: ListenerFactory, settings: LiveSettings | None = None
    ) -> None:
        self._listings = listings
        self._make_listener = listener
        self._listener: ChangeListener | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.settings = settings or LiveSettings()
        self._feeds: dict[UUID, _Feed] = {}
        self._streams = 0
        self._per_client: dict[str, int] = {}
        self._closing = False
        self._rng = random.Random()
        self.published = 0  # messages offered (one per version per event), for the benchmark
        self.written_directly = 0  # lists written to a connection by the feed, not by the stream's task

    @property
    def streams(self) -> int:
        return self._streams

    async def open(
        self,
        event_id: UUID,
        leaderboard: bool,
        last_event_id: int | None,
        client: str = "",
        writer: BodyWriter | None = None,
        deflate: bool = False,
    ) -> LiveStream:
        """A new stream of the event's list: raises like the plain listing (``NotFound``, ``Forbidden``),
        ``RateLimited`` when ``client`` (its address) already has ``max_streams_per_client`` open here, or
        ``TooManyStreams``; the returned iterator yields the SSE byte chunks until the stream ends. With
        the response's ``writer``, later lists are written through it whenever it takes them at once (so
        the iterator yields only those it declines). With ``deflate``, the body is compressed (a zlib stream,
        for ``Content-Encoding: deflate``)."""
        if self._closing:
            raise TooManyStreams(RESTARTING)
        client = client_key(client)  # one IPv6 host is one /64: a new address per stream is the same client
        if self._per_client.get(client, 0) >= self.settings.max_streams_per_client:
            raise RateLimited(TOO_MANY_CLIENT_STREAMS, CLIENT_RETRY_AFTER)
        if self._streams >= self.settings.max_streams:
            raise TooManyStreams(TOO_MANY_STREAMS)
        self._streams += 1  # reserved now: the checks below wait, and others may arrive meanwhile
        self._per_client[client] = self._per_client.get(client, 0) + 1
        feed: _Feed | None = None
        subscriber = Subscriber(leaderboard, client, writer=writer, deflate=deflate)
        try:
            if self._listener is None:
                self._listener = self._make_listener(self.notify, self.resync)
                self._ticker = asyncio.create_task(self._tick(), context=contextvars.Context())
            if not await self._listener.wait_listening(self.settings.listen_timeout):
                raise Unavailable(LISTENER_DOWN)
            # Subscribed before reading, so a change committed during the read is not missed.
            feed = self._feeds.get(event_id) or self._feeds.setdefault(event_id, _Feed(event_id))
            feed.subscribers.add(subscriber)
            snapshot = self._newer(feed, *await self._listings.current(event_id))
            if leaderboard and not snapshot.public:
                raise Forbidden(LEADERBOARD_DISABLED)
        except BaseException:
            self._leave(subscriber, feed)
            raise
        return LiveStream(
            self._messages(feed, subscriber, snapshot, last_event_id), lambda: self._leave(subscriber, feed)
        )

    def notify(self, event_id: UUID) -> None:
        """A change of the event's lists was committed (from the listener)."""
        feed = self._feeds.get(event_id)
        if feed is not None:
            self._mark(feed)

    def resync(self) -> None:
        """Changes may have been missed (the listener was away): every feed reads its list again."""
        for feed in self._feeds.values():
            self._mark(feed)

    def drain(self) -> None:
        """Shutting down: every stream ends now, cleanly; new ones are refused."""
        self._closing = True
        for feed in self._feeds.values():
            for subscriber in feed.subscribers:
                subscriber.offer(SHUTDOWN)

    async def close(self) -> None:
        self.drain()
        for feed in list(self._feeds.values()):
            if feed.refresher is not None:
                feed.refresher.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._listener is not None:
            await self._listener.close()

    async def _tick(self) -> None:
        """Heartbeats and idle timeouts of every stream from one timer, not one per stream: a stream
        sent nothing since the last tick gets a comment line; one sent no list for too long ends."""
        while True:
            await asyncio.sleep(self.settings.heartbeat)
            idle_since = time.monotonic() - self.settings.idle_timeout
            for feed in list(self._feeds.values()):
                for subscriber in feed.subscribers:
                    if subscriber.listed_at and subscriber.listed_at <= idle_since:
                        subscriber.offer(IDLE)
                    elif subscriber.wrote:
                        subscriber.wrote = False
                    else:
                        subscriber.beat()

    async def _messages(
        self, feed: _Feed, subscriber: Subscriber, snapshot: Snapshot, last_event_id: int | None
    ) -> AsyncGenerator[bytes, None]:
        try:
            yield subscriber.opening()
            if last_event_id != snapshot.version:
                yield subscriber.listed(snapshot)
            subscriber.sent = max(subscriber.sent, snapshot.version)
            subscriber.listed_at = time.monotonic()
            while True:
                item = subscriber.take()
                if item is None:
                    # Everything yielded so far is written (the response asks for the next chunk only
                    # then): until the task wakes, the feed may write to the connection directly.
                    subscriber.busy = False
                    await subscriber.wake.wait()
                    subscriber.busy = True
                elif item is HEARTBEAT:
                    yield subscriber.fixed(HEARTBEAT)
                elif isinstance(item, bytes):
                    yield subscriber.final(item)
                    return
                elif item.version > subscriber.sent:
                    subscriber.sent = item.version
                    subscriber.listed_at = time.monotonic()
                    subscriber.wrote = True
                    yield subscriber.listed(item)
        finally:
            self._leave(subscriber, feed)

    def _newer(self, feed: _Feed, listing: Listing, public: bool) -> Snapshot:
        """The feed's newest snapshot, replaced by this read if that is newer."""
        if feed.newest is None or listing.version > feed.newest.version:
            feed.newest = Snapshot(listing, public, self._rng)
        return feed.newest

    def _leave(self, subscriber: Subscriber, feed: _Feed | None) -> None:
        if subscriber.left:
            return
        subscriber.left = True
        if feed is not None and subscriber in feed.subscribers:
            feed.subscribers.discard(subscriber)
            if not feed.subscribers and self._feeds.get(feed.event_id) is feed:
                del self._feeds[feed.event_id]
                if feed.refresher is not None:
                    feed.refresher.cancel()
        self._streams -= 1
        left = self._per_client.pop(subscriber.client, 1) - 1
        if left:
            self._per_client[subscriber.client] = left

    def _mark(self, feed: _Feed) -> None:
        feed.dirty = True
        if feed.refresher is None and not self._closing:
            # A fresh context: the refresh must not use the state of the request that happened to run.
            feed.refresher = asyncio.create_task(self._refresh(feed), context=contextvars.Context())

    async def _refresh(self, feed: _Feed) -> None:
        """Read the list while it is stale, at most once per ``min_interval``, and offer it to all."""
        try:
            while feed.dirty and feed.subscribers:
                # Leading edge: a change after a quiet spell goes out at once; what follows within the
                # window shares the next message. The window stretches to twice the last fan-out, so
                # writing one event's messages keeps at most half of this worker busy however many
                # streams it serves.
                window = max(self.settings.min_interval, 2 * feed.fanout)
                wait = feed.published_at + window - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                feed.dirty = False
                try:
                    listing, public = await self._listings.current(feed.event_id)
                except NotFound:
                    self._end_all(feed, GONE)
                    return
                except Exception as exc:  # the database is away: try again, the listener will resync
                    log.warning("live list refresh failed", extra={"error": type(exc).__name__})
                    feed.dirty = True
                    await asyncio.sleep(1.0)
                    continue
                self._publish(feed, self._newer(feed, listing, public))
        finally:
            feed.refresher = None

    def _publish(self, feed: _Feed, snapshot: Snapshot) -> None:
        if snapshot.version <= feed.published:
            return
        feed.published = snapshot.version
        feed.published_at = now = time.monotonic()
        self.published += 1
        direct = 0
        for subscriber in feed.subscribers:
            if subscriber.leaderboard and not snapshot.public:
                subscriber.offer(CLOSED)
            elif snapshot.version > subscriber.sent:
                if subscriber.send_now(snapshot, now):
                    direct += 1
                else:
                    subscriber.offer(snapshot)
        self.written_directly += direct
        # Written here, or by each woken stream in its own task, all queued before this callback: when it
        # runs, every stream that was not waiting on a slow client has written the message.
        asyncio.get_running_loop().call_soon(_fanned_out, feed, feed.published_at)

    @staticmethod
    def _end_all(feed: _Feed, frame: bytes) -> None:
        for subscriber in feed.subscribers:
            subscriber.offer(frame)


def _fanned_out(feed: _Feed, published_at: float) -> None:
    feed.fanout = time.monotonic() - published_at


def live_listings(container: Container, listings: ProjectListingCache) -> LiveListings:
    """The process's live lists, listening on the container's database."""
    settings = container.settings
    connection = listen_connection(settings)

    def listener(on_change: Callable[[UUID], None], on_resync: Callable[[], None]) -> ChangeListener:
        return ListingChangeListener(
            connection,
            on_change,
            on_resync,
            connect_timeout=settings.db_connect_timeout,
            check_every=max(settings.live_heartbeat_seconds, 1.0),
        )

    return LiveListings(
        listings,
        listener,
        LiveSettings(
            min_interval=settings.live_min_interval_ms / 1000,
            max_streams=settings.live_max_streams,
            max_streams_per_client=settings.live_max_streams_per_client,
            heartbeat=settings.live_heartbeat_seconds,
            idle_timeout=settings.live_idle_timeout_seconds,
            listen_timeout=settings.db_connect_timeout,
        ),
    )
