"""Live lists (issue 16): ``GET /events/{id}/projects/live`` streams the list after every change.

Every test runs on the session's real PostgreSQL; streams are read over real HTTP from uvicorn."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import EventSetup, Person, SignUp, attend, submit
from tests.api.live_support import stream
from tests.support.served import served


async def _vote(client: Any, voter: Person, event_id: str, project_id: str) -> None:
    response = await client.post(
        "/events/vote", json={"event": event_id, "projects": [project_id]}, headers=voter.headers
    )
    assert response.status_code == 200, response.text


async def _event_with_two_projects(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, **settings: Any
) -> tuple[EventSetup, list[Person], dict[str, str]]:
    owner, alice, bob = await sign_up("Olive"), await sign_up("Alice"), await sign_up("Bob")
    event = await create_event(owner, votable=True, leaderboard_enabled=True, **settings)
    for person in (owner, alice, bob):
        await attend(client, person, event)
    alpha = await submit(client, owner, event, "Alpha")
    beta = await submit(client, owner, event, "Beta")
    return event, [owner, alice, bob], {"Alpha": alpha["id"], "Beta": beta["id"]}


async def test_a_vote_through_one_instance_shows_on_a_stream_from_another(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, (_, alice, bob), ids = await _event_with_two_projects(client, sign_up, create_event)
    # ``client`` is one instance; the served app another, with its own listener and cache.
    async with served(create_app(settings)) as other, stream(other, event.id) as live:
        first, board = await live.next_list()
        assert board == [("Alpha", 0), ("Beta", 0)]
        await _vote(client, alice, event.id, ids["Beta"])
        second, board = await live.next_list()
        assert second > first
        assert board == [("Beta", 1), ("Alpha", 0)]
        await _vote(client, bob, event.id, ids["Alpha"])
        third, board = await live.next_list()
        assert third > second
        assert board == [("Alpha", 1), ("Beta", 1)]


async def test_the_stream_carries_the_same_json_as_the_plain_listing(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, _, _ = await _event_with_two_projects(client, sign_up, create_event)
    plain = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    async with served(create_app(settings)) as other, stream(other, event.id) as live:
        message = await live.next()
        assert message is not None
        assert message.json() == plain.json()
        assert plain.headers["etag"] == f'W/"{message.id}"'
    async with served(create_app(settings)) as other, stream(other, event.id, leaderboard=False) as live:
        message = await live.next()
        assert message is not None
        assert sorted(p["id"] for p in message.json()) == sorted(p["id"] for p in plain.json())


async def test_a_client_reconnecting_with_the_current_version_gets_nothing_until_the_next_change(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, (_, alice, _), ids = await _event_with_two_projects(client, sign_up, create_event)
    async with served(create_app(settings)) as base:
        async with stream(base, event.id) as live:
            version, _ = await live.next_list()
        async with stream(base, event.id, headers={"Last-Event-ID": str(version)}) as live:
            await _vote(client, alice, event.id, ids["Beta"])
            # The first list it is sent is the new one: nothing it already had came before.
            newer, board = await live.next_list()
            assert newer > version
            assert board == [("Beta", 1), ("Alpha", 0)]
        # A client that missed a change gets the current list at once.
        async with stream(base, event.id, headers={"Last-Event-ID": str(version)}) as live:
            assert await live.next_list() == (newer, [("Beta", 1), ("Alpha", 0)])


async def test_a_leaderboard_that_is_not_public_answers_the_plain_listings_403(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner)
    plain = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    async with served(create_app(settings)) as base, httpx.AsyncClient(base_url=base) as http:
        live = await http.get(f"/events/{event.id}/projects/live", params={"leaderboard": "true"})
        assert (
            (live.status_code, live.json())
            == (plain.status_code, plain.json())
            == (
                403,
                {"detail": "Leaderboard is not enabled"},
            )
        )
        missing = await http.get(
            "/events/00000000-0000-4000-8000-000000000000/projects/live", params={"leaderboard": "false"}
        )
        assert (missing.status_code, missing.json()) == (404, {"detail": "Event not found"})
        malformed = await http.get("/events/nope/projects/live", params={"leaderboard": "true"})
        assert malformed.status_code == 422
        # Judging order (leaderboard=false) needs no public leaderboard, as on the plain listing.
        async with stream(base, event.id, leaderboard=False) as live_list:
            assert (await live_list.next_list())[1] == []


async def test_a_leaderboard_closed_while_streaming_ends_the_stream_saying_so(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, (owner, _, _), _ = await _event_with_two_projects(client, sign_up, create_event)
    async with (
        served(create_app(settings)) as base,
        stream(base, event.id) as board,
        stream(base, event.id, leaderboard=False) as judging,
    ):
        await board.next_list()
        await judging.next_list()
        closed = await client.put(
            f"/events/{event.id}", json={"leaderboard_enabled": False}, headers=owner.headers
        )
        assert closed.status_code == 200
        message = await board.next()
        assert message is not None
        assert message.event == "closed"
        assert message.json() == {"detail": "Leaderboard is not enabled"}
        assert await board.next() is None  # the stream ended
        # The judging list is still public: it just gets the new version.
        assert len((await judging.next_list())[1]) == 2


async def test_streams_beyond_the_limit_get_a_clear_503(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, _, _ = await _event_with_two_projects(client, sign_up, create_event)
    limited = create_app(replace(settings, live_max_streams=2))
    async with served(limited) as base, stream(base, event.id) as one, stream(base, event.id) as two:
        await one.next_list()
        await two.next_list()
        async with httpx.AsyncClient(base_url=base) as http:
            refused = await http.get(f"/events/{event.id}/projects/live", params={"leaderboard": "true"})
        assert refused.status_code == 503
        assert refused.json() == {"detail": "Too many live streams on this server, please retry shortly"}
        assert refused.headers["retry-after"] == "5"


async def test_one_client_cannot_take_every_stream(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    """Issue 22 item 5: streams are counted per client address too (an IPv6 client is its /64); one past
    its share is a 429 for that client only, and a stream it closes gives the place back."""
    event, _, _ = await _event_with_two_projects(client, sign_up, create_event)
    limited = create_app(replace(settings, live_max_streams=10, live_max_streams_per_client=2))
    path, params = f"/events/{event.id}/projects/live", {"leaderboard": "true"}
    async with served(limited) as base:
        async with stream(base, event.id) as one, stream(base, event.id) as two:
            await one.next_list()
            await two.next_list()
            async with httpx.AsyncClient(base_url=base) as http:
                refused = await http.get(path, params=params)
            assert refused.status_code == 429
            assert refused.json() == {
                "detail": "Too many live streams from your address, close one and retry"
            }
            assert refused.headers["retry-after"] == "5"
            # Another client (another loopback address) still gets one.
            other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            async with (
                httpx.AsyncClient(base_url=base, transport=other, timeout=30.0) as http,
                http.stream("GET", path, params=params) as response,
            ):
                assert response.status_code == 200
        async with stream(base, event.id) as again:  # the first client's streams closed: room again
            await again.next_list()
        # One IPv6 host is its /64 (through a proxy it names, as uvicorn trusts 127.0.0.1): a new address
        # per stream does not pass the cap; the next /64 is another client.
        v6 = [{"X-Forwarded-For": f"2001:db8:1:2::{n}"} for n in (1, 2, 3)]
        async with stream(base, event.id, headers=v6[0]) as one, stream(base, event.id, headers=v6[1]) as two:
            await one.next_list()
            await two.next_list()
            async with (
                httpx.AsyncClient(base_url=base) as http,
                http.stream("GET", path, params=params, headers=v6[2]) as refused,
            ):
                assert refused.status_code == 429
            async with stream(base, event.id, headers={"X-Forwarded-For": "2001:db8:1:3::1"}) as other_64:
                await other_64.next_list()


async def test_an_idle_stream_gets_heartbeats_then_ends(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, _, _ = await _event_with_two_projects(client, sign_up, create_event)
    quiet = create_app(replace(settings, live_heartbeat_seconds=0.1, live_idle_timeout_seconds=1))
    async with served(quiet) as base, stream(base, event.id) as live:
        await live.next_list()
        assert await live.next() is None  # ended by the idle timeout
        assert "keep-alive" in live.comments
        assert live.comments[-1] == "idle timeout, reconnect"


async def test_changes_are_coalesced_to_one_message_per_interval(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, _, ids = await _event_with_two_projects(client, sign_up, create_event)
    voters = [await sign_up(f"Voter{n}") for n in range(6)]
    for voter in voters:
        await attend(client, voter, event)
    slow = create_app(replace(settings, live_min_interval_ms=3000))
    async with served(slow) as base, stream(base, event.id) as live:
        await live.next_list()
        for voter in voters:
            await _vote(client, voter, event.id, ids["Alpha"])
        messages = 0
        points = 0
        while points < len(voters):
            _, board = await live.next_list(within=30)
            messages += 1
            points = sum(p for _, p in board)
        # The first vote goes out at once; the rest arrive within the interval and share one message.
        assert messages <= 2


async def test_a_deleted_event_ends_its_streams_saying_so(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    event, (owner, _, _), _ = await _event_with_two_projects(client, sign_up, create_event)
    async with served(create_app(settings)) as base, stream(base, event.id, leaderboard=False) as live:
        await live.next_list()
        deleted = await client.delete(f"/events/{event.id}", headers=owner.headers)
        assert deleted.status_code == 200
        message = await live.next()
        assert message is not None
        assert (message.event, message.json()) == ("gone", {"detail": "Event not found"})
        assert await live.next() is None
