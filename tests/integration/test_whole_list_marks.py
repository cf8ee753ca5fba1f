"""Marks made before migration 0018 named an event's whole attendee or referral list: a reader that meets
one reads that list whole, so a change marked across the upgrade is never missed."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.repositories.marks import ATTENDEES, REFERRALS
from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
from podium.domain.models import Referral
from tests.factories import EventFactory, UserFactory


async def test_a_whole_list_mark_reads_the_list_whole(clean_database: AsyncEngine) -> None:
    uow = SqlAlchemyUnitOfWorkFactory(clean_database)
    owner, attendee = UserFactory.batch(2)
    event = EventFactory.build(owner_id=owner.id)
    async with uow() as tx:
        for user in (owner, attendee):
            assert await tx.users.add(user)
        await tx.events.add(event)
        await tx.attendance.add(event.id, attendee.id)
        await tx.referrals.add(Referral(content="a friend", user_id=attendee.id, event_id=event.id))
        await tx.commit()
    async with uow(read_only=True) as tx:
        attendees = await tx.attendance.attendees_since(event.id, None)
        referrals = await tx.referrals.in_event_since(event.id, None)
    async with clean_database.begin() as connection:
        # As 0015's triggers marked a change: the list's subject, not the row's.
        for subject in (ATTENDEES, REFERRALS):
            await connection.execute(
                text("INSERT INTO listing_marks (event_id, subject, slot, xact)"
                     " VALUES (:e, :s, 0, txid_current())"),
                {"e": event.id, "s": subject},
            )  # fmt: skip
    async with uow(read_only=True) as tx:
        attendees_after = await tx.attendance.attendees_since(event.id, attendees.cursor)
        referrals_after = await tx.referrals.in_event_since(event.id, referrals.cursor)
        unmarked = await tx.attendance.attendees_since(event.id, attendees_after.cursor)
    assert (attendees_after.projects, [u.id for u in attendees_after.rows]) == (None, [attendee.id])
    assert referrals_after.projects is None
    assert [r.id for r in referrals_after.rows] == [r.id for r in referrals.rows]
    assert (unmarked.projects, unmarked.rows) == (frozenset(), [])
