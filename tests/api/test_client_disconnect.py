"""A client that hangs up mid-body is not a server error: no traceback, no 'unhandled' count."""

from __future__ import annotations

import asyncio
import logging

import pytest


async def test_a_body_cut_off_by_the_client_is_logged_quietly(
    live_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = live_url.removeprefix("http://").split(":")
    caplog.set_level(logging.INFO, logger="podium.http")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /users/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"email": '
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        if any("client disconnected" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.02)
    messages = [r.getMessage() for r in caplog.records]
    assert "client disconnected before its request body arrived" in messages
    assert "unhandled error" not in messages
