"""What the backfill records having written to a row, and what ``--prune`` reports having deleted."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from podium.domain.backfill.model import TargetTable


def written_values(row: Any) -> dict[str, Any]:
    """A target row's columns (its id aside) as JSON values: what the backfill records having written."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(row):
        if f.name == "id":
            continue
        value = getattr(row, f.name)
        if isinstance(value, UUID):
            value = str(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        values[f.name] = value
    return values


@dataclass(frozen=True, slots=True)
class PrunedRow:
    """A row ``--prune`` deleted: its record is gone from Airtable, or it hung off one that is."""

    table: TargetTable
    id: UUID
    airtable_id: str | None
    reason: str
