"""Live lists compressed (``Content-Encoding: deflate``) when the request accepts it, read over real HTTP:
the same messages as an uncompressed stream's, through the stream's task and the direct writes alike, and
a zlib stream whose checksum verifies when it ends."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from podium.http.live import LiveListings
from tests.api.conftest import SignUp, attend, submit
from tests.support.served import served


class Raw:
    """One stream read as its raw body (no decoding by httpx), inflated here when it is compressed."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.deflated = response.headers.get("content-encoding") == "deflate"
        self.inflater = zlib.decompressobj() if self.deflated else None
        self._raw: AsyncIterator[bytes] = response.aiter_raw()
        self._text = b""

    async def next(self) -> bytes | None:
        """The next message (its bytes, up to and including the blank line), ``None`` at the end."""
        async with asyncio.timeout(10):
            while b"\n\n" not in self._text:
                chunk = await anext(self._raw, None)
                if chunk is None:
                    return None
                self._text += self.inflater.decompress(chunk) if self.inflater else chunk
        message, _, self._text = self._text.partition(b"\n\n")
        return message + b"\n\n"


async def test_a_deflate_stream_carries_the_identity_streams_messages_and_ends_verified(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    owner, *voters = [await sign_up(name) for name in ("Olive", "Alice", "Bob", "Carol")]
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    for person in (owner, *voters):
        await attend(client, person, event)
    projects = [await submit(client, owner, event, name) for name in ("Alpha", "Beta")]
    app = create_app(settings)
    path, params = f"/events/{event.id}/projects/live", {"leaderboard": "true"}
    accepts = {
        "deflate": "gzip, deflate, br, zstd",  # what Chromium sends
        "identity": "identity",
        "refused": "gzip, deflate;q=0",
        "starred": "br;q=1, *;q=0.5",  # deflate not named, but anything is acceptable
    }
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=30.0) as http:
        requests = [
            http.stream("GET", path, params=params, headers={"Accept-Encoding": value})
            for value in accepts.values()
        ]
        responses = [await request.__aenter__() for request in requests]
        try:
            streams = dict(zip(accepts, (Raw(response) for response in responses), strict=True))
            for name, stream in streams.items():
                assert stream.response.status_code == 200
                assert stream.response.headers["vary"] == "Accept-Encoding"
                assert stream.deflated == (name in ("deflate", "starred")), name
            hub: LiveListings = app.state.live
            for n in range(len(voters) + 1):
                if n:
                    answer = await client.post(
                        "/events/vote",
                        json={"event": event.id, "projects": [projects[n % 2]["id"]]},
                        headers=voters[n - 1].headers,
                    )
                    assert answer.status_code == 200, answer.text
                messages = [await stream.next() for stream in streams.values()]
                if not n:  # the opening retry line, then the first list
                    assert messages[0] == b"retry: 2000\n\n"
                    assert len(set(messages)) == 1
                    messages = [await stream.next() for stream in streams.values()]
                assert messages[0] is not None
                assert messages[0].startswith(b"id: ")
                assert len(set(messages)) == 1, messages
            # The lists after the first went straight to the connections (all four streams were ready).
            assert hub.written_directly == 4 * len(voters)
            closed = await client.put(
                f"/events/{event.id}", json={"leaderboard_enabled": False}, headers=owner.headers
            )
            assert closed.status_code == 200
            endings = [await stream.next() for stream in streams.values()]
            assert endings[0] == b'event: closed\ndata: {"detail":"Leaderboard is not enabled"}\n\n'
            assert len(set(endings)) == 1
            assert [await stream.next() for stream in streams.values()] == [None] * 4
            for stream in streams.values():
                if stream.inflater is not None:
                    # The final block and the Adler-32 of everything, which zlib checked.
                    assert stream.inflater.eof
                    assert stream.inflater.unused_data == b""
        finally:
            for request in requests:
                await request.__aexit__(None, None, None)
