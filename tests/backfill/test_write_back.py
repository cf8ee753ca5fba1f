"""`podium airtable write-back`, the rollback without loss, proved by a round trip over real HTTP:
backfill from the fake Airtable → changes through the API (and SQL) → write-back → backfill the fake's
new state into a fresh database → the same data as the v2 database, ids aside."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.airtable.source import AirtableSource
from podium.adapters.postgres.backfill_store import PostgresBackfillStore
from podium.adapters.postgres.database import create_engine
from podium.cli import main
from podium.config import Settings
from podium.domain.backfill import SourceTable, run_backfill
from podium.http.app import create_app
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.fake_airtable_writes import MAX_RECORDS_PER_REQUEST
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, SyntheticBase
from tests.api.conftest import mint
from tests.backfill.test_cli import environment
from tests.conftest import PostgresForTests

pytestmark = pytest.mark.postgres


@pytest.fixture
def fake(small_base: SyntheticBase) -> Iterator[FakeAirtable]:
    with FakeAirtable({DEFAULT_BASE_ID: small_base.by_table_id()}) as server:
        yield server


def source(fake: FakeAirtable) -> AirtableSource:
    return AirtableSource(
        token=fake.token,
        base_id=DEFAULT_BASE_ID,
        table_ids=DEFAULT_TABLE_IDS,
        endpoint_url=fake.url,
        requests_per_second=None,
    )


def bearer(email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(email, 'access')}"}


async def one(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).one()


async def v2_changes(client: AsyncTestClient[Any], engine: AsyncEngine) -> dict[str, Any]:
    """What organisers and attendees do during the v2 window: sign-ups, a new event with projects and
    votes, edits and deletes of backfilled rows; plus an admin deleting a referral in SQL."""

    async def ok(method: str, url: str, email: str | None = None, **kwargs: Any) -> Any:
        response = await client.request(method, url, headers=bearer(email) if email else {}, **kwargs)
        assert response.status_code == 200, (method, url, response.text)
        return response.json()

    edited_event, deleted_event = [
        await one(engine, "SELECT e.id, u.email FROM events e JOIN users u ON u.id = e.owner_id "
                          "ORDER BY e.airtable_id OFFSET :n LIMIT 1", n=n)
        for n in (0, 1)
    ]  # fmt: skip
    await ok(
        "PUT",
        f"/events/{edited_event.id}",
        edited_event.email,
        json={"name": "Renamed in v2", "votable": True},
    )
    await ok("DELETE", f"/events/{deleted_event.id}", deleted_event.email)
    leaver = await one(
        engine,
        "SELECT a.user_id FROM event_attendees a JOIN events e ON e.id = a.event_id "
        "WHERE a.event_id = :e AND a.user_id <> e.owner_id ORDER BY a.user_id LIMIT 1",
        e=edited_event.id,
    )
    await ok("POST", f"/events/admin/{edited_event.id}/remove-attendee", edited_event.email,
             json={"user_id": str(leaver.user_id)})  # fmt: skip
    edited_project, deleted_project = [
        await one(engine, "SELECT p.id, u.email FROM projects p JOIN users u ON u.id = p.owner_id "
                          "WHERE p.event_id <> :e AND p.demo <> '' ORDER BY p.airtable_id OFFSET :n LIMIT 1",
                  e=deleted_event.id, n=n)
        for n in (0, 1)
    ]  # fmt: skip
    await ok(
        "PUT", f"/projects/{edited_project.id}", edited_project.email, json={"description": "Edited in v2"}
    )
    await ok("DELETE", f"/projects/{deleted_project.id}", deleted_project.email)
    profile = await one(
        engine, "SELECT email FROM users WHERE email NOT LIKE '%.invalid' ORDER BY airtable_id LIMIT 1"
    )
    await ok("PUT", "/users/current", profile.email, json={"last_name": "Changed-in-v2", "city": "Lyon"})
    async with engine.begin() as connection:  # the admin UI deletes a referral
        await connection.execute(
            text("DELETE FROM referrals WHERE id = (SELECT id FROM referrals ORDER BY airtable_id LIMIT 1)")
        )

    for name in ("alice", "bob"):
        await ok("POST", "/users/", json={"email": f"{name}@new.example", "first_name": name.title(),
                                          "display_name": f"{name.title()} New"})  # fmt: skip
    created = await ok(
        "POST", "/events/", "alice@new.example", json={"name": "Born in v2", "description": "new"}
    )
    await ok(
        "PUT",
        f"/events/{created['id']}",
        "alice@new.example",
        json={"votable": True, "leaderboard_enabled": True},
    )
    veteran = profile.email
    for email in ("alice@new.example", "bob@new.example", veteran):
        await ok(
            "POST",
            "/events/attend",
            email,
            params={"join_code": created["join_code"], "referral": f"via {email}"},
        )
    projects = []
    for email, name in (("alice@new.example", "Alice's"), ("bob@new.example", "Bob's")):
        body = {"name": name, "repo": "https://github.com/x/y", "image_url": "https://i/x.png", "demo": "https://d",
                "event_id": created["id"], "hours_spent": 5}  # fmt: skip
        projects.append(await ok("POST", "/projects/", email, json=body))
    for email in (veteran, "bob@new.example"):
        await ok(
            "POST", "/events/vote", email, json={"event": created["id"], "projects": [projects[0]["id"]]}
        )
    return {"event": created, "projects": projects}


async def canonical(url: str) -> dict[str, Any]:
    """Every row the backfill owns, keyed and linked by Airtable ids instead of row ids."""
    engine = create_engine(Settings(), url)
    try:
        existing = await PostgresBackfillStore(engine).load_existing()
    finally:
        await engine.dispose()
    names: dict[Any, str] = {}
    for rows in (existing.users, existing.events, existing.projects, existing.referrals, existing.votes):
        names.update((row.id, row.airtable_id) for row in rows)

    def content(row: Any) -> dict[str, Any]:
        values = {}
        for name in row.__dataclass_fields__:
            if name in ("id", "airtable_id"):
                continue
            value = getattr(row, name)
            values[name] = names.get(value, value) if name.endswith("_id") else value
        return values

    data: dict[str, Any] = {
        table: {row.airtable_id: content(row) for row in rows}
        for table, rows in (("users", existing.users), ("events", existing.events), ("projects", existing.projects),
                            ("referrals", existing.referrals), ("votes", existing.votes))
    }  # fmt: skip
    data["event_attendees"] = sorted(
        ((names[link.event_id], names[link.user_id]) for link in existing.attendees), key=str
    )
    data["project_collaborators"] = sorted(
        ((names[link.project_id], names[link.user_id]) for link in existing.collaborators), key=str
    )
    return data


def differences(v2: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    found = []
    for table in v2:
        if isinstance(v2[table], list):
            for pair in sorted(set(v2[table]) ^ set(fresh[table]), key=str):
                found.append(
                    f"{table} {pair}: {'only in v2' if pair in v2[table] else 'only in the fresh backfill'}"
                )
            continue
        for key in sorted(set(v2[table]) | set(fresh[table]), key=str):
            if v2[table].get(key) != fresh[table].get(key):
                found.append(f"{table} {key}: v2 {v2[table].get(key)} != fresh {fresh[table].get(key)}")
    return found


async def backfill_into(settings: Settings, url: str, fake: FakeAirtable) -> None:
    engine = create_engine(settings, url)
    try:
        await run_backfill(source(fake), PostgresBackfillStore(engine))
    finally:
        await engine.dispose()


def test_write_back_round_trip_over_http(
    fake: FakeAirtable,
    clean_database: AsyncEngine,
    database_url: str,
    settings: Settings,
    pg_server: PostgresForTests,
    tmp_path: Path,
) -> None:
    async def before_write_back() -> dict[str, Any]:
        engine = create_engine(settings)
        try:
            await run_backfill(source(fake), PostgresBackfillStore(engine))
            async with AsyncTestClient(app=create_app(settings)) as client:
                return await v2_changes(client, engine)
        finally:
            await engine.dispose()

    made = asyncio.run(before_write_back())
    env = environment(fake, database_url, tmp_path / "data")
    # Before the write-back, Airtable lacks v2's changes: the comparison below sees them.
    v2_before = asyncio.run(canonical(database_url))
    stale_url = pg_server.create_database("podium_write_back_stale")
    asyncio.run(backfill_into(settings, stale_url, fake))
    missing = differences(v2_before, asyncio.run(canonical(stale_url)))
    assert any("Renamed in v2" in line for line in missing)
    assert any(line.startswith("users None") for line in missing), "v2's sign-ups have no record yet"
    assert any("only in the fresh backfill" in line for line in missing), "v2's deletes are not in Airtable"
    fake.reset_log()

    dry = CliRunner().invoke(main, ["airtable", "write-back", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    # A dry run writes nothing; it only reads, to check the token, the base and its tables.
    assert fake.writes == []
    assert {request.method for request in fake.requests} == {"GET"}
    planned = json.loads(next((tmp_path / "data" / "write-back-reports").iterdir()).read_text())

    # A run that fails half-way (the 4th request is refused) resumes where it stopped.
    fake.fail_write(4)
    failed = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert failed.exit_code == 1, failed.output
    assert "run the same command again to resume" in failed.stderr
    assert [write.status for write in fake.writes] == [200, 200, 200, 503]
    report = tmp_path / "write-back.json"
    result = CliRunner().invoke(main, ["airtable", "write-back", "--report", str(report)], env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(report.read_text())
    assert sum(1 for write in fake.writes if write.status == 200) == planned["requests"], "nothing twice"
    assert payload["requests"] == planned["requests"] - 3
    assert planned["counts"]["users"]["create"] == 2
    assert planned["counts"]["events"] == {"create": 1, "update": 1, "delete": 1}
    assert planned["counts"]["votes"]["create"] == 2
    for write in fake.writes:
        body = json.loads(write.body or b"{}")
        assert len(body.get("records", [])) <= MAX_RECORDS_PER_REQUEST
    # The rows created in v2 now carry their Airtable record ids.
    new_event = next(r for r in fake.records(DEFAULT_BASE_ID, DEFAULT_TABLE_IDS[SourceTable.EVENTS])
                     if r["fields"].get("name") == "Born in v2")  # fmt: skip
    assert len(new_event["fields"]["attendees"]) == 3
    assert new_event["fields"]["votable"] is True

    # Idempotent: a second run writes nothing.
    fake.reset_log()
    again = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert again.exit_code == 0, again.output
    assert "the write-back took 0 requests" in again.output
    assert {request.method for request in fake.requests} == {"GET"}  # the checks before starting

    # And a backfill re-run on the v2 database now finds nothing to do: Airtable and v2 agree.
    async def rerun() -> Any:
        engine = create_engine(settings)
        try:
            return await run_backfill(source(fake), PostgresBackfillStore(engine))
        finally:
            await engine.dispose()

    tallies = asyncio.run(rerun()).tables
    assert {
        str(t): (o.created, o.updated, o.conflicts, o.gone)
        for t, o in tallies.items()
        if (o.created, o.updated, o.conflicts, o.gone) != (0, 0, 0, 0)
    } == {}

    fresh_url = pg_server.create_database("podium_write_back_fresh")
    asyncio.run(backfill_into(settings, fresh_url, fake))
    v2 = asyncio.run(canonical(database_url))
    fresh = asyncio.run(canonical(fresh_url))
    assert None not in v2["users"], "every v2 row was written back"
    assert None not in v2["events"]
    assert made["event"]["slug"] in {e["slug"] for e in v2["events"].values()}
    assert differences(v2, fresh) == []


class Killed(Exception):
    pass


class KilledAfterAirtableAnswered(PostgresBackfillStore):
    """The process dies after Airtable created the records, before their ids are stored."""

    async def record_created(self, *args: Any, **kwargs: Any) -> None:
        raise Killed


def test_a_run_killed_between_create_and_commit_does_not_create_twice(
    fake: FakeAirtable, clean_database: AsyncEngine, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    from podium.adapters.airtable.writer import AirtableWriter
    from podium.domain.backfill.writeback_run import run_write_back

    users_table = DEFAULT_TABLE_IDS[SourceTable.USERS]

    async def setup_and_die() -> None:
        engine = create_engine(settings)
        try:
            await run_backfill(source(fake), PostgresBackfillStore(engine))
            async with AsyncTestClient(app=create_app(settings)) as client:
                for name in ("carol", "dave"):
                    body = {"email": f"{name}@new.example", "first_name": name.title()}
                    assert (await client.post("/users/", json=body)).status_code == 200
            writer = AirtableWriter(token=fake.token, base_id=DEFAULT_BASE_ID, table_ids=DEFAULT_TABLE_IDS,
                                    endpoint_url=fake.url, requests_per_second=None)  # fmt: skip
            with pytest.raises(Killed):
                await run_write_back(KilledAfterAirtableAnswered(engine), writer)
        finally:
            await engine.dispose()

    asyncio.run(setup_and_die())
    created = [
        r
        for r in fake.records(DEFAULT_BASE_ID, users_table)
        if r["fields"].get("email", "").endswith("@new.example")
    ]
    assert len(created) == 2, "Airtable did create them"

    env = environment(fake, database_url, tmp_path / "data")
    resumed = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert resumed.exit_code == 0, resumed.output
    records = fake.records(DEFAULT_BASE_ID, users_table)
    assert sorted(
        r["fields"].get("email", "") for r in records if r["fields"].get("email", "").endswith("@new.example")
    ) == [
        "carol@new.example",
        "dave@new.example",
    ], "adopted, not created again"
    assert (
        "the write-back took 0 requests"
        in CliRunner().invoke(main, ["airtable", "write-back"], env=env).output
    )

    async def airtable_ids() -> set[str]:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT airtable_id FROM users WHERE email LIKE '%@new.example'")
                )
                return {row[0] for row in rows}
        finally:
            await engine.dispose()

    assert asyncio.run(airtable_ids()) == {r["id"] for r in created}


def test_drafts_and_soft_deleted_events_never_reach_airtable(
    fake: FakeAirtable, clean_database: AsyncEngine, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    """Issue 22 item 4: v1 shows every event it holds, so what v2 keeps private is not written back — and
    a record written before the event went private is deleted. Reopened, the event is created anew."""
    events_table = DEFAULT_TABLE_IDS[SourceTable.EVENTS]
    projects_table = DEFAULT_TABLE_IDS[SourceTable.PROJECTS]

    async def scene() -> dict[str, Any]:
        engine = create_engine(settings)
        try:
            await run_backfill(source(fake), PostgresBackfillStore(engine))
            drafted, deleted = [
                await one(engine, "SELECT e.id, e.airtable_id, u.email FROM events e JOIN users u ON u.id = e.owner_id"
                                  " ORDER BY e.airtable_id OFFSET :n LIMIT 1", n=n)
                for n in (0, 1)
            ]  # fmt: skip
            async with AsyncTestClient(app=create_app(settings)) as client:
                await client.post("/users/", json={"email": "nina@new.example", "first_name": "Nina"})
                owner = bearer("nina@new.example")
                made = (await client.post("/events/", json={"name": "Secret in v2"}, headers=owner)).json()
                joined = await client.post(
                    "/events/attend", params={"join_code": made["join_code"], "referral": ""}, headers=owner
                )
                assert joined.status_code == 200, joined.text
                body = {
                    "name": "Hidden work",
                    "event_id": made["id"],
                    "demo": "https://d",
                    "repo": "https://r",
                    "image_url": "https://i/x.png",
                }
                project = await client.post("/projects/", json=body, headers=owner)
                assert project.status_code == 200, project.text
                for event_id, email in ((made["id"], "nina@new.example"), (drafted.id, drafted.email)):
                    moved = await client.patch(
                        f"/events/admin/{event_id}", json={"phase": "draft"}, headers=bearer(email)
                    )
                    assert moved.status_code == 200, moved.text
            async with engine.begin() as connection:  # what a superadmin's delete does
                await connection.execute(text("UPDATE events SET deleted_at = now() WHERE id = :id"),
                                         {"id": deleted.id})  # fmt: skip
            drafted_projects = await one(
                engine, "SELECT array_agg(airtable_id) AS ids FROM projects WHERE event_id = :e", e=drafted.id
            )
            return {
                "made": made,
                "drafted": drafted,
                "deleted": deleted,
                "drafted_projects": drafted_projects.ids,
            }
        finally:
            await engine.dispose()

    state = asyncio.run(scene())
    env = environment(fake, database_url, tmp_path / "data")
    result = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert result.exit_code == 0, result.output
    in_airtable = {r["id"]: r for r in fake.records(DEFAULT_BASE_ID, events_table)}
    assert "Secret in v2" not in {r["fields"].get("name") for r in in_airtable.values()}
    assert state["drafted"].airtable_id not in in_airtable
    assert state["deleted"].airtable_id not in in_airtable
    project_records = {r["id"]: r for r in fake.records(DEFAULT_BASE_ID, projects_table)}
    assert "Hidden work" not in {r["fields"].get("name") for r in project_records.values()}
    assert not set(state["drafted_projects"] or []) & set(project_records)

    # Reopened, the event and its projects are created anew; the soft-deleted one stays away.
    async def reopen() -> None:
        async with AsyncTestClient(app=create_app(settings)) as client:
            moved = await client.patch(f"/events/admin/{state['made']['id']}", json={"phase": "submission"},
                                       headers=bearer("nina@new.example"))  # fmt: skip
            assert moved.status_code == 200, moved.text

    asyncio.run(reopen())
    again = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert again.exit_code == 0, again.output
    names = {r["fields"].get("name") for r in fake.records(DEFAULT_BASE_ID, events_table)}
    assert "Secret in v2" in names
    assert "Hidden work" in {r["fields"].get("name") for r in fake.records(DEFAULT_BASE_ID, projects_table)}
    assert state["deleted"].airtable_id not in {r["id"] for r in fake.records(DEFAULT_BASE_ID, events_table)}
