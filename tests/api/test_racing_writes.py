"""PRODUCT §5 proven on real PostgreSQL, over real HTTP: racing deletes and edits (a double-clicked delete,
an edit racing a delete) are decided one after another. Exactly one delete succeeds; the others, and any
edit that lost the race, get the route's answer for a missing resource (legacy §2: 403 BAD_ACCESS on the
owner's routes); never a 5xx."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.domain.errors import BAD_ACCESS
from tests.api.conftest import EventSetup, Person, SignUp, attend, submit

RACERS = 6
ROUNDS = 3
GONE = (403, BAD_ACCESS)


async def _race(live_url: str, requests: list[tuple[str, str, Person, Any]]) -> list[tuple[int, Any]]:
    """Fire the requests at once over real HTTP, so they truly overlap in the server and the database."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=30) as http:
        calls: list[Awaitable[httpx.Response]] = [
            http.request(method, path, json=body, headers=person.headers)
            for method, path, person, body in requests
        ]
        responses = await asyncio.gather(*calls)
    answers = [(r.status_code, r.json().get("detail", r.json().get("message"))) for r in responses]
    assert all(status < 500 for status, _ in answers), answers
    return answers


async def _count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(sql), params)).scalar_one())


async def _event_with_a_voted_project(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any
) -> tuple[Person, Person, EventSetup, dict[str, Any]]:
    """The owner's event with something under every cascade: a project with a collaborator (``mate``) and
    a vote, attendance and a referral."""
    owner, mate, voter = await sign_up("Olive"), await sign_up("Max"), await sign_up("Vera")
    event = await create_event(owner, votable=True)
    for person in (owner, mate, voter):
        await attend(client, person, event, referral="A friend")
    project = await submit(client, owner, event, "Target")
    joined = await client.post(
        "/projects/join", params={"join_code": project["join_code"]}, headers=mate.headers
    )
    assert joined.status_code == 200, joined.text
    voted = await client.post(
        "/events/vote", json={"event": event.id, "projects": [project["id"]]}, headers=voter.headers
    )
    assert voted.status_code == 200, voted.text
    return owner, mate, event, project


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_racing_deletes_of_a_project_succeed_exactly_once(
    client: AsyncTestClient[Any],
    sign_up: SignUp,
    create_event: Any,
    engine: AsyncEngine,
    live_url: str,
    round_: int,
) -> None:
    owner, _, _, project = await _event_with_a_voted_project(client, sign_up, create_event)
    path = f"/projects/{project['id']}"

    answers = await _race(live_url, [("DELETE", path, owner, None)] * RACERS)

    assert Counter(answers) == {(200, "Project deleted"): 1, GONE: RACERS - 1}
    assert (await client.get(path)).status_code == 404
    for table in ("votes", "project_collaborators"):
        assert (
            await _count(engine, f"SELECT count(*) FROM {table} WHERE project_id = :p", p=project["id"]) == 0
        )


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_racing_deletes_of_an_event_succeed_exactly_once(
    client: AsyncTestClient[Any],
    sign_up: SignUp,
    create_event: Any,
    engine: AsyncEngine,
    live_url: str,
    round_: int,
) -> None:
    owner, _, event, _ = await _event_with_a_voted_project(client, sign_up, create_event)

    answers = await _race(live_url, [("DELETE", f"/events/{event.id}", owner, None)] * RACERS)

    assert Counter(answers) == {(200, "Event deleted"): 1, GONE: RACERS - 1}
    for table in ("projects", "votes", "event_attendees", "referrals"):
        assert await _count(engine, f"SELECT count(*) FROM {table} WHERE event_id = :e", e=event.id) == 0


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_edits_racing_a_project_delete_either_land_before_it_or_find_it_gone(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, live_url: str, round_: int
) -> None:
    owner, _, _, project = await _event_with_a_voted_project(client, sign_up, create_event)
    path = f"/projects/{project['id']}"
    edits = [("PUT", path, owner, {"name": f"Renamed {i}"}) for i in range(RACERS - 1)]

    answers = await _race(live_url, [*edits[:2], ("DELETE", path, owner, None), *edits[2:]])

    assert answers[2] == (200, "Project deleted")
    assert {status for status, _ in answers[:2] + answers[3:]} <= {200, 403}
    assert all(answer == GONE for answer in answers if answer[0] == 403)
    assert (await client.get(path)).status_code == 404


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_writes_racing_an_event_delete_either_land_before_it_or_find_it_gone(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, live_url: str, round_: int
) -> None:
    owner, mate, event, project = await _event_with_a_voted_project(client, sign_up, create_event)
    racers = [
        ("PUT", f"/events/{event.id}", owner, {"name": "Renamed event"}),
        ("PUT", f"/projects/{project['id']}", owner, {"name": "Renamed project"}),
        ("DELETE", f"/events/{event.id}", owner, None),
        ("DELETE", f"/projects/{project['id']}", owner, None),
        ("POST", f"/events/admin/{event.id}/remove-attendee", owner, {"user_id": mate.id}),
        ("PUT", f"/events/{event.id}", owner, {"votable": False}),
    ]

    answers = await _race(live_url, racers)

    assert answers[2] == (200, "Event deleted")
    for (method, path, _, _), answer in zip(racers, answers, strict=True):
        assert answer[0] in (200, 403), (method, path, answer)
        assert answer[0] == 200 or answer == GONE, (method, path, answer)
    assert (await client.get(f"/events/{event.id}")).status_code == 404


async def test_racing_removals_of_one_attendee_all_succeed_and_remove_it(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, engine: AsyncEngine, live_url: str
) -> None:
    owner, mate, event, _ = await _event_with_a_voted_project(client, sign_up, create_event)
    path = f"/events/admin/{event.id}/remove-attendee"

    answers = await _race(live_url, [("POST", path, owner, {"user_id": mate.id})] * RACERS)

    assert answers == [(200, "Attendee removed")] * RACERS  # idempotent, legacy §2.4
    sql = "SELECT count(*) FROM event_attendees WHERE event_id = :e AND user_id = :u"
    assert await _count(engine, sql, e=event.id, u=mate.id) == 0


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_joins_and_submissions_racing_an_event_delete_land_before_it_or_find_it_gone(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, live_url: str, round_: int
) -> None:
    owner, mate, event, project = await _event_with_a_voted_project(client, sign_up, create_event)
    newcomers = [await sign_up(f"New {i}") for i in range(2)]
    submission = {"name": "Late", "repo": "r", "image_url": "i", "demo": "d", "event_id": event.id}
    racers = [
        ("POST", "/projects/", owner, submission),
        ("POST", "/projects/", mate, submission),
        ("DELETE", f"/events/{event.id}", owner, None),
        ("POST", f"/events/attend?join_code={event.join_code}&referral=", newcomers[0], None),
        ("POST", f"/events/attend?join_code={event.join_code}&referral=x", newcomers[1], None),
        ("POST", "/events/vote", mate, {"event": event.id, "projects": [project["id"]]}),
    ]

    answers = await _race(live_url, racers)

    assert answers[2] == (200, "Event deleted")
    gone = {
        "/projects/": {(404, "Event not found")},
        "/events/attend": {(404, "Event not found")},
        "/events/vote": {(404, "Event not found"), GONE},
    }
    for (method, path, _, _), answer in zip(racers, answers, strict=True):
        if method == "DELETE":
            continue
        route = path.split("?")[0]
        if answer[0] != 200 and route != "/events/vote":
            assert answer in gone[route], (method, path, answer)
        elif route == "/events/vote":  # the collaborator's own project: refused whether or not it exists
            assert answer in {(403, "User cannot vote for their own project")} | gone[route], answer


@pytest.mark.parametrize("round_", range(ROUNDS))
async def test_joins_and_votes_racing_a_project_delete_land_before_it_or_find_it_gone(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, live_url: str, round_: int
) -> None:
    owner, _, event, project = await _event_with_a_voted_project(client, sign_up, create_event)
    others = [await sign_up(f"Other {i}") for i in range(4)]
    for person in others:
        await attend(client, person, event)
    join = f"/projects/join?join_code={project['join_code']}"
    vote = {"event": event.id, "projects": [project["id"]]}
    racers = [
        ("POST", join, others[0], None),
        ("POST", "/events/vote", others[1], vote),
        ("DELETE", f"/projects/{project['id']}", owner, None),
        ("POST", join, others[2], None),
        ("POST", "/events/vote", others[3], vote),
    ]

    answers = await _race(live_url, racers)

    assert answers[2] == (200, "Project deleted")
    for (method, path, _, _), answer in zip(racers, answers, strict=True):
        if method == "POST" and path.startswith("/projects/join"):
            assert answer in {(200, "Successfully joined project"), (404, "No project found")}, answer
        elif method == "POST":
            assert answer in {(200, "Votes recorded"), (404, "Project not found")}, answer
