"""Re-running the backfill after go-live never undoes v2: rows changed or deleted in v2 since the last
run are left as they are and reported as conflicts (both values), unless --overwrite-v2-changes;
records deleted in Airtable are reported, and deleted (with what hangs off them) only with --prune."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from sqlalchemy import text

from podium.adapters.memory.backfill_store import MemoryBackfillStore
from podium.adapters.postgres.backfill_store import PostgresBackfillStore
from podium.domain.backfill import (
    BackfillResult,
    BackfillStore,
    EventRow,
    Issue,
    Outcome,
    SourceRecord,
    SourceTable,
    TargetTable,
    VoteRow,
    row_id,
    run_backfill,
)
from podium.testing.record_source import InMemorySource

T = TargetTable
EVENT_ID = row_id(T.EVENTS, "recE")
PROJECT_ID = row_id(T.PROJECTS, "recP")
OTHER_PROJECT_ID = row_id(T.PROJECTS, "recP2")
VOTE_ID = row_id(T.VOTES, "recVote")
OWNER_ID, VOTER_ID = row_id(T.USERS, "recOwner"), row_id(T.USERS, "recVoter")


def rec(rec_id: str, **fields: Any) -> SourceRecord:
    return SourceRecord(rec_id, "2024-01-01T00:00:00.000Z", fields)


def airtable(**changes: Any) -> dict[SourceTable, list[SourceRecord]]:
    """The v1 base: an owner and a voter, an event, two projects, a vote; ``changes`` replace records."""
    records = {
        "u_owner": rec("recOwner", email="owner@x.io", first_name="Olive"),
        "u_voter": rec("recVoter", email="voter@x.io", first_name="Victor"),
        "event": rec("recE", name="Hack", slug="hack", join_code="AB12", owner=["recOwner"],
                     attendees=["recOwner", "recVoter"]),
        "project": rec("recP", name="Alpha", join_code="PA12", owner=["recOwner"], event=["recE"], points=1),
        "project2": rec("recP2", name="Beta", join_code="PB12", owner=["recOwner"], event=["recE"]),
        "vote": rec("recVote", voter=["recVoter"], project=["recP"], event=["recE"]),
    }  # fmt: skip
    records.update(changes)
    kept = {name: record for name, record in records.items() if record is not None}
    return {
        SourceTable.USERS: [kept[n] for n in ("u_owner", "u_voter") if n in kept],
        SourceTable.EVENTS: [kept[n] for n in ("event",) if n in kept],
        SourceTable.PROJECTS: [r for n, r in kept.items() if n.startswith("project")],
        SourceTable.REFERRALS: [],
        SourceTable.VOTES: [r for n, r in kept.items() if n.startswith("vote")],
    }


async def run(store: BackfillStore, records: Any, **options: Any) -> BackfillResult:
    return await run_backfill(InMemorySource(records), store, **options)


# v2 writing through its own path (the API, SQL, the admin UI): never through the backfill.


async def v2_update(store: BackfillStore, table: T, row_id_: UUID, **values: Any) -> None:
    if isinstance(store, MemoryBackfillStore):
        rows = getattr(store._tables, str(table))
        rows[row_id_] = dataclasses.replace(rows[row_id_], **values)
        return
    assert isinstance(store, PostgresBackfillStore)
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    async with store._engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {"id": row_id_, **values}
        )


async def v2_delete(store: BackfillStore, table: T, **where: Any) -> None:
    if isinstance(store, MemoryBackfillStore):
        name = {T.EVENT_ATTENDEES: "attendees", T.PROJECT_COLLABORATORS: "collaborators"}.get(
            table, str(table)
        )
        rows = getattr(store._tables, name)
        for key, row in list(rows.items()):
            if all(getattr(row, column) == value for column, value in where.items()):
                del rows[key]
        if table is T.EVENTS:  # the schema's ON DELETE CASCADE
            store._tables.projects = {
                k: p for k, p in store._tables.projects.items() if p.event_id != where["id"]
            }
            store._tables.votes = {k: v for k, v in store._tables.votes.items() if v.event_id != where["id"]}
            store._tables.attendees = {
                k: a for k, a in store._tables.attendees.items() if a.event_id != where["id"]
            }
        return
    assert isinstance(store, PostgresBackfillStore)
    condition = " AND ".join(f"{name} = :{name}" for name in where)
    async with store._engine.begin() as connection:
        await connection.execute(text(f"DELETE FROM {table} WHERE {condition}"), where)


async def v2_vote(store: BackfillStore, vote: VoteRow) -> None:
    """A vote cast in v2 (no Airtable id)."""
    if isinstance(store, MemoryBackfillStore):
        store._tables.votes[vote.id] = vote
        return
    assert isinstance(store, PostgresBackfillStore)
    async with store._engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO votes (id, voter_id, project_id, event_id) VALUES (:id, :voter, :project, :event)"
            ),
            {"id": vote.id, "voter": vote.voter_id, "project": vote.project_id, "event": vote.event_id},
        )


async def event_row(store: BackfillStore) -> EventRow:
    return next(e for e in (await store.load_existing()).events if e.id == EVENT_ID)


def of(result: BackfillResult, outcome: Outcome) -> list[Issue]:
    return [issue for issue in result.issues if issue.outcome is outcome]


async def test_a_rerun_keeps_voting_open_and_reports_the_conflict_with_both_values(
    store: BackfillStore,
) -> None:
    first = await run(store, airtable())
    assert first.exit_status == 0
    await v2_update(store, T.EVENTS, EVENT_ID, votable=True, leaderboard_enabled=True)

    again = await run(store, airtable())

    assert (await event_row(store)).votable is True, "the re-run did not close voting"
    (conflict,) = of(again, Outcome.CONFLICT)
    assert (conflict.table, conflict.airtable_id, conflict.reason) == (T.EVENTS, "recE", "changed_in_v2")
    assert conflict.v2 == {"votable": True, "leaderboard_enabled": True}
    assert conflict.airtable == {"votable": False, "leaderboard_enabled": False}
    assert again.tables[T.EVENTS].conflicts == 1
    assert again.tables[T.EVENTS].updated == 0
    assert again.exit_status == 3
    # Reported again, and still kept, by every later run.
    assert len(of(await run(store, airtable()), Outcome.CONFLICT)) == 1
    assert (await event_row(store)).votable is True


async def test_airtable_edits_to_rows_v2_did_not_touch_still_arrive(store: BackfillStore) -> None:
    await run(store, airtable())
    await v2_update(store, T.EVENTS, EVENT_ID, votable=True)
    changed = airtable(
        event=rec("recE", name="Hack 2", slug="hack", join_code="AB12", owner=["recOwner"],
                  attendees=["recOwner", "recVoter"]),
        project2=rec("recP2", name="Beta Renamed", join_code="PB12", owner=["recOwner"], event=["recE"]),
    )  # fmt: skip

    result = await run(store, changed)

    existing = await store.load_existing()
    assert next(p for p in existing.projects if p.id == OTHER_PROJECT_ID).name == "Beta Renamed"
    assert result.tables[T.PROJECTS].updated == 1
    # The event changed on both sides: v2 wins, both values are in the report.
    event = await event_row(store)
    assert (event.name, event.votable) == ("Hack", True)
    (conflict,) = of(result, Outcome.CONFLICT)
    assert conflict.reason == "changed_in_both"
    assert conflict.v2 == {"name": "Hack", "votable": True}
    assert conflict.airtable == {"name": "Hack 2", "votable": False}
    assert "name: v2 'Hack', Airtable 'Hack 2'" in conflict.detail


async def test_overwrite_v2_changes_writes_airtable_values_and_then_nothing_conflicts(
    store: BackfillStore,
) -> None:
    await run(store, airtable())
    await v2_update(store, T.EVENTS, EVENT_ID, votable=True)
    await v2_delete(store, T.VOTES, id=VOTE_ID)

    result = await run(store, airtable(), overwrite_v2_changes=True)

    assert (await event_row(store)).votable is False
    assert VOTE_ID in {v.id for v in (await store.load_existing()).votes}
    assert {
        (i.table, i.reason) for i in of(result, Outcome.ALTERED) if i.reason == "v2_change_overwritten"
    } == {
        (T.EVENTS, "v2_change_overwritten"),
        (T.VOTES, "v2_change_overwritten"),
    }
    assert not of(result, Outcome.CONFLICT)
    after = await run(store, airtable())
    assert after.exit_status == 0
    assert not of(after, Outcome.CONFLICT)


async def test_rows_and_links_deleted_in_v2_stay_deleted(store: BackfillStore) -> None:
    await run(store, airtable())
    await v2_delete(store, T.VOTES, id=VOTE_ID)
    await v2_delete(store, T.EVENT_ATTENDEES, event_id=EVENT_ID, user_id=VOTER_ID)

    result = await run(store, airtable())

    existing = await store.load_existing()
    assert VOTE_ID not in {v.id for v in existing.votes}
    assert (EVENT_ID, VOTER_ID) not in {(a.event_id, a.user_id) for a in existing.attendees}
    conflicts = {(i.table, i.airtable_id, i.reason) for i in of(result, Outcome.CONFLICT)}
    assert conflicts == {
        (T.VOTES, "recVote", "deleted_in_v2"),
        (T.EVENT_ATTENDEES, "recE/recVoter", "deleted_in_v2"),
    }


async def test_a_new_airtable_record_under_a_row_deleted_in_v2_is_skipped_not_a_crash(
    store: BackfillStore,
) -> None:
    await run(store, airtable())
    await v2_delete(store, T.EVENTS, id=EVENT_ID)
    later = airtable(
        project3=rec("recP3", name="Gamma", join_code="PC12", owner=["recOwner"], event=["recE"])
    )

    result = await run(store, later)

    assert not (await store.load_existing()).events
    skipped = {(i.airtable_id, i.reason) for i in of(result, Outcome.SKIPPED)}
    assert ("recP3", "parent_deleted_in_v2") in skipped
    assert ("recE", "deleted_in_v2") in {(i.airtable_id, i.reason) for i in of(result, Outcome.CONFLICT)}


async def test_records_deleted_in_airtable_are_reported_and_only_pruned_when_asked(
    store: BackfillStore,
) -> None:
    await run(store, airtable())
    v2_vote_row = VoteRow(UUID(int=7), None, OWNER_ID, PROJECT_ID, EVENT_ID)
    await v2_vote(store, v2_vote_row)
    deleted = airtable(project=None, vote=None)

    reported = await run(store, deleted)

    existing = await store.load_existing()
    assert PROJECT_ID in {p.id for p in existing.projects}, "nothing is deleted without --prune"
    gone = {(i.table, i.airtable_id, i.reason) for i in of(reported, Outcome.GONE)}
    assert gone == {(T.PROJECTS, "recP", "deleted_in_airtable"), (T.VOTES, "recVote", "deleted_in_airtable")}
    assert reported.exit_status == 3

    dry = await run(store, deleted, prune=True, dry_run=True)
    assert {i.airtable_id for i in of(dry, Outcome.PRUNED)} == {"recP", "recVote"}
    assert PROJECT_ID in {p.id for p in (await store.load_existing()).projects}

    pruned = await run(store, deleted, prune=True)

    rows = {(i.table, i.airtable_id, i.reason) for i in of(pruned, Outcome.PRUNED)}
    assert rows == {
        (T.PROJECTS, "recP", "deleted_in_airtable"),
        (T.VOTES, "recVote", "deleted_in_airtable"),
        (T.VOTES, str(v2_vote_row.id), "depends_on_pruned"),  # a v2 vote on the pruned project
    }
    assert pruned.tables[T.VOTES].pruned == 2
    assert pruned.exit_status == 0
    existing = await store.load_existing()
    assert PROJECT_ID not in {p.id for p in existing.projects}
    assert OTHER_PROJECT_ID in {p.id for p in existing.projects}
    assert {v.id for v in existing.votes} == set()
    after = await run(store, deleted)
    assert after.exit_status == 0
    assert not after.issues


async def test_a_link_removed_in_airtable_is_gone_and_pruned(store: BackfillStore) -> None:
    await run(store, airtable())
    unlinked = airtable(
        event=rec(
            "recE", name="Hack", slug="hack", join_code="AB12", owner=["recOwner"], attendees=["recOwner"]
        )
    )
    reported = await run(store, unlinked)
    assert {(i.table, i.airtable_id) for i in of(reported, Outcome.GONE)} == {
        (T.EVENT_ATTENDEES, "recE/recVoter")
    }
    pruned = await run(store, unlinked, prune=True)
    assert [(i.table, i.reason) for i in of(pruned, Outcome.PRUNED)] == [
        (T.EVENT_ATTENDEES, "deleted_in_airtable")
    ]
    assert {(a.event_id, a.user_id) for a in (await store.load_existing()).attendees} == {
        (EVENT_ID, OWNER_ID)
    }


async def test_a_dry_run_reports_the_conflicts_and_changes_nothing(store: BackfillStore) -> None:
    await run(store, airtable())
    await v2_update(store, T.EVENTS, EVENT_ID, votable=True)
    before = await store.load_existing()
    result = await run(store, airtable(), dry_run=True, overwrite_v2_changes=False)
    assert len(of(result, Outcome.CONFLICT)) == 1
    assert await store.load_existing() == before


async def test_a_rerun_writes_nothing_into_an_event_soft_deleted_in_v2(
    pg_store: PostgresBackfillStore,
) -> None:
    """Issue 22: a soft-deleted event is still a row, but nothing may be added to it (its trigger refuses):
    Airtable's new or changed records under it are skipped like those under a deleted event, not a crash."""
    await run(pg_store, airtable())
    async with pg_store._engine.begin() as connection:
        await connection.execute(
            text("UPDATE events SET deleted_at = now() WHERE id = :id"), {"id": EVENT_ID}
        )
    later = airtable(
        project=rec("recP", name="Alpha 2", join_code="PA12", owner=["recOwner"], event=["recE"], points=1),
        project3=rec("recP3", name="Gamma", join_code="PC12", owner=["recOwner"], event=["recE"]),
    )

    result = await run(pg_store, later)

    skipped = {(i.airtable_id, i.reason) for i in of(result, Outcome.SKIPPED)}
    assert {("recP", "parent_deleted_in_v2"), ("recP3", "parent_deleted_in_v2")} <= skipped
    names = {p.name for p in (await pg_store.load_existing()).projects}
    assert names == {"Alpha", "Beta"}
