"""Cached lists are brought up to date from the projects the schema marked as changed (migration 0015), and
stay exact (PRODUCT §3.19): after any write, from any writer, in any commit order, a cached list equals the
list read afresh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import EventSetup, Person, SignUp, attend, submit
from tests.support.triggers import actions_by_table, triggers_named

NEW_VOTE = (
    "INSERT INTO votes (id, voter_id, project_id, event_id) "
    "VALUES (gen_random_uuid(), CAST(:voter AS uuid), CAST(:project AS uuid), CAST(:event AS uuid))"
)


@dataclass
class World:
    owner: Person
    voters: list[Person]
    event: EventSetup
    other: EventSetup
    projects: list[dict[str, Any]]


@pytest.fixture
async def world(client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any) -> World:
    owner = await sign_up("Olive")
    voters = [await sign_up(name) for name in ("Vera", "Wes", "Xia")]
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    other = await create_event(owner, votable=True, leaderboard_enabled=True)
    for person in (owner, *voters):
        await attend(client, person, event)
    projects = [await submit(client, owner, event, name) for name in ("Alpha", "Beta", "Gamma")]
    return World(owner, voters, event, other, projects)


@pytest.fixture
async def fresh(settings: Settings, clean_database: object) -> AsyncIterator[AsyncTestClient[Any]]:
    """The same app with no cache: every read builds its lists from scratch."""
    async with AsyncTestClient(app=create_app(replace(settings, leaderboard_cache=False))) as uncached:
        yield uncached


async def _lists(instance: AsyncTestClient[Any], world: World, both: bool = True) -> dict[str, Any]:
    """Every cached list of the event (and of the other event, with ``both``), as served."""
    out: dict[str, Any] = {}
    for event in (world.event, world.other) if both else (world.event,):
        for name, path, params in (
            ("leaderboard", f"/events/{event.id}/projects", {"leaderboard": "true"}),
            ("listing", f"/events/{event.id}/projects", {"leaderboard": "false"}),
            ("organiser leaderboard", f"/events/admin/{event.id}/leaderboard", {}),
            ("organiser votes", f"/events/admin/{event.id}/votes", {}),
            ("attendees", f"/events/admin/{event.id}/attendees", {}),
            ("referrals", f"/events/admin/{event.id}/referrals", {}),
        ):
            response = await instance.get(path, params=params, headers=world.owner.headers)
            assert response.status_code == 200, response.text
            body = response.json()
            out[f"{name} of {event.id}"] = sorted(body, key=lambda p: p["id"]) if name == "listing" else body
    return out


async def _sql(engine: AsyncEngine, statement: str, **params: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(statement), params)


async def _points(instance: AsyncTestClient[Any], world: World) -> dict[str, int]:
    board = (await _lists(instance, world))[f"leaderboard of {world.event.id}"]
    return {p["name"]: p["points"] for p in board}


async def test_a_transaction_that_began_first_and_committed_last_is_not_missed(
    client: AsyncTestClient[Any], fresh: AsyncTestClient[Any], engine: AsyncEngine, world: World
) -> None:
    """Transaction ids are handed out in the order transactions first write, not the order they commit:
    a cursor that kept "the highest id seen" would skip the first one here."""
    alpha, beta = world.projects[0]["id"], world.projects[1]["id"]
    await _lists(client, world)  # cached
    async with engine.connect() as first:
        await first.begin()
        await first.execute(text(NEW_VOTE), {"voter": world.voters[0].id, "project": alpha,
                                             "event": world.event.id})  # fmt: skip
        first_id = (await first.execute(text("SELECT txid_current()"))).scalar_one()
        async with engine.begin() as second:
            await second.execute(text(NEW_VOTE), {"voter": world.voters[1].id, "project": beta,
                                                  "event": world.event.id})  # fmt: skip
            second_id = (await second.execute(text("SELECT txid_current()"))).scalar_one()
        assert first_id < second_id
        # The caches move on while the first transaction is still open: they see the second one only.
        assert await _lists(client, world) == await _lists(fresh, world)
        assert (await _points(client, world))["Beta"] == 1
        await first.commit()
    assert await _lists(client, world) == await _lists(fresh, world)
    assert await _points(client, world) == {"Alpha": 1, "Beta": 1, "Gamma": 0}


async def test_every_kind_of_write_leaves_the_cached_lists_equal_to_fresh_ones(
    client: AsyncTestClient[Any], fresh: AsyncTestClient[Any], engine: AsyncEngine, world: World
) -> None:
    alpha, beta, gamma = (p["id"] for p in world.projects)
    vera, wes, xia = (v.id for v in world.voters)
    event, other = world.event.id, world.other.id
    writes = [
        (NEW_VOTE, {"voter": vera, "project": alpha, "event": event}),
        ("INSERT INTO referrals (id, content, user_id, event_id) VALUES (gen_random_uuid(), 'a friend', "
         "CAST(:u AS uuid), CAST(:e AS uuid))", {"u": vera, "e": event}),
        ("UPDATE users SET display_name = 'Vera V' WHERE id = CAST(:u AS uuid)", {"u": vera}),
        ("DELETE FROM event_attendees WHERE user_id = CAST(:u AS uuid) AND event_id = CAST(:e AS uuid)",
         {"u": world.owner.id, "e": event}),
        ("UPDATE referrals SET content = 'a poster' WHERE user_id = CAST(:u AS uuid)", {"u": vera}),
        (NEW_VOTE, {"voter": wes, "project": alpha, "event": event}),
        (NEW_VOTE, {"voter": xia, "project": beta, "event": event}),
        # A vote moved between projects: never on both, never on neither.
        ("UPDATE votes SET project_id = CAST(:to AS uuid) WHERE voter_id = CAST(:voter AS uuid) "
         "AND project_id = CAST(:from AS uuid)", {"voter": vera, "from": alpha, "to": gamma}),
        ("UPDATE votes SET voter_id = CAST(:to AS uuid) WHERE voter_id = CAST(:voter AS uuid)",
         {"voter": xia, "to": vera}),
        ("DELETE FROM votes WHERE voter_id = CAST(:voter AS uuid)", {"voter": wes}),
        ("UPDATE projects SET name = 'Aardvark', legacy_points = 5 WHERE id = CAST(:p AS uuid)", {"p": gamma}),
        ("UPDATE projects SET description = 'new words' WHERE id = CAST(:p AS uuid)", {"p": beta}),
        ("INSERT INTO project_collaborators (project_id, user_id) VALUES (CAST(:p AS uuid), CAST(:u AS uuid))",
         {"p": beta, "u": wes}),
        ("UPDATE users SET display_name = 'Wes the Second' WHERE id = CAST(:u AS uuid)", {"u": wes}),
        ("UPDATE users SET display_name = 'Olive the Great' WHERE id = CAST(:u AS uuid)", {"u": world.owner.id}),
        ("DELETE FROM project_collaborators WHERE project_id = CAST(:p AS uuid)", {"p": beta}),
        ("UPDATE projects SET event_id = CAST(:e AS uuid) WHERE id = CAST(:p AS uuid)", {"p": alpha, "e": other}),
        ("UPDATE projects SET event_id = CAST(:e AS uuid) WHERE id = CAST(:p AS uuid)", {"p": alpha, "e": event}),
        (NEW_VOTE, {"voter": wes, "project": alpha, "event": event}),
        ("UPDATE events SET name = 'Renamed' WHERE id = CAST(:e AS uuid)", {"e": event}),
        ("DELETE FROM projects WHERE id = CAST(:p AS uuid)", {"p": beta}),
        ("TRUNCATE votes", {}),
        ("TRUNCATE referrals", {}),
        ("INSERT INTO event_attendees (event_id, user_id) VALUES (CAST(:e AS uuid), CAST(:u AS uuid))",
         {"u": world.owner.id, "e": event}),
        (NEW_VOTE, {"voter": xia, "project": gamma, "event": event}),
        # Someone empties the marks by hand: every list is read again whole.
        ("TRUNCATE listing_marks", {}),
        (NEW_VOTE, {"voter": vera, "project": gamma, "event": event}),
    ]  # fmt: skip
    assert await _lists(client, world) == await _lists(fresh, world)
    for statement, params in writes:
        await _sql(engine, statement, **params)
        both = "SET event_id" in statement  # the other event's lists change only when a project moves
        assert await _lists(client, world, both) == await _lists(fresh, world, both), statement
    await submit(client, world.owner, world.event, "Delta")  # through the API too
    assert await _lists(client, world) == await _lists(fresh, world)
    assert await _points(client, world) == {"Aardvark": 7, "Alpha": 0, "Delta": 0}


async def test_every_listed_table_has_marking_triggers_that_fire_after_the_version_bump(
    engine: AsyncEngine,
) -> None:
    """A new listed table, or a trigger dropped by hand, fails here before it fails an organiser. Each
    marking trigger fires after the same write's version bump (triggers fire in name order): a transaction
    marks an event's rows of its slot only once it holds that event's counter row of the same slot, so the
    marks add no lock wait and no deadlock to what the counters already had."""
    triggers = await triggers_named(engine, "%marks_lists", "%bumps_listings")
    fired: dict[tuple[str, str], list[str]] = {}
    for trigger in triggers:
        for action in trigger.actions:
            fired.setdefault((trigger.table, action), []).append(trigger.name)
    kinds = actions_by_table(trigger for trigger in triggers if trigger.name.endswith("marks_lists"))
    for (table, action), names in fired.items():
        if table in kinds and table != "listing_marks" and action in kinds[table]:
            assert sorted(names) == [f"{table}_{action}_bumps_listings", f"{table}_{action}_marks_lists"]
    every = {"insert", "delete", "update", "truncate"}
    assert kinds == {
        "projects": every,
        "votes": every,
        "project_collaborators": every,
        "event_attendees": every,
        "referrals": every,
        "users": {"update"},
        "listing_marks": {"truncate"},
    }


def _paths(world: World) -> list[tuple[str, dict[str, str]]]:
    event = world.event.id
    return [
        (f"/events/{event}/projects", {"leaderboard": "true"}),
        (f"/events/{event}/projects", {"leaderboard": "false"}),
        *(
            (f"/events/admin/{event}/{view}", {})
            for view in ("leaderboard", "votes", "attendees", "referrals")
        ),
    ]


async def test_a_cached_list_is_brought_up_to_date_and_checked_by_one_statement(
    client: AsyncTestClient[Any], engine: AsyncEngine, world: World
) -> None:
    """Once a list is cached, a read after a change costs what a read with none does: one statement reads
    what changed with the event's state (the version, who may see it), no version lookup before it."""
    await _lists(client, world, both=False)  # cached
    sent: list[str] = []
    app_engine = client.app.state.container.engine.sync_engine
    listener = lambda _conn, _cursor, statement, *_: sent.append(statement)  # noqa: E731
    sqlalchemy_event.listen(app_engine, "before_cursor_execute", listener)
    try:
        vera, alpha, event = world.voters[0].id, world.projects[0]["id"], world.event.id
        for path, params in _paths(world):
            costs = []
            for change in (None, NEW_VOTE, "DELETE FROM votes WHERE voter_id = CAST(:voter AS uuid)"):
                if change is not None:
                    await _sql(engine, change, voter=vera, project=alpha, event=event)
                start = len(sent)
                response = await client.get(path, params=params, headers=world.owner.headers)
                assert response.status_code == 200, response.text
                # The version lookup reads the counters; the read of what changed, the marks.
                costs.append(sum("listing_marks" in s or "event_listing_versions" in s for s in sent[start:]))
            assert costs == [1, 1, 1], path
    finally:
        sqlalchemy_event.remove(app_engine, "before_cursor_execute", listener)


async def test_a_cached_list_is_shown_only_to_whom_it_may_be_shown(
    client: AsyncTestClient[Any], engine: AsyncEngine, world: World, sign_up: SignUp
) -> None:
    """The check is made on every read against the same read as the rows, cached or not: a stranger never
    sees an organiser's list, a hidden leaderboard or a deleted event's lists."""
    stranger = await sign_up("Sam")
    await _lists(client, world, both=False)  # cached
    organiser_paths = [(path, params) for path, params in _paths(world) if "/admin/" in path]
    for path, params in organiser_paths:
        response = await client.get(path, params=params, headers=stranger.headers)
        assert response.status_code == 403, path
    await _sql(
        engine, "UPDATE events SET leaderboard_enabled = false WHERE id = CAST(:e AS uuid)", e=world.event.id
    )
    leaderboard, listing = _paths(world)[:2]
    assert (await client.get(leaderboard[0], params=leaderboard[1])).status_code == 403
    assert (await client.get(listing[0], params=listing[1])).status_code == 200
    await _sql(engine, "UPDATE events SET deleted_at = now() WHERE id = CAST(:e AS uuid)", e=world.event.id)
    assert (await client.get(listing[0], params=listing[1])).status_code == 404
    for path, params in organiser_paths:
        response = await client.get(path, params=params, headers=world.owner.headers)
        assert response.status_code == 403, path
