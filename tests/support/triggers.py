"""The triggers of the schema, as ``pg_trigger`` has them: which table, which name, which writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# pg_trigger.tgtype bits: 4 insert, 8 delete, 16 update, 32 truncate.
_ACTIONS = ((4, "insert"), (8, "delete"), (16, "update"), (32, "truncate"))

_NAMED = text(
    "SELECT c.relname, t.tgname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE NOT t.tgisinternal AND t.tgname LIKE ANY (CAST(:patterns AS text[]))"
)


@dataclass(frozen=True)
class Trigger:
    table: str
    name: str
    actions: set[str]


def trigger_actions(tgtype: int) -> set[str]:
    """The writes a trigger of type ``tgtype`` fires on."""
    return {action for bit, action in _ACTIONS if tgtype & bit}


async def triggers_named(engine: AsyncEngine, *patterns: str) -> list[Trigger]:
    """The schema's own triggers (not PostgreSQL's internal ones) whose names are ``LIKE`` any pattern."""
    async with engine.connect() as connection:
        rows = await connection.execute(_NAMED, {"patterns": list(patterns)})
        return [Trigger(table, name, trigger_actions(tgtype)) for table, name, tgtype in rows]


def actions_by_table(triggers: Iterable[Trigger]) -> dict[str, set[str]]:
    """Each table of ``triggers``: every write one of them fires on."""
    kinds: dict[str, set[str]] = {}
    for trigger in triggers:
        kinds.setdefault(trigger.table, set()).update(trigger.actions)
    return kinds
