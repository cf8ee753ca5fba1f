"""Podium HEAD's client on v2 (issue 25): the one shape the two frontends disagree on, HEAD's test-only
routes, its answers on its own routes, and project validation against local fakes of the services."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import EventSetup, Person, SignUp, attend, submit
from tests.support.fake_http import FakeHttpServer, fake_http_fixture
from tests.support.links import NOT_URLS

Client = AsyncTestClient[Any]
SERIES = "test-series"
PLAYABLE = b'<html><div class="game_frame"></div></html>'


@asynccontextmanager
async def app_client(settings: Settings, **changes: Any) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(dataclasses.replace(settings, **changes))) as client:
        yield client


@pytest.fixture(scope="module")
async def head_app(settings: Settings) -> AsyncIterator[Client]:
    async with app_client(
        settings, frontend="head", enable_test_endpoints=True, active_event_series=SERIES
    ) as client:
        yield client


@pytest.fixture
async def head(head_app: Client, clean_database: object) -> Client:
    """The app as a HEAD deployment runs it for HEAD's E2E suite (one for the module)."""
    return head_app


async def _project_shapes(client: Client, owner: Person, event: EventSetup, project_id: str) -> list[Any]:
    """``owner_display_name`` and ``owner_id`` as every route that lists projects answers them."""
    answers = [
        (await client.get(f"/projects/{project_id}")).json(),
        (await client.get(f"/events/{event.id}/projects", params={"leaderboard": True})).json()[0],
        (await client.get(f"/events/{event.id}/projects", params={"leaderboard": False})).json()[0],
        (await client.get("/projects/mine", headers=owner.headers)).json()[0],
        (await client.get(f"/events/admin/{event.id}/leaderboard", headers=owner.headers)).json()[0],
    ]
    return [(a["owner_display_name"], a["owner_id"]) for a in answers]


async def test_owner_display_name_is_a_list_for_legacy_and_a_string_for_head(
    client: Client, head: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive", display_name="Olive O.")
    event = await create_event(owner, votable=True, leaderboard_enabled=True, demo_links_optional=True)
    await attend(client, owner, event)
    project = await submit(client, owner, event)
    legacy_shapes = await _project_shapes(client, owner, event, project["id"])
    head_shapes = await _project_shapes(head, owner, event, project["id"])
    assert legacy_shapes == [(["Olive O."], owner.id)] * 5
    assert head_shapes == [("Olive O.", owner.id)] * 5


async def test_the_openapi_documents_of_both_modes_differ_only_in_owner_display_name(
    settings: Settings,
) -> None:
    documents = {}
    for frontend in ("legacy", "head"):
        async with app_client(settings, frontend=frontend) as client:
            documents[frontend] = (await client.get("/schema/openapi.json")).json()
    schemas = {mode: document["components"]["schemas"] for mode, document in documents.items()}
    for name in ("ProjectPublic", "ProjectPrivate"):
        assert schemas["legacy"][name]["properties"]["owner_display_name"]["type"] == "array"
        assert schemas["head"][name]["properties"]["owner_display_name"]["type"] == "string"
        assert "owner_id" in schemas["head"][name]["required"]
        for document in schemas.values():
            del document[name]["properties"]["owner_display_name"]
    assert json.dumps(documents["legacy"], sort_keys=True) == json.dumps(documents["head"], sort_keys=True)


# HEAD's test-only routes.

TEST_ROUTES = ("/events/test/create", "/events/test/cleanup", "/users/test/promote-superadmin")


async def test_the_test_routes_do_not_exist_unless_enabled(client: Client, sign_up: SignUp) -> None:
    person = await sign_up("Tess")
    for path in TEST_ROUTES:
        response = await client.post(path, json={"name": "x"}, headers=person.headers)
        assert response.status_code == 404, path
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert not [path for path in paths if "/test/" in path]


async def test_the_test_routes_as_heads_suite_uses_them(
    head: Client, client: Client, sign_up: SignUp
) -> None:
    tester = await sign_up("Pat", email="test+pw0@example.com")
    keeper = await sign_up("Kim", email="keeper@example.com")
    created = await head.post(
        "/events/test/create", json={"name": "E2E Night", "description": "d"}, headers=tester.headers
    )
    assert created.status_code == 200, created.text
    event = created.json()
    assert (event["phase"], event["description"], event["feature_flags_csv"]) == ("voting", "d", SERIES)
    assert (event["demo_links_optional"], event["repo_validation"], event["demo_validation"]) == (
        True, "none", "none"
    )  # fmt: skip
    assert event["owner_id"] == tester.id
    assert event["slug"].startswith("e2e-night-")
    assert [e["id"] for e in (await head.get("/events/official")).json()] == [event["id"]]
    assert (await head.post("/events/test/create", json={"name": "x"})).status_code == 401

    promoted = await head.post("/users/test/promote-superadmin", headers=tester.headers)
    assert promoted.json() == {"message": "Promoted to superadmin"}
    assert (await head.get("/users/current", headers=tester.headers)).json()["is_superadmin"] is True

    # A repeat attend on HEAD's route is HEAD's 200, the code route keeps the legacy 400.
    joined = await head.post(f"/events/{event['id']}/attend", headers=keeper.headers)
    again = await head.post(f"/events/{event['id']}/attend", headers=keeper.headers)
    assert joined.json()["message"] == "Successfully joined event"
    assert (again.status_code, again.json()) == (
        200, {"message": "Already attending this event", "event_id": event["id"]}
    )  # fmt: skip
    code = (await head.get(f"/events/admin/{event['id']}", headers=tester.headers)).json()["join_code"]
    legacy_again = await head.post(
        "/events/attend", params={"join_code": code, "referral": ""}, headers=keeper.headers
    )
    assert legacy_again.status_code == 400

    cleaned = await head.post("/events/test/cleanup")
    assert cleaned.json() == {"message": "Test data cleaned up"}
    assert (await head.get(f"/events/{event['id']}")).status_code == 404
    assert (await client.get("/users/exists", params={"email": tester.email})).json() == {"exists": False}
    assert (await client.get("/users/exists", params={"email": keeper.email})).json() == {"exists": True}


async def test_a_test_event_needs_an_active_series(settings: Settings, sign_up: SignUp) -> None:
    person = await sign_up("Nia")
    async with app_client(settings, enable_test_endpoints=True, active_event_series="") as client:
        response = await client.post("/events/test/create", json={"name": "x"}, headers=person.headers)
    assert (response.status_code, response.json()["detail"]) == (400, "No active event series configured")


# Project validation.


github = fake_http_fixture("module")
itch = fake_http_fixture("module")


@pytest.fixture(scope="module")
async def validating_app(
    settings: Settings, github: FakeHttpServer, itch: FakeHttpServer
) -> AsyncIterator[Client]:
    async with app_client(
        settings,
        github_api_url=github.url,
        itch_base_url=itch.url,
        validation_timeout_seconds=0.5,
        validate_rate_limit=4,
        custom_validators=(f"sleepover={itch.url}/review",),
    ) as client:
        yield client


@pytest.fixture
async def validating(
    validating_app: Client, clean_database: object, github: FakeHttpServer, itch: FakeHttpServer
) -> Client:
    """The app asking local fakes of GitHub, itch.io and a custom validator (one for the module)."""
    github.reset()
    itch.reset()
    return validating_app


async def _validate(client: Client, person: Person, project_id: str) -> Any:
    return await client.post("/projects/validate", params={"project_id": project_id}, headers=person.headers)


async def _mine(client: Client, person: Person) -> tuple[str, str]:
    project = (await client.get("/projects/mine", headers=person.headers)).json()[0]
    return project["validation_status"], project["validation_message"]


async def test_organisers_and_superadmins_choose_the_checks(
    validating: Client, sign_up: SignUp, create_event: Any, head: Client
) -> None:
    client = validating
    owner, admin = await sign_up("Olive"), await sign_up("Ada")
    event = await create_event(owner)
    patched = await client.patch(
        f"/events/admin/{event.id}",
        json={"repo_validation": "github", "demo_validation": "itch"},
        headers=owner.headers,
    )
    assert patched.status_code == 200, patched.text
    public = (await client.get(f"/events/{event.id}")).json()
    assert (public["repo_validation"], public["demo_validation"]) == ("github", "itch")
    assert (await head.post("/users/test/promote-superadmin", headers=admin.headers)).status_code == 200
    by_admin = await client.patch(
        f"/superadmin/events/{event.id}",
        json={"demo_validation": "custom", "custom_validator": "sleepover"},
        headers=admin.headers,
    )
    assert (by_admin.json()["demo_validation"], by_admin.json()["custom_validator"]) == (
        "custom",
        "sleepover",
    )
    cleared = await client.patch(
        f"/events/admin/{event.id}", json={"custom_validator": ""}, headers=owner.headers
    )
    assert cleared.json()["custom_validator"] is None
    for bad in ({"repo_validation": "gitlab"}, {"demo_validation": "itchio"}, {"custom_validator": "a b"}):
        response = await client.patch(f"/events/admin/{event.id}", json=bad, headers=owner.headers)
        assert response.status_code == 422, bad


async def test_a_project_is_checked_and_the_outcome_kept(
    validating: Client, sign_up: SignUp, create_event: Any, github: FakeHttpServer, itch: FakeHttpServer
) -> None:
    client = validating
    owner, mate, stranger = await sign_up("Olive"), await sign_up("Mo"), await sign_up("Sam")
    event = await create_event(owner)
    await client.patch(
        f"/events/admin/{event.id}",
        json={"repo_validation": "github", "demo_validation": "itch"},
        headers=owner.headers,
    )
    for person in (owner, mate):
        await attend(client, person, event)
    body = {"name": "Jumper", "repo": "https://github.com/olive/jumper", "image_url": "https://i/x.png",
            "demo": "https://olive.itch.io/jumper", "event_id": event.id}  # fmt: skip
    project = (await client.post("/projects/", json=body, headers=owner.headers)).json()
    assert await _mine(client, owner) == ("pending", "")

    github.respond(200, {"full_name": "olive/jumper"})
    itch.respond(200, raw=PLAYABLE, content_type="text/html")
    passed = await _validate(client, owner, project["id"])
    assert passed.json() == {"valid": True, "message": ""}
    assert await _mine(client, owner) == ("valid", "")
    assert [r.path for r in github.requests] == ["/repos/olive/jumper"]
    assert [r.path for r in itch.requests] == ["/olive/jumper"]

    # A collaborator may ask too; a repository gone and GitHub too slow are both warnings, with why.
    joined = await client.post(
        "/projects/join", params={"join_code": project["join_code"]}, headers=mate.headers
    )
    assert joined.status_code == 200
    github.respond(404, {})
    itch.respond(200, raw=b"<html></html>", content_type="text/html", delay=0.8)
    warned = await _validate(client, mate, project["id"])
    assert warned.json()["valid"] is False
    message = warned.json()["message"]
    assert "Repository olive/jumper was not found on GitHub" in message
    assert "Could not check the demo: itch.io did not answer in time" in message
    assert await _mine(client, owner) == ("warning", message)

    # Changing a link resets the outcome: the new links are unchecked.
    changed = await client.put(
        f"/projects/{project['id']}", json={"repo": "https://github.com/olive/jumper2"}, headers=owner.headers
    )
    assert changed.status_code == 200
    assert await _mine(client, owner) == ("pending", "")

    assert (await _validate(client, stranger, project["id"])).status_code == 403
    assert (await _validate(client, owner, str(uuid4()))).status_code == 404
    assert (
        await client.post("/projects/validate", params={"project_id": "nope"}, headers=owner.headers)
    ).status_code == 422
    assert (await client.post("/projects/validate", params={"project_id": project["id"]})).status_code == 401


async def _submitted(client: Client, sign_up: SignUp, create_event: Any) -> tuple[Person, EventSetup, Any]:
    """An event with demo links optional and one project in it (no checks configured yet)."""
    owner = await sign_up("Olive")
    event = await create_event(owner, demo_links_optional=True)
    await attend(client, owner, event)
    return owner, event, await submit(client, owner, event)


async def test_a_custom_validator_and_one_not_configured(
    validating: Client, sign_up: SignUp, create_event: Any, itch: FakeHttpServer
) -> None:
    client = validating
    owner, event, project = await _submitted(client, sign_up, create_event)
    patch = {"repo_validation": "custom", "custom_validator": "sleepover"}
    await client.patch(f"/events/admin/{event.id}", json=patch, headers=owner.headers)
    itch.respond(200, {"valid": False, "message": "Add a README"})
    assert (await _validate(client, owner, project["id"])).json() == {
        "valid": False,
        "message": "Add a README",
    }
    assert itch.requests[-1].json() == {"url": "https://github.com/x/y", "type": "repo"}
    await client.patch(
        f"/events/admin/{event.id}", json={"custom_validator": "campfire"}, headers=owner.headers
    )
    missing = (await _validate(client, owner, project["id"])).json()
    assert missing == {
        "valid": False,
        "message": "Could not check the repo: no custom validator 'campfire' is configured",
    }


async def test_without_checks_a_project_is_valid_at_once_and_validation_is_rate_limited(
    validating: Client, sign_up: SignUp, create_event: Any, github: FakeHttpServer
) -> None:
    client = validating
    owner, _event, project = await _submitted(client, sign_up, create_event)
    assert await _mine(client, owner) == ("valid", "")
    answers = [(await _validate(client, owner, project["id"])).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    assert github.requests == []


async def test_a_demo_link_that_is_not_a_url_is_a_warning_never_a_500(
    validating: Client, sign_up: SignUp, create_event: Any
) -> None:
    client = validating
    owner, mate = await sign_up("Olive"), await sign_up("Mo")
    event = await create_event(owner)
    patched = await client.patch(
        f"/events/admin/{event.id}", json={"demo_validation": "reachable"}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    for person in (owner, mate):
        await attend(client, person, event)
    project = await submit(client, owner, event)
    joined = await client.post(
        "/projects/join", params={"join_code": project["join_code"]}, headers=mate.headers
    )
    assert joined.status_code == 200, joined.text
    for n, url in enumerate(NOT_URLS):  # owner and mate in turn: 4 checks each within the rate limit
        changed = await client.put(f"/projects/{project['id']}", json={"demo": url}, headers=owner.headers)
        assert changed.status_code == 200, (url, changed.text)
        checked = await _validate(client, (owner, mate)[n % 2], project["id"])
        assert (checked.status_code, checked.json()) == (
            200,
            {"valid": False, "message": "The demo link is not a valid URL"},
        ), url
