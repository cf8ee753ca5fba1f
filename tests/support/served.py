"""An app served by uvicorn over real HTTP on a free loopback port, in the test's event loop (for tests
that need concurrent requests or a streaming client: the test client answers one request at a time)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from litestar import Litestar

from podium.http.protocol import HTTP_PROTOCOL


@asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """``app`` served over real HTTP on a free loopback port, in this event loop; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
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
