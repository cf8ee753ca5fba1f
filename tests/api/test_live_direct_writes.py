"""Under uvicorn with ``podium serve``'s protocol, a stream's lists after the first are written straight to
its connection by the feed (``protocol.BodyWriter``), and arrive as the same bytes over real HTTP."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from podium.http.live import LiveListings
from tests.api.conftest import SignUp, attend, submit
from tests.api.live_support import stream
from tests.support.served import served


async def test_lists_after_the_first_are_written_directly_and_read_as_usual(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    owner, alice = await sign_up("Olive"), await sign_up("Alice")
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    for person in (owner, alice):
        await attend(client, person, event)
    project = await submit(client, owner, event, "Alpha")
    app = create_app(settings)
    async with served(app) as base, stream(base, event.id) as live:
        first, board = await live.next_list()
        assert board == [("Alpha", 0)]
        hub: LiveListings = app.state.live
        assert hub.written_directly == 0  # the first list is the stream's own
        answer = await client.post(
            "/events/vote", json={"event": event.id, "projects": [project["id"]]}, headers=alice.headers
        )
        assert answer.status_code == 200, answer.text
        second, board = await live.next_list()
        assert second > first
        assert board == [("Alpha", 1)]
        assert hub.written_directly == 1
        plain = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
        assert plain.headers["etag"] == f'W/"{second}"'
