"""Who may do what: every operation × every kind of caller, and no personal data in public responses."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
from podium.domain.services.superadmin import SuperadminService
from tests.api.conftest import EventSetup, Person, SignUp, attend, mint, submit
from tests.support.openapi import operations_of

Client = AsyncTestClient[Any]

# A superadmin (issue 15) is granted from the command line only; they pass every event-owner check.
ROLES = ("anonymous", "stranger", "attendee", "collaborator", "project owner", "event owner", "superadmin")
_fresh = itertools.count(1)


@dataclass
class Scene:
    """An event (voting and leaderboard open) with one project, and one person in each role."""

    event: EventSetup
    project: dict[str, Any]
    people: dict[str, Person]


@pytest.fixture
async def scene(client: Client, sign_up: SignUp, create_event: Any, engine: AsyncEngine) -> Scene:
    people = {role: await sign_up(role.title().replace(" ", "")) for role in ROLES[1:]}
    # What ``podium admin grant`` does: the same use-case, on the test's own engine.
    assert await SuperadminService(SqlAlchemyUnitOfWorkFactory(engine)).set_superadmin(
        people["superadmin"].email, True
    )
    event = await create_event(
        people["event owner"], votable=True, leaderboard_enabled=True, demo_links_optional=True
    )
    for role in ("attendee", "collaborator", "project owner"):
        await attend(client, people[role], event, f"from {role}")
    project = await submit(client, people["project owner"], event, "The Project")
    joined = await client.post(
        "/projects/join", params={"join_code": project["join_code"]}, headers=people["collaborator"].headers
    )
    assert joined.status_code == 200, joined.text
    return Scene(event, project, people)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str] | None = None
    body: Any = None


# Each operation: how to call it as a given person (None when anonymous), and the status each role gets.
# Roles are tried in ROLES order, so a destructive call by its rightful caller comes last.
Build = Callable[[Scene, Person | None], Call]


def _email(scene: Scene, who: Person | None) -> str:
    return (who or scene.people["project owner"]).email


def _check_body(scene: Scene) -> dict[str, Any]:
    return {"id": scene.project["id"], "name": "n", "repo": "r", "image_url": "i", "demo": "d",
            "description": "", "points": 0}  # fmt: skip


def _statuses(anonymous: int, stranger: int, attendee: int, collaborator: int, project_owner: int,
              event_owner: int, superadmin: int) -> dict[str, int]:  # fmt: skip
    return dict(
        zip(
            ROLES,
            (anonymous, stranger, attendee, collaborator, project_owner, event_owner, superadmin),
            strict=True,
        )
    )


ALL_200 = _statuses(200, 200, 200, 200, 200, 200, 200)
ANY_USER = _statuses(401, 200, 200, 200, 200, 200, 200)
EVENT_OWNER_ONLY = _statuses(401, 403, 403, 403, 403, 200, 200)
PROJECT_OWNER_ONLY = _statuses(401, 403, 403, 403, 200, 403, 403)
SUPERADMIN_ONLY = _statuses(401, 403, 403, 403, 403, 403, 200)

OPERATIONS: dict[str, tuple[Build, dict[str, int]]] = {
    # auth
    "POST /request-login": (
        lambda s, who: Call("POST", "/request-login", {"redirect": ""}, {"email": _email(s, who)}),
        ALL_200,
    ),
    "GET /verify": (
        lambda s, who: Call("GET", "/verify", {"token": mint(_email(s, who), "magic_link", minutes=next(_fresh))}),
        ALL_200,
    ),
    # users
    "GET /users/exists": (lambda s, who: Call("GET", "/users/exists", {"email": "x@test.local"}), ALL_200),
    "GET /users/current": (lambda s, who: Call("GET", "/users/current"), ANY_USER),
    "PUT /users/current": (lambda s, who: Call("PUT", "/users/current", body={"last_name": "Changed"}), ANY_USER),
    "GET /users/{user_id}": (lambda s, who: Call("GET", f"/users/{s.people['project owner'].id}"), ALL_200),
    "POST /users/": (
        lambda s, who: Call("POST", "/users/", body={"email": f"new{next(_fresh)}@example.com", "first_name": "N"}),
        ALL_200,
    ),
    # events
    "GET /events/{event_id}": (lambda s, who: Call("GET", f"/events/{s.event.id}"), ALL_200),
    "PUT /events/{event_id}": (lambda s, who: Call("PUT", f"/events/{s.event.id}", body={"name": "Mine"}), EVENT_OWNER_ONLY),
    # The superadmin, tried last, finds the event its owner just deleted gone (a superadmin's own delete of
    # someone else's event: ``test_organiser_tools``).
    "DELETE /events/{event_id}": (
        lambda s, who: Call("DELETE", f"/events/{s.event.id}"), {**EVENT_OWNER_ONLY, "superadmin": 403}
    ),
    "GET /events/": (lambda s, who: Call("GET", "/events/"), ANY_USER),
    "POST /events/": (lambda s, who: Call("POST", "/events/", body={"name": f"Another {next(_fresh)}"}), ANY_USER),
    "POST /events/attend": (
        lambda s, who: Call("POST", "/events/attend", {"join_code": s.event.join_code, "referral": "x"}),
        _statuses(401, 200, 400, 400, 400, 200, 200),
    ),
    "POST /events/vote": (
        lambda s, who: Call("POST", "/events/vote", body={"event": s.event.id, "projects": [s.project["id"]]}),
        _statuses(401, 403, 200, 403, 403, 403, 403),
    ),
    "GET /events/{event_id}/projects": (
        lambda s, who: Call("GET", f"/events/{s.event.id}/projects", {"leaderboard": "true"}),
        ALL_200,
    ),
    "GET /events/id/{slug}": (lambda s, who: Call("GET", f"/events/id/{s.event.slug}"), ALL_200),
    # the organiser's admin views
    "GET /events/admin/{event_id}": (lambda s, who: Call("GET", f"/events/admin/{s.event.id}"), EVENT_OWNER_ONLY),
    "GET /events/admin/{event_id}/attendees": (
        lambda s, who: Call("GET", f"/events/admin/{s.event.id}/attendees"),
        EVENT_OWNER_ONLY,
    ),
    "POST /events/admin/{event_id}/remove-attendee": (
        lambda s, who: Call(
            "POST", f"/events/admin/{s.event.id}/remove-attendee", body={"user_id": s.people["attendee"].id}
        ),
        EVENT_OWNER_ONLY,
    ),
    "GET /events/admin/{event_id}/leaderboard": (
        lambda s, who: Call("GET", f"/events/admin/{s.event.id}/leaderboard"),
        EVENT_OWNER_ONLY,
    ),
    "GET /events/admin/{event_id}/votes": (
        lambda s, who: Call("GET", f"/events/admin/{s.event.id}/votes"),
        EVENT_OWNER_ONLY,
    ),
    "GET /events/admin/{event_id}/referrals": (
        lambda s, who: Call("GET", f"/events/admin/{s.event.id}/referrals"),
        EVENT_OWNER_ONLY,
    ),
    # projects
    "GET /projects/mine": (lambda s, who: Call("GET", "/projects/mine"), ANY_USER),
    "POST /projects/": (
        lambda s, who: Call(
            "POST", "/projects/", body={"name": "New", "repo": "r", "image_url": "i", "event_id": s.event.id}
        ),
        _statuses(401, 403, 200, 200, 200, 403, 403),
    ),
    "POST /projects/join": (
        lambda s, who: Call("POST", "/projects/join", {"join_code": s.project["join_code"]}),
        _statuses(401, 403, 200, 400, 400, 403, 403),
    ),
    "PUT /projects/{project_id}": (
        lambda s, who: Call("PUT", f"/projects/{s.project['id']}", body={"name": "Taken over"}),
        PROJECT_OWNER_ONLY,
    ),
    "DELETE /projects/{project_id}": (
        lambda s, who: Call("DELETE", f"/projects/{s.project['id']}"),
        PROJECT_OWNER_ONLY,
    ),
    "GET /projects/{project_id}": (lambda s, who: Call("GET", f"/projects/{s.project['id']}"), ALL_200),
    # Public, but the review service is not configured in tests (PRODUCT §3.20).
    "POST /projects/check/start": (
        lambda s, who: Call("POST", "/projects/check/start", body=_check_body(s)),
        _statuses(503, 503, 503, 503, 503, 503, 503),
    ),
    "GET /projects/check/{check_id}": (
        lambda s, who: Call("GET", "/projects/check/abc"),
        _statuses(503, 503, 503, 503, 503, 503, 503),
    ),
    # The organiser tools of issue 15.
    "PATCH /events/admin/{event_id}": (
        lambda s, who: Call("PATCH", f"/events/admin/{s.event.id}", body={"phase": "voting"}),
        EVENT_OWNER_ONLY,
    ),
    **{
        f"GET /events/admin/{{event_id}}/export/{kind}.csv": (
            lambda s, who, kind=kind: Call("GET", f"/events/admin/{s.event.id}/export/{kind}.csv"),
            EVENT_OWNER_ONLY,
        )
        for kind in ("leaderboard", "votes", "attendees", "projects")
    },
    "GET /events/official": (lambda s, who: Call("GET", "/events/official"), ALL_200),
    # No series is set in these tests, so no event is official (``test_organiser_tools`` sets one).
    "POST /events/{event_id}/attend": (
        lambda s, who: Call("POST", f"/events/{s.event.id}/attend"),
        _statuses(401, 403, 403, 403, 403, 403, 403),
    ),
    # Nobody has voted in the scene: everyone signed in is told they have no such vote.
    "DELETE /events/{event_id}/votes/{project_id}": (
        lambda s, who: Call("DELETE", f"/events/{s.event.id}/votes/{s.project['id']}"),
        _statuses(401, 404, 404, 404, 404, 404, 404),
    ),
    "GET /superadmin/events": (lambda s, who: Call("GET", "/superadmin/events"), SUPERADMIN_ONLY),
    "POST /superadmin/events": (
        lambda s, who: Call("POST", "/superadmin/events", body={"name": "Made"}),
        SUPERADMIN_ONLY,
    ),
    "PATCH /superadmin/events/{event_id}": (
        lambda s, who: Call("PATCH", f"/superadmin/events/{s.event.id}", body={"name": "Renamed"}),
        SUPERADMIN_ONLY,
    ),
    "POST /superadmin/events/{event_id}/restore": (
        lambda s, who: Call("POST", f"/superadmin/events/{s.event.id}/restore"),
        SUPERADMIN_ONLY,
    ),
    "DELETE /superadmin/events/{event_id}": (
        lambda s, who: Call("DELETE", f"/superadmin/events/{s.event.id}"),
        SUPERADMIN_ONLY,
    ),
    "GET /superadmin/users": (lambda s, who: Call("GET", "/superadmin/users"), SUPERADMIN_ONLY),
    "GET /superadmin/export-csv": (
        lambda s, who: Call("GET", "/superadmin/export-csv", {"event_id": s.event.id}),
        SUPERADMIN_ONLY,
    ),
    # HEAD's client (issue 25): the project's team validates it; Hack Club login is off in tests (404).
    "POST /projects/validate": (
        lambda s, who: Call("POST", "/projects/validate", {"project_id": s.project["id"]}),
        _statuses(401, 403, 403, 200, 200, 403, 403),
    ),
    "GET /auth/hackclub": (lambda s, who: Call("GET", "/auth/hackclub"), _statuses(*[404] * 7)),
    "GET /auth/hackclub/callback": (
        lambda s, who: Call("GET", "/auth/hackclub/callback", {"code": "c", "state": "s"}),
        _statuses(*[404] * 7),
    ),
}  # fmt: skip


def test_the_table_covers_every_legacy_operation() -> None:
    from tests.api.test_openapi_compat import OPERATIONS as LEGACY_OPERATIONS

    covered = {tuple(name.split(" ", 1)) for name in OPERATIONS}
    assert {(method, path.rstrip("/")) for method, path in covered} >= set(LEGACY_OPERATIONS)


async def test_the_table_covers_every_operation_of_the_api(client: Client) -> None:
    ours = set(operations_of((await client.get("/schema/openapi.json")).json()))
    unguarded = {("GET", "/health"), ("GET", "/metrics")}
    covered = {(method, path.rstrip("/") or "/") for method, path in (n.split(" ", 1) for n in OPERATIONS)}
    assert ours - unguarded == covered


@pytest.mark.parametrize(("build", "expected"), OPERATIONS.values(), ids=OPERATIONS.keys())
async def test_who_may_call_each_operation(
    client: Client, scene: Scene, build: Build, expected: dict[str, int]
) -> None:
    actual: dict[str, int] = {}
    for role in ROLES:
        who = scene.people.get(role)
        call = build(scene, who)
        response = await client.request(
            call.method, call.path, params=call.params, json=call.body, headers=who.headers if who else {}
        )
        actual[role] = response.status_code
        if response.status_code >= 400:
            assert isinstance(response.json()["detail"], str), response.text
    assert actual == expected


# Personal data (PRODUCT §3.15): public responses never carry it.

PERSONAL_FIELDS = {"email", "phone", "street_1", "street_2", "city", "state", "zip_code", "country", "dob"}
PERSONAL = {
    "phone": "+1-555-0199",
    "street_1": "17 Secret Lane",
    "street_2": "Flat 9b",
    "city": "Hiddenville",
    "state": "Concealia",
    "zip_code": "ZX-90210",
    "country": "ZZ",
    "dob": "1999-12-31",
}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_public_responses_never_contain_personal_data(
    client: Client, sign_up: SignUp, create_event: Any
) -> None:
    organiser = await sign_up("Orla", email="orla.private@example.com", **PERSONAL)
    maker = await sign_up("Max", email="max.private@example.com", **PERSONAL)
    mate = await sign_up("Mia", email="mia.private@example.com", **PERSONAL)
    voter = await sign_up("Val", email="val.private@example.com", **PERSONAL)
    event = await create_event(organiser, votable=True, leaderboard_enabled=True)
    for person in (maker, mate, voter):
        await attend(client, person, event, "word of mouth")
    project = await submit(client, maker, event, "Secretive")
    await client.post("/projects/join", params={"join_code": project["join_code"]}, headers=mate.headers)
    voted = await client.post(
        "/events/vote", json={"event": event.id, "projects": [project["id"]]}, headers=voter.headers
    )
    assert voted.status_code == 200, voted.text

    public = [
        ("GET", f"/users/{maker.id}", None, None),
        ("GET", f"/users/{organiser.id}", None, None),
        ("GET", f"/events/{event.id}", None, None),
        ("GET", f"/events/id/{event.slug}", None, None),
        ("GET", f"/events/{event.id}/projects", {"leaderboard": "false"}, None),
        ("GET", f"/events/{event.id}/projects", {"leaderboard": "true"}, None),
        ("GET", f"/projects/{project['id']}", None, None),
        # Views that show other people to a signed-in user are just as public about them.
        ("GET", "/events/", None, voter),
        ("GET", "/projects/mine", None, mate),
        ("PUT", f"/projects/{project['id']}", None, maker),
    ]
    secrets = [*PERSONAL.values(), *(p.email for p in (organiser, maker, mate, voter))]
    for method, path, params, who in public:
        body = {"description": "updated"} if method == "PUT" else None
        response = await client.request(
            method, path, params=params, json=body, headers=who.headers if who else {}
        )
        assert response.status_code == 200, (path, response.text)
        assert not _keys(response.json()) & PERSONAL_FIELDS, path
        leaked = [s for s in secrets if s.lower() in response.text.lower()]
        assert leaked == [], path


async def test_the_private_profile_shows_only_what_legacy_showed(client: Client, sign_up: SignUp) -> None:
    """UserPrivate carries the caller's own email and phone, but never the address or the birthday."""
    person = await sign_up("Pat", **PERSONAL)
    me = (await client.get("/users/current", headers=person.headers)).json()
    assert (me["email"], me["phone"]) == (person.email, PERSONAL["phone"])
    hidden = {k: v for k, v in PERSONAL.items() if k != "phone"}
    assert not _keys(me) & set(hidden)
    assert not [v for v in hidden.values() if v in json.dumps(me)]
