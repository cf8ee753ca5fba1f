"""Reading Airtable cell values: text, links, checkboxes, as the v1 base stores them (legacy §5.1)."""

from __future__ import annotations

import json
from typing import Any

from podium.domain.backfill.model import SourceRecord


def record_order(record: SourceRecord) -> tuple[str, str]:
    """Records are planned in ``(createdTime, id)`` order, so "the first" of duplicates is stable."""
    return (record.created_time, record.id)


def text(value: object) -> str:
    """A cell as text. Lookup fields come as lists; numbers as JSON numbers."""
    if value is None or value is False:
        return ""
    if value is True:
        return "true"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(part for part in (text(item) for item in value) if part)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def links(value: object) -> list[str]:
    """A link field: an array of record ids, even when single-valued (legacy §5.1)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return []


def first_link(value: object) -> str | None:
    found = links(value)
    return found[0] if found else None


def flag(value: object) -> bool:
    """A checkbox: Airtable omits the field when unticked."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "checked"}
    return bool(value)


def reject_constant(name: str) -> Any:
    """``json.loads`` hook: NaN and Infinity are not JSON PostgreSQL can store."""
    raise ValueError(f"{name} is not JSON PostgreSQL can store")
