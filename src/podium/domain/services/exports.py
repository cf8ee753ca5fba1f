"""The organiser's exports (issue 15): what each CSV holds, who may read it, and cells that spreadsheets
cannot run as formulas. The rows come as a stream from the store; nothing here holds a whole export."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from podium.domain.errors import Invalid, NotFound
from podium.domain.models import User
from podium.domain.ports import ExportKind, Exports, UnitOfWorkFactory
from podium.domain.rules import neutralise_csv_cell
from podium.domain.services.access import owned_event, require_superadmin
from podium.domain.services.events import EVENT_NOT_FOUND, official_views

COLUMNS: dict[ExportKind, tuple[str, ...]] = {
    "leaderboard": ("Rank", "Project", "Points", "Votes", "Legacy points", "Owner", "Collaborators"),
    "votes": ("Voter", "Project", "Time"),
    "attendees": ("Display name", "Email", "Referral"),
    "projects": (
        "Project", "Description", "Code URL", "Demo URL", "Screenshot", "Hours spent", "Points", "Owner",
        "Collaborators",
    ),
}  # fmt: skip
YSWS_COLUMNS = (
    "First Name", "Last Name", "Email", "Playable URL", "Code URL", "Screenshot", "Description",
    "GitHub Username", "Address (Line 1)", "Address (Line 2)", "City", "State / Province", "Country",
    "ZIP / Postal Code", "Birthday", "Override Hours Spent",
)  # fmt: skip
ONE_SOURCE = "Pass either event_id or series, not both"


@dataclass(frozen=True, slots=True)
class Export:
    """A CSV to send: its file name, header and rows (each cell text, safe to open in a spreadsheet)."""

    filename: str
    header: tuple[str, ...]
    rows: AsyncIterator[list[str]]


def cell(value: Any) -> str:
    """A value as a CSV cell: text as is, times in ISO 8601 (UTC), nothing as empty; then neutralised."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).isoformat()
    return neutralise_csv_cell(str(value))


async def _cells(rows: AsyncIterator[Sequence[Any]]) -> AsyncIterator[list[str]]:
    """The rows as cells, the first one already read: a store that fails, fails before the response has
    started (a clean error status), not halfway through the file."""
    first = await anext(rows, None)

    async def cells() -> AsyncIterator[list[str]]:
        try:
            if first is None:
                return
            yield [cell(value) for value in first]
            async for row in rows:
                yield [cell(value) for value in row]
        finally:
            # A client that leaves mid-file: the store's cursor and connection are given back now.
            aclose = getattr(rows, "aclose", None)
            if aclose is not None:
                await aclose()

    return cells()


class ExportService:
    def __init__(self, uow: UnitOfWorkFactory, exports: Exports) -> None:
        self._uow = uow
        self._exports = exports

    async def event_export(self, user: User, event_id: UUID, kind: ExportKind) -> Export:
        """One of the event's exports, for its owner or a superadmin (else BAD_ACCESS, checked before
        anything is streamed)."""
        async with self._uow(read_only=True) as uow:
            event = await owned_event(uow, user, event_id)
        rows = await _cells(self._exports.event_rows(kind, event_id))
        return Export(f"{event.slug}-{kind}.csv", COLUMNS[kind], rows)

    async def ysws_export(self, admin: User, event_id: UUID | None, series: str | None) -> Export:
        """Podium HEAD's YSWS export (superadmins only), of one event or a whole series. Every project is
        included whatever its owner filled in: validation happens downstream."""
        require_superadmin(admin)
        if (event_id is None) == (not series):
            raise Invalid(ONE_SOURCE)
        if event_id is not None:
            async with self._uow(read_only=True) as uow:
                event = await uow.events.get(event_id)
            if event is None:
                raise NotFound(EVENT_NOT_FOUND)
            name = event.slug
        else:
            name = str(series)
            async with self._uow(read_only=True) as uow:
                official = await official_views(uow, name)
            if not official:
                raise NotFound(f"No active events found with series '{name}'")
        rows = await _cells(self._exports.ysws_rows(event_id, series))
        return Export(f"{name}-ysws.csv", YSWS_COLUMNS, rows)
