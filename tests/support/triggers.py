"""What a row of ``pg_trigger`` fires on."""

from __future__ import annotations

# pg_trigger.tgtype bits: 4 insert, 8 delete, 16 update, 32 truncate.
_ACTIONS = ((4, "insert"), (8, "delete"), (16, "update"), (32, "truncate"))


def trigger_actions(tgtype: int) -> set[str]:
    """The writes a trigger of type ``tgtype`` fires on."""
    return {action for bit, action in _ACTIONS if tgtype & bit}
