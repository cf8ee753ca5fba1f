"""What a live stream is sent: the Server-Sent Events frames, one version's frames built once for every
stream (plain, compressed, framed as an HTTP chunk), and each stream's one-slot buffer (:class:`Subscriber`),
which also keeps a compressed stream's running checksum. ``live`` fans these out."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import msgspec

from podium.domain.services.events import EVENT_NOT_FOUND, LEADERBOARD_DISABLED
from podium.http.deflate import ADLER_START, HEADER, Piece, adler32_combine, piece, trailer
from podium.http.listing_cache import Listing
from podium.http.protocol import BodyWriter, http_chunk

RETRY_MS = 2000  # how long a browser's EventSource waits before reconnecting after a stream ends

OPENING = f"retry: {RETRY_MS}\n\n".encode()
HEARTBEAT = b": keep-alive\n\n"


def _event(name: str, detail: str) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + msgspec.json.encode({"detail": detail}) + b"\n\n"


CLOSED = _event("closed", LEADERBOARD_DISABLED)  # the leaderboard stopped being public
GONE = _event("gone", EVENT_NOT_FOUND)  # the event was deleted
SHUTDOWN = b": server shutting down, reconnect\n\n"
IDLE = b": idle timeout, reconnect\n\n"
# Every fixed frame compressed once, for the streams that accept deflate.
FIXED = {frame: piece(frame) for frame in (OPENING, HEARTBEAT, CLOSED, GONE, SHUTDOWN, IDLE)}
OPENING_DEFLATED = HEADER + FIXED[OPENING].data  # a compressed stream's first bytes


class Snapshot:
    """One version of an event's list, with its frames built once, on first use, for every stream."""

    __slots__ = ("_board", "_chunks", "_pieces", "_rng", "_shuffled", "listing", "public", "version")

    def __init__(self, listing: Listing, public: bool, rng: random.Random) -> None:
        self.listing = listing
        self.version = listing.version
        self.public = public
        self._rng = rng
        self._board: bytes | None = None
        self._shuffled: bytes | None = None
        self._chunks: dict[tuple[bool, bool], bytes] = {}
        self._pieces: dict[bool, Piece] = {}

    def chunk(self, leaderboard: bool, deflate: bool) -> bytes:
        """The frame (compressed or not) framed as an HTTP chunk, for ``BodyWriter``: built once per
        version."""
        chunk = self._chunks.get((leaderboard, deflate))
        if chunk is None:
            body = self.piece(leaderboard).data if deflate else self.frame(leaderboard)
            chunk = self._chunks[leaderboard, deflate] = http_chunk(body)
        return chunk

    def piece(self, leaderboard: bool) -> Piece:
        """The frame compressed on its own: once per version, for every stream that accepts deflate."""
        compressed = self._pieces.get(leaderboard)
        if compressed is None:
            compressed = self._pieces[leaderboard] = piece(self.frame(leaderboard))
        return compressed

    def frame(self, leaderboard: bool) -> bytes:
        if leaderboard:
            if self._board is None:
                self._board = self._encode(self.listing.board)
            return self._board
        if self._shuffled is None:
            # The judging order is random, as on the plain listing: shuffled once per version.
            self._shuffled = self._encode(self.listing.shuffled(self._rng))
        return self._shuffled

    def _encode(self, body: bytes) -> bytes:
        return b"id: %d\ndata: " % self.version + body + b"\n\n"


@dataclass(slots=True, eq=False)
class Subscriber:
    leaderboard: bool
    client: str = ""  # its address: streams are counted per client too
    sent: int = -1  # the version the client has
    left: bool = False
    listed_at: float = 0.0  # when it was last sent a list (the idle timeout counts from there)
    wrote: bool = False  # sent a list since the last heartbeat tick
    latest: Snapshot | bytes | None = None  # newest undelivered snapshot, or a final frame
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    writer: BodyWriter | None = None  # writes to the connection directly (under ``podium serve``)
    busy: bool = True  # the stream's task is sending (or has not reached its loop): nothing direct
    deflate: bool = False  # the body is a zlib stream of the compressed frames (Content-Encoding: deflate)
    adler: int = ADLER_START  # the Adler-32 of every frame sent so far, when compressed

    def offer(self, item: Snapshot | bytes) -> None:
        if isinstance(self.latest, bytes) and self.latest is not HEARTBEAT:
            return  # a final frame stays final
        self.latest = item
        self.wake.set()

    def send_now(self, snapshot: Snapshot, now: float) -> bool:
        """Writes the snapshot straight to the connection if it can take it at once and nothing of this
        stream's is in flight or final; else returns ``False`` (then ``offer`` it)."""
        writer = self.writer
        if writer is None or self.busy or (isinstance(self.latest, bytes) and self.latest is not HEARTBEAT):
            return False
        if not writer.write(snapshot.chunk(self.leaderboard, self.deflate)):
            return False
        if self.deflate:
            self._sent(snapshot.piece(self.leaderboard))
        self.sent = snapshot.version  # an older snapshot still in the slot is skipped by the task
        self.listed_at = now
        self.wrote = True
        return True

    def beat(self) -> None:
        """A heartbeat, unless something else is about to be written anyway."""
        if self.latest is None:
            self.latest = HEARTBEAT
            self.wake.set()

    def take(self) -> Snapshot | bytes | None:
        item, self.latest = self.latest, None
        self.wake.clear()
        return item

    def opening(self) -> bytes:
        if not self.deflate:
            return OPENING
        self._sent(FIXED[OPENING])
        return OPENING_DEFLATED

    def fixed(self, frame: bytes) -> bytes:
        """A fixed frame as this stream sends it (compressed once at import, when it is compressed)."""
        if not self.deflate:
            return frame
        self._sent(FIXED[frame])
        return FIXED[frame].data

    def final(self, frame: bytes) -> bytes:
        """The stream's last frame: a compressed body then ends, with the checksum of all it carried."""
        body = self.fixed(frame)
        return body + trailer(self.adler) if self.deflate else body

    def listed(self, snapshot: Snapshot) -> bytes:
        if not self.deflate:
            return snapshot.frame(self.leaderboard)
        compressed = snapshot.piece(self.leaderboard)
        self._sent(compressed)
        return compressed.data

    def _sent(self, compressed: Piece) -> None:
        self.adler = adler32_combine(self.adler, compressed.adler, compressed.size)
