"""A cached list kept as one encoded part per row, in order, brought up to date project by project.

A change to an event touches one project's card or votes; re-reading and re-encoding only those rows keeps
the cost of a change to the readers independent of the event's size (issue 26): what remains is copying
the list of parts and the body, both in C.

The body is joined from segments of about ``SEGMENT_BYTES`` each, each kept joined: a change re-joins the
segments it touched, then the body from the segments. Joining 18,000 separate rows (an organiser's votes
at 3× the seed) reads 18,000 objects spread over the heap; the segments are ~110 contiguous blocks. A
segment is the rows whose keys lie between two bounds, chosen when the list is built whole (every so many
keys: as many rows as make ``SEGMENT_BYTES`` on average) and kept while the list changes (chosen again
when one segment outgrows its share).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable
from operator import itemgetter
from typing import Any, TypeVar
from uuid import UUID

from podium.domain.ports import Changes

R = TypeVar("R")
# A row as a part: its project (the unit a change names), its sort key (unique in the list), its JSON.
Part = tuple[UUID, Any, bytes]
# When more rows than this share of the list changed, sorting everything again is cheaper than inserting.
_RESORT_SHARE = 8
# The size of a segment of the body when bounds are chosen; a segment that grew past _OUTGROWN times its
# rows then has the bounds chosen again.
SEGMENT_BYTES = 32 * 1024
_OUTGROWN = 4
# A list's segments: each one's lowest key (the first is open below), each one's rows joined (None: not
# joined yet), and the rows a segment had when they were chosen.
_Segments = tuple[list[Any], list[bytes | None], int]


class Parts:
    """Immutable: ``updated`` returns a new one, so a body being served never changes under its reader."""

    __slots__ = ("_bounds", "_rows_each", "_segments", "cursor", "fragments", "keys", "projects")

    def __init__(
        self,
        cursor: str,
        keys: list[Any],
        fragments: list[bytes],
        projects: dict[UUID, list[Any]],
        segments: _Segments | None = None,
    ) -> None:
        self.cursor = cursor  # the store's cursor of the read this list is as of
        self.keys = keys  # sorted
        self.fragments = fragments  # fragments[i] is the row of keys[i]
        self.projects = projects  # each project's keys
        # The body's segments (``_Segments``): only ``array`` fills them in or chooses them.
        self._bounds, self._segments, self._rows_each = segments if segments is not None else ([], [], 0)

    @classmethod
    def of(cls, cursor: str, parts: Iterable[Part]) -> Parts:
        ordered = sorted(parts, key=itemgetter(1))
        projects: dict[UUID, list[Any]] = {}
        for project, key, _ in ordered:
            projects.setdefault(project, []).append(key)
        return cls(cursor, [p[1] for p in ordered], [p[2] for p in ordered], projects)

    def updated(self, changes: Changes[R], part: Callable[[R], Part]) -> Parts:
        """This list with ``changes`` applied: the changed projects' rows replaced by their new ones."""
        if changes.projects is None:
            return Parts.of(changes.cursor, map(part, changes.rows))
        if not changes.rows and self.projects.keys().isdisjoint(changes.projects):
            # Nothing this list holds changed (nothing at all, or only what it never held: another list of
            # the event, such as its attendees, or a project with no rows here): the same list, a newer cursor.
            same = (self._bounds, self._segments, self._rows_each)
            return Parts(changes.cursor, self.keys, self.fragments, self.projects, same)
        fresh: dict[UUID, dict[Hashable, bytes]] = {project: {} for project in changes.projects}
        for project, key, fragment in map(part, changes.rows):
            fresh.setdefault(project, {})[key] = fragment
        wanted = {key: fragment for rows in fresh.values() for key, fragment in rows.items()}
        if len(wanted) * _RESORT_SHARE > len(self.keys):
            return self._rebuilt(changes.cursor, fresh)
        keys, fragments, projects = self.keys.copy(), self.fragments.copy(), self.projects.copy()
        touched: list[Any] = []  # the keys of every row removed, added or replaced
        # Every old row of a changed project goes first (unless it is unchanged), then the new rows come
        # in: a row moved between two changed projects (a vote) is never in the list twice.
        for project in fresh:
            for key in projects.pop(project, ()):
                i = bisect_left(keys, key)
                if i == len(keys) or keys[i] != key:
                    continue  # already gone: moved to a project named alone earlier (a store naming too few)
                if wanted.get(key) == fragments[i]:
                    del wanted[key]
                else:
                    del keys[i], fragments[i]
                    touched.append(key)
        for key, fragment in wanted.items():
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:  # only if the store named too few projects: stay correct
                fragments[i] = fragment
            else:
                keys.insert(i, key)
                fragments.insert(i, fragment)
            touched.append(key)
        for project, rows in fresh.items():
            if rows:
                projects[project] = list(rows)
        return Parts(changes.cursor, keys, fragments, projects, self._segments_after(touched))

    def _segments_after(self, touched: list[Any]) -> _Segments | None:
        """The segments of this list once changed at ``touched``: the same bounds, the touched segments to
        join again (None, chosen afresh, when this list has none yet)."""
        if not self._bounds:
            return None
        segments = self._segments.copy()
        for key in touched:
            segments[max(bisect_right(self._bounds, key) - 1, 0)] = None
        return self._bounds, segments, self._rows_each

    def _rebuilt(self, cursor: str, fresh: dict[UUID, dict[Hashable, bytes]]) -> Parts:
        kept = (
            (project, key, fragment)
            for project, keys in self.projects.items()
            if project not in fresh
            for key, fragment in zip(keys, self._fragments_of(keys), strict=True)
        )
        new = ((project, key, fragment) for project, rows in fresh.items() for key, fragment in rows.items())
        return Parts.of(cursor, [*kept, *new])

    def _fragments_of(self, keys: list[Any]) -> list[bytes]:
        return [self.fragments[bisect_left(self.keys, key)] for key in keys]

    def array(self) -> bytes:
        """The JSON array of every part, in order: the segments not joined yet are joined, then the body from
        the segments (with no copy of the whole body between)."""
        unjoined = [(i, *self._rows_of(i)) for i, segment in enumerate(self._segments) if segment is None]
        if not self._bounds or any(hi - lo > _OUTGROWN * self._rows_each for _, lo, hi in unjoined):
            self._choose_bounds()
            unjoined = [(i, *self._rows_of(i)) for i in range(len(self._bounds))]
        for i, lo, hi in unjoined:
            self._segments[i] = b",".join(self.fragments[lo:hi])
        joined = [segment for segment in self._segments if segment]
        if len(joined) < 2:
            return b"[" + b"".join(joined) + b"]"
        return b",".join([b"[" + joined[0], *joined[1:-1], joined[-1] + b"]"])

    def _choose_bounds(self) -> None:
        size = sum(map(len, self.fragments))
        self._rows_each = max(len(self.fragments) * SEGMENT_BYTES // max(size, 1), 1)
        self._bounds = self.keys[:: self._rows_each]  # none for an empty list: chosen once it has rows
        self._segments = [None] * len(self._bounds)

    def _rows_of(self, segment: int) -> tuple[int, int]:
        """The index range of the rows of ``segment``."""
        bounds, keys = self._bounds, self.keys
        lo = 0 if segment == 0 else bisect_left(keys, bounds[segment])
        hi = len(keys) if segment + 1 == len(bounds) else bisect_left(keys, bounds[segment + 1])
        return lo, hi
