"""Invariants the database itself enforces (PRODUCT §3.11, §3.16; STYLE habit 5)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.schema_rows import insert_vote, seed_two_events

pytestmark = pytest.mark.usefixtures("clean_database")


async def test_a_vote_project_must_belong_to_the_vote_event(clean_database: AsyncEngine) -> None:
    ids = await seed_two_events(clean_database)
    with pytest.raises(IntegrityError, match="votes_project_id_event_id_fkey"):
        await insert_vote(clean_database, ids["voter"], ids["project_b"], ids["event_a"])


async def test_one_vote_per_voter_and_project(clean_database: AsyncEngine) -> None:
    ids = await seed_two_events(clean_database)
    await insert_vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])
    with pytest.raises(IntegrityError, match="votes_voter_id_project_id_key"):
        await insert_vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])


async def test_deleting_an_event_deletes_everything_under_it(clean_database: AsyncEngine) -> None:
    ids = await seed_two_events(clean_database)
    await insert_vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])
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
    ids = await seed_two_events(clean_database)
    await insert_vote(clean_database, ids["voter"], ids["project_a"], ids["event_a"])
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
    ids = await seed_two_events(clean_database)
    with pytest.raises(IntegrityError, match="legacy_points_non_negative"):
        async with clean_database.begin() as c:
            await c.execute(
                text("UPDATE projects SET legacy_points = -1 WHERE id = :p"), {"p": ids["project_a"]}
            )
