"""The speed mechanisms a benchmark switches off (podium.mechanisms): the switch is strict, and with a
mechanism off the code still gives the same answers, only without the shortcut."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping

import pytest

from podium import mechanisms
from podium.adapters.coalesce import CoalescedReads


def test_no_mechanism_is_off_unless_asked() -> None:
    assert mechanisms.switched_off("") == frozenset()
    assert mechanisms.switched_off(" gc_freeze , coalesced_reads ") == {"gc_freeze", "coalesced_reads"}


def test_an_unknown_mechanism_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown mechanism\\(s\\) gc_frezze; known: coalesced_reads"):
        mechanisms.switched_off("gc_frezze")


@pytest.mark.parametrize("off", [frozenset(), frozenset({"coalesced_reads"})], ids=["coalescing", "not"])
async def test_coalesced_reads_answer_the_same_either_way(
    off: frozenset[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mechanisms, "OFF", off)
    calls: list[list[int]] = []

    async def read(keys: Collection[int]) -> Mapping[int, str]:
        calls.append(sorted(keys))
        return {k: str(k) for k in keys if k != 3}

    reads = CoalescedReads(read)
    assert await asyncio.gather(*(reads.get(k) for k in (1, 2, 3, 1))) == ["1", "2", None, "1"]
    assert sorted(k for call in calls for k in call) == ([1, 2, 3] if not off else [1, 1, 2, 3])
    assert len(calls) == (1 if not off else 4)
