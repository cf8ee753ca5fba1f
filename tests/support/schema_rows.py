"""A few rows written in plain SQL, for tests of what the schema itself enforces (no service involved)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def seed_two_events(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    """An owner and a voter; events ``event_a`` and ``event_b`` of the owner, each with one project
    (``project_a``, ``project_b``); the voter attends ``event_a``. Returns the ids by those names."""
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


async def insert_vote(engine: AsyncEngine, voter: uuid.UUID, project: uuid.UUID, event: uuid.UUID) -> None:
    """One vote, inserted in a transaction of its own."""
    async with engine.begin() as c:
        await c.execute(
            text("INSERT INTO votes (id, voter_id, project_id, event_id) VALUES (:id, :v, :p, :e)"),
            {"id": uuid.uuid4(), "v": voter, "p": project, "e": event},
        )
