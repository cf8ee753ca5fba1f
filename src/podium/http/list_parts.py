"""A cached list kept as one encoded part per row, in order, brought up to date project by project.

A change to an event touches one project's card or votes; re-reading and re-encoding only those rows keeps
the cost of a change to the readers independent of the event's size (issue 26): what remains is copying
the list of parts and joining them into the body, both in C.
"""

from __future__ import annotations

from bisect import bisect_left
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


class Parts:
    """Immutable: ``updated`` returns a new one, so a body being served never changes under its reader."""

    __slots__ = ("cursor", "fragments", "keys", "projects")

    def __init__(
        self, cursor: str, keys: list[Any], fragments: list[bytes], projects: dict[UUID, list[Any]]
    ) -> None:
        self.cursor = cursor  # the store's cursor of the read this list is as of
        self.keys = keys  # sorted
        self.fragments = fragments  # fragments[i] is the row of keys[i]
        self.projects = projects  # each project's keys

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
            return Parts(changes.cursor, self.keys, self.fragments, self.projects)
        fresh: dict[UUID, dict[Hashable, bytes]] = {project: {} for project in changes.projects}
        for project, key, fragment in map(part, changes.rows):
            fresh.setdefault(project, {})[key] = fragment
        wanted = {key: fragment for rows in fresh.values() for key, fragment in rows.items()}
        if len(wanted) * _RESORT_SHARE > len(self.keys):
            return self._rebuilt(changes.cursor, fresh)
        keys, fragments, projects = self.keys.copy(), self.fragments.copy(), self.projects.copy()
        # Every old row of a changed project goes first (unless it is unchanged), then the new rows come
        # in: a row moved between two changed projects (a vote) is never in the list twice.
        for project in fresh:
            for key in projects.pop(project, ()):
                i = bisect_left(keys, key)
                if wanted.get(key) == fragments[i]:
                    del wanted[key]
                else:
                    del keys[i], fragments[i]
        for key, fragment in wanted.items():
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:  # only if the store named too few projects: stay correct
                fragments[i] = fragment
            else:
                keys.insert(i, key)
                fragments.insert(i, fragment)
        for project, rows in fresh.items():
            if rows:
                projects[project] = list(rows)
        return Parts(changes.cursor, keys, fragments, projects)

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
        """The JSON array of every part, in order (joined once, with no copy of the whole body between)."""
        fragments = self.fragments
        if len(fragments) < 2:
            return b"[" + b"".join(fragments) + b"]"
        return b",".join([b"[" + fragments[0], *fragments[1:-1], fragments[-1] + b"]"])
