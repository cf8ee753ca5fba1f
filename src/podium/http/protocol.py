"""uvicorn's HTTP protocol (httptools) with a deadline on request headers, which uvicorn lacks.

uvicorn closes a keep-alive connection that stays idle between requests, but a connection that opens and
then sends nothing, or trickles a request's headers a byte at a time (slowloris), was never timed out: one
client could hold any number of connections and their buffers. Here a connection's headers must be
complete ``PODIUM_HEADER_TIMEOUT_SECONDS`` after it opened (or after the first byte of a later request on
it); otherwise it is closed. ``podium serve`` runs uvicorn with this protocol (``HTTP_PROTOCOL``).
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from podium.config import DEFAULT_HEADER_TIMEOUT_SECONDS, RANGES

#: What ``podium serve`` passes to uvicorn's ``http`` option (an import path: workers import it too).
HTTP_PROTOCOL = "podium.http.protocol:HeaderDeadlineProtocol"


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
