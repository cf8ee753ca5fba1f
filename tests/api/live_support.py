"""Helpers of the live-list tests: apps served by uvicorn on loopback, and a Server-Sent Events reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


class SSE:
    """One open stream: ``next()`` returns the next event (comments collected), ``None`` at its end."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self, within: float = 10.0) -> Message | None:
        message = Message()
        async with asyncio.timeout(within):
            async for line in self._lines:
                if line == "":
                    if message.data or message.event != "message":
                        return message
                    message = Message()
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    self.comments.append(value)
                elif name == "data":
                    message.data = value if not message.data else message.data + "\n" + value
                elif name in ("event", "id"):
                    setattr(message, name, value)
        return None

    async def next_list(self, within: float = 10.0) -> tuple[int, list[tuple[str, int]]]:
        """The next list message: its version and (name, points) rows."""
        message = await self.next(within)
        assert message is not None
        assert message.event == "message", message
        assert message.id is not None
        return int(message.id), [(p["name"], p["points"]) for p in message.json()]


@asynccontextmanager
async def stream(
    base_url: str, event_id: str, leaderboard: bool = True, headers: dict[str, str] | None = None
) -> AsyncIterator[SSE]:
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(30.0)) as http:
        params = {"leaderboard": "true" if leaderboard else "false"}
        async with http.stream(
            "GET", f"/events/{event_id}/projects/live", params=params, headers=headers
        ) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield SSE(response)
