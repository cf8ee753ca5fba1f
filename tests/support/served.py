"""An app served by uvicorn over real HTTP on a free loopback port, in the test's event loop (for tests
that need concurrent requests or a streaming client: the test client answers one request at a time); and
the wait for a ``podium serve`` process to answer."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from bench.pg import free_port
from litestar import Litestar

from podium.http.protocol import HTTP_PROTOCOL


@asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """``app`` served over real HTTP on a free loopback port, in this event loop; yields its base URL."""
    port = free_port()
    # The protocol ``podium serve`` runs (header deadline, direct body writes of the live lists).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, http=HTTP_PROTOCOL
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> httpx.Response:
    """The first answer of ``url`` from a ``podium serve`` being started as ``process`` (which must not exit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "podium serve exited early"
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("podium serve did not answer in time")
