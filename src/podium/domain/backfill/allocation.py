"""Unique slugs and join codes for migrated rows, chosen deterministically.

A suffix or a fresh code is derived from the Airtable id and avoids only values held by rows outside the
backfill plus the values other source records claim, so a re-run (or a killed-and-restarted run) chooses
exactly what one clean run chooses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar

from podium.domain.backfill import cells
from podium.domain.backfill.context import PlanContext
from podium.domain.backfill.model import Outcome, SourceRecord, TargetTable
from podium.domain.limits import JOIN_CODE_MAX, SLUG_MAX
from podium.domain.rules import new_join_code, normalize_join_code

K = TypeVar("K")


class HasWantedCode(Protocol):
    @property
    def record(self) -> SourceRecord: ...
    @property
    def join_code(self) -> str | None: ...


def allocate_unique(
    wanted: Sequence[tuple[K, str | None]],
    taken: Iterable[str],
    alternative: Callable[[K, str | None, int], str],
) -> dict[K, str]:
    """Give each key a value unique among all keys and ``taken``.

    Each key keeps its wanted value when it is the first to want it; every other key gets the first
    free ``alternative(key, wanted, attempt)``. Alternatives avoid every wanted value, so a suffixed
    duplicate never takes the value another record is entitled to.
    """
    reserved = set(taken)
    result: dict[K, str] = {}
    losers: list[tuple[K, str | None]] = []
    for key, value in wanted:
        if value and value not in reserved:
            reserved.add(value)
            result[key] = value
        else:
            losers.append((key, value))
    for key, value in losers:
        attempt = 0
        while (candidate := alternative(key, value, attempt)) in reserved:
            attempt += 1
        reserved.add(candidate)
        result[key] = candidate
    return result


def suffixed_slug(slug: str, attempt: int) -> str:
    suffix = f"-{attempt + 2}"
    return slug[: SLUG_MAX - len(suffix)].rstrip("-") + suffix


def _seeded_choice(seed: str) -> Callable[[str], str]:
    """A ``choice`` for :func:`new_join_code` that always picks the same letters for the same seed."""
    digest = iter(hashlib.sha256(seed.encode()).digest())
    return lambda alphabet: alphabet[next(digest) % len(alphabet)]


def wanted_code(ctx: PlanContext, table: TargetTable, record: SourceRecord) -> str | None:
    """The record's own join code, when it has a usable one."""
    code = normalize_join_code(cells.text(record.fields.get("join_code")))
    if not code:
        return None
    if len(code) > JOIN_CODE_MAX:
        ctx.issue(
            table, record.id, Outcome.ALTERED, "join_code_fresh", f"join code {code!r} too long; a fresh code"
        )
        return None
    return code


def allocate_codes(
    ctx: PlanContext, table: TargetTable, drafts: Sequence[HasWantedCode], foreign: Iterable[str]
) -> dict[str, str]:
    """A join code per record: its own when free, else a fresh one seeded by its Airtable id."""
    codes = allocate_unique(
        [(draft.record.id, draft.join_code) for draft in drafts],
        (normalize_join_code(code) for code in foreign),
        lambda key, _wanted, attempt: new_join_code(_seeded_choice(f"{table}:{key}:{attempt}")),
    )
    for draft in drafts:
        code = codes[draft.record.id]
        if draft.join_code is None:
            ctx.issue(
                table, draft.record.id, Outcome.ALTERED, "join_code_fresh", f"empty join code; now {code}"
            )
        elif code != draft.join_code:
            ctx.issue(
                table,
                draft.record.id,
                Outcome.ALTERED,
                "join_code_fresh",
                f"join code {draft.join_code} already used; now {code}",
            )
    return codes
