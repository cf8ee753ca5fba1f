"""The organiser tools of issue 15 over HTTP, on real PostgreSQL: phases, superadmins, soft deletes,
official events, vote withdrawal and the PII gate. (Exports: ``test_exports.py``.)"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
from podium.config import Settings
from podium.domain.services.superadmin import SuperadminService
from podium.http.app import create_app
from tests.api.conftest import EventSetup, Person, SignUp, attend, submit

Client = AsyncTestClient[Any]


@pytest.fixture
def promote(engine: AsyncEngine) -> Callable[[Person], Awaitable[None]]:
    """What ``podium admin grant`` does (the only way in): the same use-case, on the test's own engine."""
    service = SuperadminService(SqlAlchemyUnitOfWorkFactory(engine))

    async def grant(person: Person) -> None:
        assert await service.set_superadmin(person.email, True)

    return grant


Promote = Callable[[Person], Awaitable[None]]


async def _event(client: Client, event: EventSetup) -> dict[str, Any]:
    response = await client.get(f"/events/admin/{event.id}", headers=event.owner.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _patch(client: Client, event: EventSetup, who: Person, **body: Any) -> Any:
    return await client.patch(f"/events/admin/{event.id}", json=body, headers=who.headers)


def _state(body: dict[str, Any]) -> tuple[str, bool, bool]:
    return body["phase"], body["votable"], body["leaderboard_enabled"]


# Phases.


async def test_a_new_event_starts_in_submission_and_is_joinable(
    client: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner, guest = await sign_up("Olive"), await sign_up("Gus")
    event = await create_event(owner)
    assert _state(await _event(client, event)) == ("submission", False, False)
    await attend(client, guest, event)
    public = (await client.get(f"/events/{event.id}")).json()
    assert (public["phase"], public["require_ysws_pii"]) == ("submission", False)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"votable": True}, ("voting", True, False)),
        ({"leaderboard_enabled": True}, ("closed", False, True)),
        # What the v2 frontend's own journey does: both at once stays expressible.
        ({"votable": True, "leaderboard_enabled": True}, ("voting", True, True)),
        ({"votable": False, "leaderboard_enabled": False}, ("submission", False, False)),
    ],
)
async def test_the_legacy_put_moves_the_phase(
    client: Client,
    sign_up: SignUp,
    create_event: Any,
    flags: dict[str, bool],
    expected: tuple[str, bool, bool],
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner)
    response = await client.put(f"/events/{event.id}", json=flags, headers=owner.headers)
    assert response.status_code == 200, response.text
    assert _state(await _event(client, event)) == expected


async def test_closing_voting_through_the_legacy_flags_closes_the_phase(
    client: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    await client.put(f"/events/{event.id}", json={"votable": False}, headers=owner.headers)
    assert _state(await _event(client, event)) == ("closed", False, True)
    await client.put(f"/events/{event.id}", json={"leaderboard_enabled": False}, headers=owner.headers)
    assert _state(await _event(client, event)) == ("submission", False, False)


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("voting", ("voting", True, False)),
        ("closed", ("closed", False, True)),
        ("submission", ("submission", False, False)),
        ("draft", ("draft", False, False)),
    ],
)
async def test_a_phase_sets_the_flags_the_legacy_client_reads(
    client: Client, sign_up: SignUp, create_event: Any, phase: str, expected: tuple[str, bool, bool]
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner)
    response = await _patch(client, event, owner, phase=phase)
    assert response.status_code == 200, response.text
    assert _state(response.json()) == expected
    assert _state(await _event(client, event)) == expected


async def test_setting_the_phase_it_has_keeps_a_public_leaderboard(
    client: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    response = await _patch(client, event, owner, phase="voting", name="Renamed")
    assert (_state(response.json()), response.json()["name"]) == (("voting", True, True), "Renamed")


async def test_the_admin_patch_changes_only_what_it_is_given_and_ignores_unknown_fields(
    client: Client, sign_up: SignUp, create_event: Any, promote: Promote
) -> None:
    owner, admin = await sign_up("Olive"), await sign_up("Ada")
    await promote(admin)
    event = await create_event(owner, description="kept")
    body = {"feature_flags_csv": "fall-2026, beta", "require_ysws_pii": True, "votable": True, "x": 1}
    response = await _patch(client, event, admin, **body)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["feature_flags_list"] == ["fall-2026", "beta"]
    assert (changed["require_ysws_pii"], changed["description"]) == (True, "kept")
    assert _state(changed) == ("submission", False, False)  # ``votable`` is not a PATCH field


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"phase": "judging"}, 422),
        ({"phase": 3}, 422),
        ({"name": "x" * 256}, 422),
        ({"feature_flags_csv": "a" * 501}, 422),
        ({"demo_links_optional": "maybe"}, 422),
    ],
)
async def test_bad_admin_patches_are_422(
    client: Client, sign_up: SignUp, create_event: Any, body: dict[str, Any], status: int
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner)
    response = await _patch(client, event, owner, **body)
    assert response.status_code == status, response.text
    assert _state(await _event(client, event)) == ("submission", False, False)


async def test_who_may_patch_an_event(
    promote: Promote, client: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner, stranger, admin = await sign_up("Olive"), await sign_up("Sam"), await sign_up("Ada")
    await promote(admin)
    event = await create_event(owner)
    assert (await client.patch(f"/events/admin/{event.id}", json={"phase": "voting"})).status_code == 401
    assert (await _patch(client, event, stranger, phase="voting")).status_code == 403
    missing = await client.patch(f"/events/admin/{uuid4()}", json={}, headers=owner.headers)
    assert missing.status_code == 403  # as every admin view: unknown and someone else's alike
    bad = await client.patch("/events/admin/not-a-uuid", json={}, headers=owner.headers)
    assert bad.status_code == 422
    assert (await _patch(client, event, admin, phase="voting")).status_code == 200
    assert _state(await _event(client, event)) == ("voting", True, False)


async def test_a_superadmin_passes_every_owner_check(
    promote: Promote, client: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner, admin = await sign_up("Olive"), await sign_up("Ada")
    await promote(admin)
    event = await create_event(owner)
    renamed = await client.put(f"/events/{event.id}", json={"name": "By the admin"}, headers=admin.headers)
    assert renamed.status_code == 200
    for view in ("", "/attendees", "/leaderboard", "/votes", "/referrals"):
        assert (await client.get(f"/events/admin/{event.id}{view}", headers=admin.headers)).status_code == 200
    assert (await client.delete(f"/events/{event.id}", headers=admin.headers)).status_code == 200
    assert (await client.get(f"/events/{event.id}")).status_code == 404


async def test_a_draft_is_its_owners_alone(client: Client, sign_up: SignUp, create_event: Any) -> None:
    owner, guest, attendee = await sign_up("Olive"), await sign_up("Gus"), await sign_up("Ann")
    event = await create_event(owner)
    await attend(client, attendee, event)
    assert (await _patch(client, event, owner, phase="draft")).status_code == 200

    joined = await client.post(
        "/events/attend", params={"join_code": event.join_code, "referral": ""}, headers=guest.headers
    )
    assert (joined.status_code, joined.json()["detail"]) == (
        403,
        "This event is not open yet: it is still a draft",
    )
    for path, params in (
        (f"/events/{event.id}", None),
        (f"/events/id/{event.slug}", None),
        (f"/events/{event.id}/projects", {"leaderboard": "false"}),
    ):
        assert (await client.get(path, params=params)).status_code == 404, path
    mine = (await client.get("/events/", headers=attendee.headers)).json()
    assert mine["attending_events"] == []
    owned = (await client.get("/events/", headers=owner.headers)).json()["owned_events"]
    assert [e["phase"] for e in owned] == ["draft"]
    assert (await client.get(f"/events/admin/{event.id}", headers=owner.headers)).status_code == 200

    await _patch(client, event, owner, phase="submission")
    assert (await client.get(f"/events/{event.id}")).status_code == 200


async def test_a_drafts_projects_are_its_organisers_alone(
    client: Client, sign_up: SignUp, create_event: Any
) -> None:
    """Issue 22 item 9: every path that shows, adds to or changes what is in an event hides a draft."""
    owner, maker, mate = await sign_up("Olive"), await sign_up("Max"), await sign_up("Mia")
    event = await create_event(owner)
    for person in (maker, mate, owner):
        await attend(client, person, event)
    project = await submit(client, maker, event, "Early bird")
    assert (await _patch(client, event, owner, phase="draft")).status_code == 200

    for headers in ({}, maker.headers, mate.headers):
        assert (await client.get(f"/projects/{project['id']}", headers=headers)).status_code == 404
    assert (await client.get("/projects/mine", headers=maker.headers)).json() == []
    live = await client.get(f"/events/{event.id}/projects/live", params={"leaderboard": "false"})
    assert live.status_code == 404
    body = {"name": "Late", "repo": "https://r", "image_url": "https://i/x.png", "demo": "https://d",
            "event_id": event.id}  # fmt: skip
    draft_refusals = [
        await client.post("/projects/", json=body, headers=mate.headers),
        await client.post("/projects/join", params={"join_code": project["join_code"]}, headers=mate.headers),
        await client.put(f"/projects/{project['id']}", json={"name": "Renamed"}, headers=maker.headers),
    ]
    for refused in draft_refusals:
        assert (refused.status_code, refused.json()["detail"]) == (
            403,
            "This event is not open yet: it is still a draft",
        )
    # Its organiser still works in it.
    assert (await client.post("/projects/", json=body, headers=owner.headers)).status_code == 200

    await _patch(client, event, owner, phase="submission")
    assert (await client.get(f"/projects/{project['id']}")).status_code == 200
    assert [p["name"] for p in (await client.get("/projects/mine", headers=maker.headers)).json()] == [
        "Early bird"
    ]


async def test_the_legacy_messages_stay(client: Client, sign_up: SignUp, create_event: Any) -> None:
    owner, voter = await sign_up("Olive"), await sign_up("Vera")
    event = await create_event(owner, demo_links_optional=True)
    await attend(client, voter, event)
    await attend(client, owner, event)
    project = await submit(client, owner, event)
    vote = await client.post(
        "/events/vote", json={"event": event.id, "projects": [project["id"]]}, headers=voter.headers
    )
    assert (vote.status_code, vote.json()["detail"]) == (403, "Voting is not open for this event")
    board = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    assert (board.status_code, board.json()["detail"]) == (403, "Leaderboard is not enabled")
    await _patch(client, event, owner, phase="closed")
    assert (
        await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    ).status_code == 200
    # The cached leaderboard goes private again the moment the phase moves back.
    await _patch(client, event, owner, phase="voting")
    hidden = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    assert (hidden.status_code, hidden.json()["detail"]) == (403, "Leaderboard is not enabled")
    await _patch(client, event, owner, phase="draft")
    assert (
        await client.get(f"/events/{event.id}/projects", params={"leaderboard": "false"})
    ).status_code == 404


# Phases in the database: whoever writes, phase and flags stay one state.


async def _row(engine: AsyncEngine, event_id: str) -> tuple[str, bool, bool]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT phase, votable, leaderboard_enabled FROM events WHERE id = :id"),
                {"id": event_id},
            )
        ).one()
    return row[0], row[1], row[2]


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("phase = 'voting'", ("voting", True, False)),
        ("phase = 'closed'", ("closed", False, True)),
        ("phase = 'draft'", ("draft", False, False)),
        ("votable = true", ("voting", True, False)),
        ("leaderboard_enabled = true", ("closed", False, True)),
        ("votable = true, leaderboard_enabled = true", ("voting", True, True)),
        ("phase = 'voting', votable = true, leaderboard_enabled = true", ("voting", True, True)),
    ],
)
async def test_operators_sql_keeps_phase_and_flags_one_state(
    client: Client, sign_up: SignUp, create_event: Any, engine: AsyncEngine, assignment: str, expected: Any
) -> None:
    event = await create_event(await sign_up("Olive"))
    async with engine.begin() as connection:
        await connection.execute(text(f"UPDATE events SET {assignment} WHERE id = :id"), {"id": event.id})
    assert await _row(engine, event.id) == expected
    assert _state(await _event(client, event)) == expected


@pytest.mark.parametrize(
    "assignment",
    [
        "phase = 'closed', votable = true",
        "phase = 'closed', votable = true, leaderboard_enabled = true",
        "phase = 'judging'",
        "phase = 'draft', votable = true",
    ],
)
async def test_sql_that_makes_phase_and_flags_disagree_is_refused(
    client: Client, sign_up: SignUp, create_event: Any, engine: AsyncEngine, assignment: str
) -> None:
    event = await create_event(await sign_up("Olive"))
    with pytest.raises(IntegrityError, match="events_phase_"):
        async with engine.begin() as connection:
            await connection.execute(text(f"UPDATE events SET {assignment} WHERE id = :id"), {"id": event.id})
    assert await _row(engine, event.id) == ("submission", False, False)


async def test_nothing_new_can_be_added_to_a_deleted_event_even_by_sql(
    client: Client, sign_up: SignUp, create_event: Any, engine: AsyncEngine
) -> None:
    owner, guest = await sign_up("Olive"), await sign_up("Gus")
    event = await create_event(owner)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE events SET deleted_at = now() WHERE id = :id"), {"id": event.id}
        )
    with pytest.raises(IntegrityError, match="is deleted"):
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO event_attendees (event_id, user_id) VALUES (:e, :u)"),
                {"e": event.id, "u": guest.id},
            )


# Superadmins.


async def test_superadmin_is_granted_and_revoked_only_outside_http(
    client: Client, sign_up: SignUp, engine: AsyncEngine
) -> None:
    person = await sign_up("Ada")
    me = (await client.get("/users/current", headers=person.headers)).json()
    assert (me["is_superadmin"], me["has_ysws_pii"], me["vote_ids"]) == (False, False, [])
    # The profile update cannot set it, whatever it is sent.
    sneaky = await client.put(
        "/users/current", json={"is_superadmin": True, "last_name": "X"}, headers=person.headers
    )
    assert (sneaky.status_code, sneaky.json()["is_superadmin"]) == (200, False)
    service = SuperadminService(SqlAlchemyUnitOfWorkFactory(engine))
    assert await service.set_superadmin(f" {person.email.upper()}", True)
    assert (await client.get("/users/current", headers=person.headers)).json()["is_superadmin"] is True
    # ... and a profile update afterwards does not take it away.
    await client.put("/users/current", json={"last_name": "L"}, headers=person.headers)
    assert (await client.get("/users/current", headers=person.headers)).json()["is_superadmin"] is True
    assert await service.set_superadmin(person.email, False)
    assert (await client.get("/users/current", headers=person.headers)).json()["is_superadmin"] is False
    assert not await service.set_superadmin("nobody@example.com", True)


# A fixed id: parameters must be the same in every collecting process (pytest-xdist).
_NO_SUCH_EVENT = UUID("00000000-0000-4000-8000-00000000dead")

SUPERADMIN_CALLS = [
    ("GET", "/superadmin/events", None),
    ("GET", "/superadmin/users", None),
    ("POST", "/superadmin/events", {"name": "Made"}),
    ("PATCH", "/superadmin/events/{id}", {"name": "Changed"}),
    ("POST", "/superadmin/events/{id}/restore", None),
    ("GET", "/superadmin/export-csv", None),
    ("DELETE", "/superadmin/events/{id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), SUPERADMIN_CALLS)
async def test_only_superadmins_reach_the_superadmin_routes(
    promote: Promote, client: Client, sign_up: SignUp, create_event: Any, method: str, path: str, body: Any
) -> None:
    owner, admin = await sign_up("Olive"), await sign_up("Ada")
    await promote(admin)
    event = await create_event(owner)
    url = path.format(id=event.id)
    params = {"event_id": event.id} if url.endswith("export-csv") else None
    anonymous = await client.request(method, url, json=body, params=params)
    assert anonymous.status_code == 401
    forbidden = await client.request(method, url, json=body, params=params, headers=owner.headers)
    assert (forbidden.status_code, forbidden.json()["detail"]) == (403, "Superadmin access required")
    allowed = await client.request(method, url, json=body, params=params, headers=admin.headers)
    assert allowed.status_code == 200, allowed.text


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status"),
    [
        ("GET", "/superadmin/events", {"page": "0"}, None, 422),
        ("GET", "/superadmin/events", {"size": "101"}, None, 422),
        ("GET", "/superadmin/users", {"size": "0"}, None, 422),
        ("GET", "/superadmin/users", {"page": "x"}, None, 422),
        ("GET", "/superadmin/events", {"q": "x" * 256}, None, 422),
        ("POST", "/superadmin/events", None, {}, 422),
        ("POST", "/superadmin/events", None, {"name": "!!!"}, 422),
        ("POST", "/superadmin/events", None, {"name": "Ok", "phase": "later"}, 422),
        ("PATCH", "/superadmin/events/{id}", None, {"owner_email": "nobody@example.com"}, 404),
        ("PATCH", "/superadmin/events/{id}", None, {"phase": "soon"}, 422),
        ("PATCH", f"/superadmin/events/{_NO_SUCH_EVENT}", None, {}, 404),
        ("PATCH", "/superadmin/events/nope", None, {}, 422),
        ("DELETE", f"/superadmin/events/{_NO_SUCH_EVENT}", None, None, 404),
        ("DELETE", "/superadmin/events/nope", None, None, 422),
        ("POST", f"/superadmin/events/{_NO_SUCH_EVENT}/restore", None, None, 404),
        ("GET", "/superadmin/export-csv", None, None, 400),
        ("GET", "/superadmin/export-csv", {"event_id": "{id}", "series": "s"}, None, 400),
        ("GET", "/superadmin/export-csv", {"event_id": str(_NO_SUCH_EVENT)}, None, 404),
        ("GET", "/superadmin/export-csv", {"event_id": "nope"}, None, 422),
    ],
)
async def test_bad_superadmin_requests_are_clear_errors(
    promote: Promote,
    client: Client,
    sign_up: SignUp,
    create_event: Any,
    method: str,
    path: str,
    params: Any,
    body: Any,
    status: int,
) -> None:
    admin = await sign_up("Ada")
    await promote(admin)
    event = await create_event(admin)
    params = {k: v.format(id=event.id) for k, v in (params or {}).items()}
    response = await client.request(
        method, path.format(id=event.id), params=params, json=body, headers=admin.headers
    )
    assert response.status_code == status, response.text
    assert response.json()["detail"]


async def test_superadmin_lists_are_paginated_searchable_and_sorted_by_creation(
    promote: Promote, client: Client, sign_up: SignUp, create_event: Any
) -> None:
    admin = await sign_up("Ada", email="ada.admin@example.com")
    await promote(admin)
    names = [f"Zeta Jam {i}" for i in range(5)]
    for name in names:
        await create_event(admin, name=name)
    await create_event(admin, name="Other Fest")

    first = (await client.get("/superadmin/events", params={"size": 2}, headers=admin.headers)).json()
    assert (first["total"], first["page"], first["size"], first["pages"]) == (6, 1, 2, 3)
    assert [e["name"] for e in first["items"]] == names[:2]
    found = await client.get(
        "/superadmin/events", params={"q": "zeta", "page": 3, "size": 2}, headers=admin.headers
    )
    assert [e["name"] for e in found.json()["items"]] == names[4:]
    by_slug = await client.get("/superadmin/events", params={"q": "other-fest"}, headers=admin.headers)
    assert by_slug.json()["total"] == 1
    beyond = await client.get("/superadmin/events", params={"page": 9}, headers=admin.headers)
    assert (beyond.json()["items"], beyond.json()["total"]) == ([], 6)
    # Pattern characters are searched for literally.
    assert (await client.get("/superadmin/events", params={"q": "%"}, headers=admin.headers)).json()[
        "total"
    ] == 0

    users = (await client.get("/superadmin/users", params={"q": "ADA.ADMIN"}, headers=admin.headers)).json()
    assert users["items"] == [
        {"id": admin.id, "email": admin.email, "display_name": admin.display_name, "is_superadmin": True}
    ]


async def test_superadmins_create_and_hand_over_events(
    promote: Promote, client: Client, sign_up: SignUp
) -> None:
    admin, organiser = await sign_up("Ada"), await sign_up("Orla")
    await promote(admin)
    created = await client.post(
        "/superadmin/events",
        json={"name": "Winter Jam", "feature_flags_csv": "winter", "phase": "draft"},
        headers=admin.headers,
    )
    assert created.status_code == 200, created.text
    event = created.json()
    assert event["slug"].startswith("winter-jam-")
    assert len(event["slug"]) == len("winter-jam-") + 6
    assert (event["owner_id"], event["phase"], event["deleted_at"]) == (admin.id, "draft", None)

    moved = await client.patch(
        f"/superadmin/events/{event['id']}",
        json={"owner_email": f"  {organiser.email.upper()} ", "phase": "voting"},
        headers=admin.headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["owner_id"], _state(moved.json())) == (organiser.id, ("voting", True, False))
    owned = (await client.get("/events/", headers=organiser.headers)).json()["owned_events"]
    assert [e["id"] for e in owned] == [event["id"]]
    # A superadmin still passes the owner checks of an event they no longer own.
    assert (
        await client.get(f"/events/admin/{event['id']}/leaderboard", headers=admin.headers)
    ).status_code == 200


async def test_a_soft_deleted_event_is_gone_everywhere_but_keeps_its_data(
    promote: Promote, client: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner, voter, admin = await sign_up("Olive"), await sign_up("Vera"), await sign_up("Ada")
    await promote(admin)
    event = await create_event(owner, votable=True, leaderboard_enabled=True, demo_links_optional=True)
    await attend(client, voter, event, "a friend")
    await attend(client, owner, event)
    project = await submit(client, owner, event, "Kept")
    voted = await client.post(
        "/events/vote", json={"event": event.id, "projects": [project["id"]]}, headers=voter.headers
    )
    assert voted.status_code == 200
    # Warm every cache first.
    assert (
        await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    ).status_code == 200
    assert (await client.get(f"/events/admin/{event.id}/votes", headers=owner.headers)).status_code == 200

    deleted = await client.delete(f"/superadmin/events/{event.id}", headers=admin.headers)
    assert deleted.status_code == 200, deleted.text
    again = await client.delete(f"/superadmin/events/{event.id}", headers=admin.headers)
    assert again.status_code == 404

    for path, params in (
        (f"/events/{event.id}", None),
        (f"/events/id/{event.slug}", None),
        (f"/events/{event.id}/projects", {"leaderboard": "true"}),
        (f"/projects/{project['id']}", None),
    ):
        assert (await client.get(path, params=params)).status_code == 404, path
    assert (await client.get("/events/", headers=voter.headers)).json()["attending_events"] == []
    assert (await client.get("/events/", headers=owner.headers)).json()["owned_events"] == []
    assert (await client.get("/projects/mine", headers=owner.headers)).json() == []
    assert (await client.get(f"/events/admin/{event.id}/votes", headers=owner.headers)).status_code == 403
    joined = await client.post(
        "/events/attend", params={"join_code": event.join_code, "referral": ""}, headers=admin.headers
    )
    assert joined.status_code == 404
    vote = await client.post(
        "/events/vote", json={"event": event.id, "projects": [project["id"]]}, headers=voter.headers
    )
    assert vote.status_code == 404

    listed = (await client.get("/superadmin/events", headers=admin.headers)).json()["items"]
    assert [e["deleted_at"] is not None for e in listed] == [True]

    restored = await client.post(f"/superadmin/events/{event.id}/restore", headers=admin.headers)
    assert (restored.status_code, restored.json()["deleted_at"]) == (200, None)
    board = (await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})).json()
    assert [(p["name"], p["points"]) for p in board] == [("Kept", 1)]
    again = await client.post(f"/superadmin/events/{event.id}/restore", headers=admin.headers)
    assert again.status_code == 200  # restoring a live event changes nothing


# Official events.


@pytest.fixture
async def series_client(settings: Settings, clean_database: object) -> AsyncIterator[Client]:
    app = create_app(dataclasses.replace(settings, active_event_series="fall-2026"))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_official_events_are_listed_and_joined_without_a_code(
    series_client: Client, sign_up: SignUp, create_event: Any, client: Client, promote: Promote
) -> None:
    owner, guest, admin = await sign_up("Olive"), await sign_up("Gus"), await sign_up("Ada")
    await promote(admin)
    official = await create_event(owner, name="Flagship")
    satellite = await create_event(owner, name="Satellite")
    draft = await create_event(owner, name="Hidden")
    other = await create_event(owner, name="Elsewhere")
    for event, flags in (
        (official, "fall-2026"),
        (satellite, "beta, fall-2026"),
        (draft, "fall-2026"),
        (other, "fall-2026x"),
    ):
        assert (await _patch(client, event, admin, feature_flags_csv=flags)).status_code == 200
    await _patch(client, draft, owner, phase="draft")

    listed = await series_client.get("/events/official")
    assert [e["name"] for e in listed.json()] == ["Flagship", "Satellite"]
    assert (await client.get("/events/official")).json() == []  # no series set: none are official

    joined = await series_client.post(f"/events/{official.id}/attend", headers=guest.headers)
    assert (joined.status_code, joined.json()["event_id"]) == (200, official.id)
    twice = await series_client.post(f"/events/{official.id}/attend", headers=guest.headers)
    # HEAD's answer on HEAD's route (issue 25); the legacy code route still says 400.
    assert (twice.status_code, twice.json()) == (
        200,
        {"message": "Already attending this event", "event_id": official.id},
    )
    outside = await series_client.post(f"/events/{other.id}/attend", headers=guest.headers)
    assert outside.status_code == 403
    assert (await series_client.post(f"/events/{draft.id}/attend", headers=guest.headers)).status_code == 404
    assert (await series_client.post(f"/events/{uuid4()}/attend", headers=guest.headers)).status_code == 404
    assert (await series_client.post("/events/nope/attend", headers=guest.headers)).status_code == 422
    assert (await series_client.post(f"/events/{official.id}/attend")).status_code == 401


async def test_only_a_superadmin_puts_an_event_into_a_series(
    series_client: Client, sign_up: SignUp, create_event: Any, promote: Promote
) -> None:
    """Issue 22 item 3: an organiser's PATCH naming the active series made any signed-up user's event
    official (listed, joined without a code, in the series' PII export)."""
    owner, stranger, admin = await sign_up("Olive"), await sign_up("Sam"), await sign_up("Ada")
    event = await create_event(owner, name="Mine")
    refused = await _patch(series_client, event, owner, feature_flags_csv="fall-2026")
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "Only a superadmin may change an event's feature flags: they put an event into an official series",
    )
    assert (await series_client.get("/events/official")).json() == []
    joined = await series_client.post(f"/events/{event.id}/attend", headers=stranger.headers)
    assert joined.status_code == 403
    # Sending the flags the event already has (a whole form) changes nothing and is fine.
    assert (await _patch(series_client, event, owner, feature_flags_csv="", name="Mine 2")).status_code == 200
    await promote(admin)
    assert (await _patch(series_client, event, admin, feature_flags_csv="fall-2026")).status_code == 200
    assert [e["name"] for e in (await series_client.get("/events/official")).json()] == ["Mine 2"]
    # The owner may still edit the rest, resending the flags as they are, but not take them off either.
    assert (
        await _patch(series_client, event, owner, feature_flags_csv="fall-2026", name="Mine 3")
    ).status_code == 200
    assert (await _patch(series_client, event, owner, feature_flags_csv="")).status_code == 403


# Changing your mind.


async def test_a_voter_withdraws_a_vote_and_the_quota_and_points_follow(
    client: Client, sign_up: SignUp, create_event: Any
) -> None:
    owner, voter, other = await sign_up("Olive"), await sign_up("Vera"), await sign_up("Otto")
    event = await create_event(owner, votable=True, leaderboard_enabled=True, demo_links_optional=True)
    for person in (voter, other, owner):
        await attend(client, person, event)
    first, second = await submit(client, owner, event, "First"), await submit(client, owner, event, "Second")
    cast = await client.post(
        "/events/vote", json={"event": event.id, "projects": [first["id"]]}, headers=voter.headers
    )
    assert cast.status_code == 200
    other_vote = await client.post(
        "/events/vote", json={"event": event.id, "projects": [first["id"]]}, headers=other.headers
    )
    assert other_vote.status_code == 200
    board = await client.get(
        f"/events/{event.id}/projects", params={"leaderboard": "true"}
    )  # warms the cache
    assert [p["points"] for p in board.json()] == [2, 0]

    url = f"/events/{event.id}/votes/{first['id']}"
    assert (await client.delete(url)).status_code == 401
    assert (await client.delete(url, headers=owner.headers)).status_code == 404  # not theirs to take back
    withdrawn = await client.delete(url, headers=voter.headers)
    assert (withdrawn.status_code, withdrawn.json()) == (200, {"message": "Vote withdrawn"})
    again = await client.delete(url, headers=voter.headers)
    assert (again.status_code, again.json()["detail"]) == (404, "You have not voted for this project")
    board = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    assert [(p["name"], p["points"]) for p in board.json()] == [("First", 1), ("Second", 0)]
    assert (await client.get("/users/current", headers=voter.headers)).json()["votes"] == []
    # The quota (1 with two projects) is free again.
    recast = await client.post(
        "/events/vote", json={"event": event.id, "projects": [second["id"]]}, headers=voter.headers
    )
    assert recast.status_code == 200, recast.text

    await _patch(client, event, owner, phase="closed")
    closed = await client.delete(f"/events/{event.id}/votes/{second['id']}", headers=voter.headers)
    assert (closed.status_code, closed.json()["detail"]) == (403, "Voting is not open for this event")
    assert (
        await client.delete(f"/events/{uuid4()}/votes/{second['id']}", headers=voter.headers)
    ).status_code == 404
    assert (await client.delete(f"/events/{event.id}/votes/nope", headers=voter.headers)).status_code == 422


# The PII gate.

PII = {"street_1": "1 Main St", "city": "Leeds", "country": "GB", "dob": "2008-04-01"}


@pytest.mark.parametrize("missing", [*PII, None])
async def test_a_pii_event_takes_projects_only_from_people_with_an_address(
    client: Client, sign_up: SignUp, create_event: Any, missing: str | None
) -> None:
    owner = await sign_up("Olive")
    maker = await sign_up("Max", **{k: v for k, v in PII.items() if k != missing})
    event = await create_event(owner, demo_links_optional=True)
    await _patch(client, event, owner, require_ysws_pii=True)
    await attend(client, maker, event)
    me = (await client.get("/users/current", headers=maker.headers)).json()
    assert me["has_ysws_pii"] is (missing is None)
    body = {"name": "P", "repo": "r", "image_url": "i", "event_id": event.id}
    response = await client.post("/projects/", json=body, headers=maker.headers)
    if missing is None:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400
        assert "mailing address and date of birth" in response.json()["detail"]


# Disposable addresses.


@pytest.fixture
async def strict_client(settings: Settings, clean_database: object) -> AsyncIterator[Client]:
    app = create_app(dataclasses.replace(settings, disposable_email_check="on"))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_throwaway_addresses_are_refused_when_the_check_is_on(
    strict_client: Client, client: Client, sign_up: SignUp
) -> None:
    message = "Temporary/disposable email addresses aren't allowed. Please use your real email address."
    signup = await strict_client.post("/users/", json={"email": "Tom@Mailinator.com", "first_name": "T"})
    assert (signup.status_code, signup.json()["detail"]) == (400, message)
    existing = await sign_up("Tom", email="tom@mailinator.com")  # the check is off in development
    login = await strict_client.post(
        "/request-login", params={"redirect": ""}, json={"email": existing.email}
    )
    assert (login.status_code, login.json()["detail"]) == (400, message)
    fine = await strict_client.post("/users/", json={"email": "ann@test.local", "first_name": "Ann"})
    assert fine.status_code == 200, fine.text


def test_the_disposable_check_is_on_in_production_and_off_in_development(settings: Settings) -> None:
    assert not settings.blocks_disposable_emails
    assert dataclasses.replace(settings, disposable_email_check="on").blocks_disposable_emails
    production = dataclasses.replace(
        settings,
        env="production",
        mailer="console",
        production_url="https://podium.example.org",
        disposable_email_check="auto",
    )
    assert production.blocks_disposable_emails
    assert not dataclasses.replace(production, disposable_email_check="off").blocks_disposable_emails
