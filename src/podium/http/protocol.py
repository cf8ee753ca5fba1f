"""uvicorn's HTTP protocol (httptools) with a deadline on request headers, which uvicorn lacks.

uvicorn closes a keep-alive connection that stays idle between requests, but a connection that opens and
then sends nothing, or trickles a request's headers a byte at a time (slowloris), was never timed out: one
client could hold any number of connections and their buffers. Here a connection's headers must be
complete ``PODIUM_HEADER_TIMEOUT_SECONDS`` after it opened (or after the first byte of a later request on
it); otherwise it is closed. ``podium serve`` runs uvicorn with this protocol (``HTTP_PROTOCOL``).

It also offers each request a :class:`BodyWriter` in the ASGI scope's extensions (``DIRECT_BODY``): the
live lists write one version's bytes, framed as an HTTP chunk once, to thousands of streams from one loop,
instead of waking each stream's task to send them through the framework and uvicorn's ``send`` (which
frames and copies them again for every stream). Only while that is exactly what ``send`` would write; else
the writer declines and the caller sends through ASGI as usual. Under another server (or the test client)
the extension is absent and everything goes through ``send``; see :func:`body_writer`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from podium.config import DEFAULT_HEADER_TIMEOUT_SECONDS, RANGES

#: What ``podium serve`` passes to uvicorn's ``http`` option (an import path: workers import it too).
HTTP_PROTOCOL = "podium.http.protocol:HeaderDeadlineProtocol"

#: The extension (``scope["extensions"][DIRECT_BODY]["writer"]``, a dict as ASGI's extensions are) that
#: holds the request's :class:`BodyWriter`.
DIRECT_BODY = "podium.direct_body"


def http_chunk(body: bytes) -> bytes:
    """``body`` framed as one chunk of a ``Transfer-Encoding: chunked`` body, as uvicorn's ``send`` does."""
    return b"%x\r\n%b\r\n" % (len(body), body)


def body_writer(scope: Mapping[str, Any]) -> BodyWriter | None:
    """The request's :class:`BodyWriter`, if the server offers one."""
    writer = ((scope.get("extensions") or {}).get(DIRECT_BODY) or {}).get("writer")
    return writer if isinstance(writer, BodyWriter) else None


class BodyWriter:
    """Writes already framed chunks (:func:`http_chunk`) of one request's streaming body straight to its
    connection, synchronously. ``write`` declines (returns ``False``) unless ``send`` would write the same
    bytes at once: the response started and is chunked, not complete, the client still connected, and the
    connection's write buffer below its high-water mark (``send`` would wait for it to drain). The caller
    must not have a ``send`` of the same response in flight, or the two could reorder."""

    __slots__ = ("_cycle",)

    def __init__(self, cycle: RequestResponseCycle) -> None:
        # Weak: the cycle holds the scope that holds this writer, and no cycle of references should outlive
        # a request (it would wait for the garbage collector).
        self._cycle = weakref.ref(cycle)

    def write(self, chunk: bytes) -> bool:
        cycle = self._cycle()
        if (
            cycle is None
            or cycle.chunked_encoding is not True  # not started yet, or not a chunked body (HEAD, length)
            or cycle.response_complete
            or cycle.disconnected
            or cycle.flow.write_paused
            or cycle.transport.is_closing()
        ):
            return False
        cycle.transport.write(chunk)
        return True


@functools.cache
def header_timeout() -> float:
    """The setting, read once per process (workers inherit the environment ``podium serve`` checked)."""
    raw = os.environ.get("PODIUM_HEADER_TIMEOUT_SECONDS")
    if raw is None:
        return DEFAULT_HEADER_TIMEOUT_SECONDS
    low, high = RANGES["header_timeout_seconds"]
    return min(max(float(raw), low), high)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """Closes a connection whose request headers are not complete in time (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        cycle = self.cycle
        # Set before the application's task first runs (it was only scheduled); an upgrade has no cycle.
        if cycle is not None and cycle.scope is self.scope and not cycle.response_started:
            self.scope.setdefault("extensions", {})[DIRECT_BODY] = {"writer": BodyWriter(cycle)}

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(header_timeout(), self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
