"""A list brought up to date project by project equals the same list built whole (``list_parts.Parts``)."""

from __future__ import annotations

import json
import random
from uuid import UUID

import pytest

from podium.domain.ports import Changes
from podium.http import list_parts
from podium.http.list_parts import Part, Parts

Row = tuple[UUID, int, str]  # (project, key, value)


def _part(row: Row) -> Part:
    project, key, value = row
    return project, key, json.dumps([key, value]).encode()


def _whole(cursor: str, rows: dict[int, Row]) -> Parts:
    return Parts.of(cursor, map(_part, rows.values()))


@pytest.mark.parametrize("segment_bytes", [1, 40, 32 * 1024], ids=["segments of 1 row", "of ~3", "whole"])
@pytest.mark.parametrize("rows_changed", [1, 3, 40], ids=["one", "a few", "most (sorted again)"])
def test_updated_equals_built_whole_whatever_moves_between_projects(
    rows_changed: int, segment_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(list_parts, "SEGMENT_BYTES", segment_bytes)
    rng = random.Random(rows_changed)
    projects = [UUID(int=rng.getrandbits(128)) for _ in range(8)]
    rows = {key: (rng.choice(projects), key, "v0") for key in rng.sample(range(1000), 60)}
    parts = _whole("c0", rows)
    for step in range(1, 40):
        changed: set[UUID] = set()
        for _ in range(rows_changed):
            action = rng.choice(("add", "drop", "move", "edit"))
            if action == "add" or not rows:
                key = rng.choice([k for k in range(1000) if k not in rows])
                rows[key] = (rng.choice(projects), key, f"v{step}")
                changed.add(rows[key][0])
            else:
                key = rng.choice(list(rows))
                project, _, value = rows[key]
                changed.add(project)
                if action == "drop":
                    del rows[key]
                elif action == "move":
                    rows[key] = (rng.choice(projects), key, value)
                    changed.add(rows[key][0])
                else:
                    rows[key] = (project, key, f"v{step}")
        fresh = [row for row in rows.values() if row[0] in changed]
        before = parts.array()
        updated = parts.updated(Changes(f"c{step}", frozenset(changed), fresh), _part)
        assert parts.array() == before  # the list served so far never changes
        whole = _whole(f"c{step}", rows)
        assert (updated.keys, updated.fragments) == (whole.keys, whole.fragments)
        assert updated.cursor == whole.cursor
        body = updated.array()
        assert json.loads(body) == [[key, rows[key][2]] for key in sorted(rows)]
        assert body == b"[" + b",".join(whole.fragments) + b"]"
        assert updated.array() == body  # joined again from its segments: the same
        parts = updated


def test_an_unknown_set_of_changes_rebuilds_the_whole_list() -> None:
    project = UUID(int=1)
    parts = Parts.of("c0", [_part((project, 1, "a")), _part((project, 2, "b"))])
    rebuilt = parts.updated(Changes("c1", None, [(project, 3, "c")]), _part)
    assert json.loads(rebuilt.array()) == [[3, "c"]]
    assert Parts.of("c2", []).array() == b"[]"


def test_a_change_to_what_the_list_never_held_keeps_the_same_list() -> None:
    project, other_list, empty_project = UUID(int=1), UUID(int=2), UUID(int=3)
    parts = Parts.of("c0", [_part((project, 1, "a")), _part((project, 2, "b"))])
    for named in (frozenset(), frozenset({other_list}), frozenset({other_list, empty_project})):
        same = parts.updated(Changes("c1", named, []), _part)
        assert same.fragments is parts.fragments  # no new body to join
        assert same.cursor == "c1"
    # A project the list holds that has no rows any more is a change: its rows go.
    emptied = parts.updated(Changes("c2", frozenset({project, other_list}), []), _part)
    assert emptied.array() == b"[]"


def test_rows_crowding_into_one_segment_still_make_the_whole_body(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments are chosen when a list is built whole; rows that all land between two bounds later grow one
    segment past its share, and the body stays the whole list in order."""
    monkeypatch.setattr(list_parts, "SEGMENT_BYTES", 24)  # about two rows
    rows = {key: (UUID(int=key + 1), key, "a") for key in range(0, 20_000, 1000)}
    parts = _whole("c0", rows)
    parts.array()
    for step, key in enumerate(range(1001, 1041), start=1):  # each row a project of its own
        rows[key] = (UUID(int=key + 1), key, "b")
        parts = parts.updated(Changes(f"c{step}", frozenset({rows[key][0]}), [rows[key]]), _part)
        assert json.loads(parts.array()) == [[k, rows[k][2]] for k in sorted(rows)]


def test_a_row_already_gone_is_not_taken_for_its_neighbour(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that names too few projects (a row moved from P1 to P2, only P2 named; then P2's row goes):
    when P1 changes next, the row P1 no longer holds is skipped, not its neighbour in the list deleted."""
    monkeypatch.setattr(list_parts, "SEGMENT_BYTES", 1)  # a segment a row
    p1, p2, p3 = UUID(int=1), UUID(int=2), UUID(int=3)
    others = (1, 2, 3, 6, 7, 8, 9, 10, 11, 12)  # enough rows that one change is put in place, not re-sorted
    parts = _whole("c0", {k: (p3, k, "x") for k in others} | {5: (p1, 5, "a")})
    parts.array()
    for step, (named, fresh) in enumerate([({p2}, [(p2, 5, "b")]), ({p2}, []), ({p1}, [])], start=1):
        parts = parts.updated(Changes(f"c{step}", frozenset(named), fresh), _part)
        body = parts.array()
    assert parts.keys == list(others)
    assert json.loads(body) == [[k, "x"] for k in others]
