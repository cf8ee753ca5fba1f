"""Cached lists are exact whoever writes: operators' SQL and an admin UI too (PRODUCT §3.19, issue 11).

The writes below go straight to PostgreSQL, as Mathesar or psql would, never through the API. Two app
instances on the same database (each with its own cache, warmed before the write) must both show the
change on their next read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import EventSetup, Person, SignUp, attend, submit
from tests.support.triggers import actions_by_table, triggers_named

ADMIN_UI_ROLE = "podium_test_admin_ui"
DATA_TABLES = "users, events, projects, votes, project_collaborators, event_attendees, referrals"


@dataclass
class World:
    owner: Person
    voter: Person
    mate: Person
    event: EventSetup
    other: EventSetup
    alpha: dict[str, Any]
    beta: dict[str, Any]


@pytest.fixture
async def world(client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any) -> World:
    owner, voter, mate = await sign_up("Olive"), await sign_up("Vera"), await sign_up("Mo")
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    other = await create_event(owner, votable=True, leaderboard_enabled=True)
    for person in (owner, voter, mate):
        await attend(client, person, event)
    alpha = await submit(client, owner, event, "Alpha")
    beta = await submit(client, owner, event, "Beta")
    joined = await client.post(
        "/projects/join", params={"join_code": beta["join_code"]}, headers=mate.headers
    )
    assert joined.status_code == 200, joined.text
    return World(owner, voter, mate, event, other, alpha, beta)


@pytest.fixture
async def second_instance(settings: Settings, clean_database: object) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as other:
        yield other


@pytest.fixture(scope="session")
async def admin_ui_role(engine: AsyncEngine) -> str:
    """A role with only DML rights on the data tables, as an admin UI connects: no right on the counters."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ADMIN_UI_ROLE}') "
                f"THEN CREATE ROLE {ADMIN_UI_ROLE} NOLOGIN; END IF; END $$"
            )
        )
        await connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {ADMIN_UI_ROLE}"))
        await connection.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {DATA_TABLES} TO {ADMIN_UI_ROLE}")
        )
        await connection.execute(text(f"REVOKE ALL ON event_listing_versions FROM {ADMIN_UI_ROLE}"))
    return ADMIN_UI_ROLE


async def _sql(engine: AsyncEngine, statement: str, role: str | None, **params: Any) -> None:
    async with engine.begin() as connection:
        if role is not None:
            await connection.execute(text(f"SET LOCAL ROLE {role}"))
        await connection.execute(text(statement), params)


async def _list(
    client: AsyncTestClient[Any], event_id: str, leaderboard: bool = True
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/events/{event_id}/projects", params={"leaderboard": str(leaderboard).lower()}
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def _card(board: list[dict[str, Any]], project_id: str) -> dict[str, Any] | None:
    return next((p for p in board if p["id"] == project_id), None)


def _shows(card: dict[str, Any] | None, name: str) -> bool:
    # Names as they appear on a card, whatever the shape of the name fields.
    return card is not None and name in json.dumps(card)


# (SQL as an operator would type it, what the lists must show afterwards)
WRITES: dict[str, tuple[str, Any]] = {
    "project renamed": (
        "UPDATE projects SET name = 'Aardvark' WHERE id = CAST(:alpha AS uuid)",
        lambda w, board, _: _card(board, w.alpha["id"])["name"] == "Aardvark",
    ),
    "vote inserted": (
        "INSERT INTO votes (id, voter_id, project_id, event_id) "
        "VALUES (gen_random_uuid(), CAST(:voter AS uuid), CAST(:alpha AS uuid), CAST(:event AS uuid))",
        lambda w, board, _: _card(board, w.alpha["id"])["points"] == 1,
    ),
    "owner renamed": (
        "UPDATE users SET display_name = 'Olive the Great' WHERE id = CAST(:owner AS uuid)",
        lambda w, board, _: _shows(_card(board, w.alpha["id"]), "Olive the Great"),
    ),
    "project deleted": (
        "DELETE FROM projects WHERE id = CAST(:alpha AS uuid)",
        lambda w, board, _: _card(board, w.alpha["id"]) is None,
    ),
    "collaborator added": (
        "INSERT INTO project_collaborators (project_id, user_id) VALUES (CAST(:alpha AS uuid), CAST(:voter AS uuid))",
        lambda w, board, _: _shows(_card(board, w.alpha["id"]), w.voter.display_name),
    ),
    "collaborator removed": (
        "DELETE FROM project_collaborators WHERE project_id = CAST(:beta AS uuid)",
        lambda w, board, _: not _shows(_card(board, w.beta["id"]), w.mate.display_name),
    ),
    "project moved to another event": (
        "UPDATE projects SET event_id = CAST(:other AS uuid) WHERE id = CAST(:alpha AS uuid)",
        lambda w, board, other_board: (
            _card(board, w.alpha["id"]) is None and _card(other_board, w.alpha["id"]) is not None
        ),
    ),
}


@pytest.mark.parametrize("as_admin_ui", [False, True], ids=["operator", "dml-only-role"])
@pytest.mark.parametrize("write", list(WRITES))
async def test_a_direct_sql_write_shows_on_every_instance_at_the_next_read(
    client: AsyncTestClient[Any],
    second_instance: AsyncTestClient[Any],
    engine: AsyncEngine,
    admin_ui_role: str,
    world: World,
    write: str,
    as_admin_ui: bool,
) -> None:
    statement, shows = WRITES[write]
    w = world
    for instance in (client, second_instance):  # warm both caches
        await _list(instance, w.event.id)
        await _list(instance, w.other.id)
    params = {"alpha": w.alpha["id"], "beta": w.beta["id"], "event": w.event.id, "other": w.other.id,
              "owner": w.owner.id, "voter": w.voter.id}  # fmt: skip
    used = {k: v for k, v in params.items() if f":{k}" in statement}
    await _sql(engine, statement, admin_ui_role if as_admin_ui else None, **used)
    for instance in (client, second_instance):
        board, other_board = await _list(instance, w.event.id), await _list(instance, w.other.id)
        assert shows(w, board, other_board), (write, board, other_board)
        listing = await _list(instance, w.event.id, leaderboard=False)
        assert sorted(p["id"] for p in listing) == sorted(p["id"] for p in board)


async def test_a_leaderboard_closed_in_sql_is_refused_at_once_and_reopened_shows_again(
    client: AsyncTestClient[Any], second_instance: AsyncTestClient[Any], engine: AsyncEngine, world: World
) -> None:
    for instance in (client, second_instance):
        await _list(instance, world.event.id)
    await _sql(engine, "UPDATE events SET leaderboard_enabled = false WHERE id = CAST(:e AS uuid)", None,
               e=world.event.id)  # fmt: skip
    for instance in (client, second_instance):
        refused = await instance.get(f"/events/{world.event.id}/projects", params={"leaderboard": "true"})
        assert refused.status_code == 403
    await _sql(engine, "UPDATE events SET leaderboard_enabled = true WHERE id = CAST(:e AS uuid)", None,
               e=world.event.id)  # fmt: skip
    for instance in (client, second_instance):
        assert len(await _list(instance, world.event.id)) == 2


async def test_votes_truncated_in_sql_leave_every_project_at_zero(
    client: AsyncTestClient[Any], second_instance: AsyncTestClient[Any], engine: AsyncEngine, world: World
) -> None:
    voted = await client.post(
        "/events/vote",
        json={"event": world.event.id, "projects": [world.alpha["id"]]},
        headers=world.voter.headers,
    )
    assert voted.status_code == 200, voted.text
    for instance in (client, second_instance):
        assert _card(await _list(instance, world.event.id), world.alpha["id"])["points"] == 1  # type: ignore[index]
    await _sql(engine, "TRUNCATE votes", None)
    for instance in (client, second_instance):
        assert {p["points"] for p in await _list(instance, world.event.id)} == {0}


async def test_every_listed_table_has_triggers_for_every_kind_of_write(engine: AsyncEngine) -> None:
    """A new listed table, or a trigger dropped by hand, fails here before it fails an organiser."""
    kinds = actions_by_table(await triggers_named(engine, "%bumps_listings"))
    every = {"insert", "delete", "update", "truncate"}
    assert kinds == {
        "projects": every,
        "votes": every,
        "project_collaborators": every,
        "event_attendees": every,
        "referrals": every,
        "users": {"update"},
        "events": {"update", "delete"},
    }
