"""Invariants the database itself enforces (PRODUCT §3.11, §3.16; STYLE habit 5)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.usefixtures("clean_database")


async def _seed(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    ids = {name: uuid.uuid4() for name in ("owner", "voter", "event_a", "event_b", "project_a", "project_b")}
    async with engine.begin() as c:
        for user in ("owner", "voter"):
            await c.execute(
                text(
                    "INSERT INTO users (id, email, display_name, first_name, last_name, phone, street_1,"
                    " street_2, city, state, zip_code, country) VALUES (:id, :email, '', 'X', '', '', '', '',"
                    " '', '', '', '')"
                ),
                {"id": ids[user], "email": f"{user}@example.com"},
            )
        for event, code in (("event_a", "AAAAAA"), ("event_b", "BBBBBB")):
            await c.execute(
                text(
                    "INSERT INTO events (id, name, slug, description, join_code, votable, leaderboard_enabled,"
                    " demo_links_optional, ysws_checks_enabled, feature_flags_csv, owner_id) VALUES"
                    " (:id, :name, :name, '', :code, true, false, false, false, '', :owner)"
                ),
                {"id": ids[event], "name": event.replace("_", "-"), "code": code, "owner": ids["owner"]},
            )
        for project, event, code in (("project_a", "event_a", "PA2345"), ("project_b", "event_b", "PB2345")):
            await c.execute(
                text(
                    "INSERT INTO projects (id, name, repo, image_url, demo, description, join_code, hours_spent,"
                    " owner_id, event_id) VALUES (:id, 'p', '', '', '', '', :code, 0, :owner, :event)"
                ),
                {"id": ids[project], "code": code, "owner": ids["owner"], "event": ids[event]},
            )
        await c.execute(
            text("INSERT INTO event_attendees (event_id, user_id) VALUES (:e, :u)"),
            {"e": ids["event_a"], "u": ids["voter"]},
        )
    return ids


async def _vote(engine: AsyncEngine, voter: uuid.UUID, project: uuid.UUID, event: uuid.UUID) -> None:
    async with engine.begin() as c:
        await c.execute(
            text("INSERT INTO votes (id, voter_id, project_id, event_id) VALUES (:id, :v, :p, :e)"),
            {"id": uuid.uuid4(), "v": voter, "p": project, "e": event},
        )


async def test_a_vote_project_must_belong_to_the_vote_event(clean_database: AsyncEngine) -> None:
    ids = await _seed(clean_database)
    with pytest.raises(IntegrityError, match="votes_project_id_event_id_fkey"):
        await _vote(clean_database, ids["voter"], ids["project_b"], ids["event_a"])


async def test_one_vote_per_voter_and_project(clean_database: AsyncEngine) -> None:
    ids = await _seed(clean_database)
    await _vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])
    with pytest.raises(IntegrityError, match="votes_voter_id_project_id_key"):
        await _vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])


async def test_deleting_an_event_deletes_everything_under_it(clean_database: AsyncEngine) -> None:
    ids = await _seed(clean_database)
    await _vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])
    async with clean_database.begin() as c:
        await c.execute(
            text("INSERT INTO referrals (id, content, user_id, event_id) VALUES (:id, 'friend', :u, :e)"),
            {"id": uuid.uuid4(), "u": ids["voter"], "e": ids["event_a"]},
        )
        await c.execute(
            text("INSERT INTO project_collaborators (project_id, user_id) VALUES (:p, :u)"),
            {"p": ids["project_a"], "u": ids["voter"]},
        )
        await c.execute(text("DELETE FROM events WHERE id = :e"), {"e": ids["event_a"]})
        counts = {
            table: (await c.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("projects", "votes", "referrals", "event_attendees", "project_collaborators")
        }
    assert counts == {
        "projects": 1,  # project_b, in the other event
        "votes": 0,
        "referrals": 0,
        "event_attendees": 0,
        "project_collaborators": 0,
    }


async def test_deleting_a_project_deletes_its_votes_and_collaborators(clean_database: AsyncEngine) -> None:
    ids = await _seed(clean_database)
    await _vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])
    async with clean_database.begin() as c:
        await c.execute(
            text("INSERT INTO project_collaborators (project_id, user_id) VALUES (:p, :u)"),
            {"p": ids["project_a"], "u": ids["voter"]},
        )
        await c.execute(text("DELETE FROM projects WHERE id = :p"), {"p": ids["project_a"]})
        votes = (await c.execute(text("SELECT count(*) FROM votes"))).scalar_one()
        links = (await c.execute(text("SELECT count(*) FROM project_collaborators"))).scalar_one()
    assert (votes, links) == (0, 0)


async def test_legacy_points_cannot_be_negative(clean_database: AsyncEngine) -> None:
    ids = await _seed(clean_database)
    with pytest.raises(IntegrityError, match="legacy_points_non_negative"):
        async with clean_database.begin() as c:
            await c.execute(
                text("UPDATE projects SET legacy_points = -1 WHERE id = :p"), {"p": ids["project_a"]}
            )
