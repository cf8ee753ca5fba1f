"""In-memory votes and referrals (see :mod:`podium.adapters.memory.store`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from podium.domain.models import Ballot, Referral, Vote, VoteCandidate, VoteQuotaUse
from podium.domain.ports import Changes

if TYPE_CHECKING:
    from podium.adapters.memory.store import MemoryData


class MemoryVotes:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    async def ballot(self, event_id: UUID, voter_id: UUID, project_ids: Sequence[UUID]) -> Ballot:
        data = self._data
        use = VoteQuotaUse(
            cast=sum(1 for v in data.votes.values() if v.event_id == event_id and v.voter_id == voter_id),
            project_count=sum(1 for p in data.projects.values() if p.event_id == event_id),
        )
        voted = self._voted(voter_id)
        joined = {p for p, u in data.collaborators if u == voter_id}
        candidates = {
            i: VoteCandidate(
                event_id=data.projects[i].event_id,
                already_voted=i in voted,
                is_member=data.projects[i].owner_id == voter_id or i in joined,
            )
            for i in project_ids
            if i in data.projects
        }
        return Ballot(use, candidates)

    def _voted(self, voter_id: UUID) -> set[UUID]:
        return {v.project_id for v in self._data.votes.values() if v.voter_id == voter_id}

    async def add_many(self, votes: Sequence[Vote]) -> None:
        for vote in votes:
            project = self._data.projects.get(vote.project_id)
            if project is None or project.event_id != vote.event_id:
                raise ValueError("a vote's project must belong to the vote's event")
            if vote.project_id in self._voted(vote.voter_id):
                raise ValueError("one vote per voter and project")
            self._data.votes[vote.id] = vote

    async def withdraw(self, event_id: UUID, voter_id: UUID, project_id: UUID) -> bool:
        pair = (event_id, voter_id, project_id)
        doomed = [k for k, v in self._data.votes.items() if (v.event_id, v.voter_id, v.project_id) == pair]
        for key in doomed:
            del self._data.votes[key]
        return bool(doomed)

    async def in_event(self, event_id: UUID) -> list[Vote]:
        return sorted(
            (v for v in self._data.votes.values() if v.event_id == event_id), key=lambda v: str(v.id)
        )

    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[Vote]:
        # No marks kept: every vote, every time.
        return Changes("", None, await self.in_event(event_id))

    async def ids_by_voter(self, voter_id: UUID) -> list[UUID]:
        return sorted((v.id for v in self._data.votes.values() if v.voter_id == voter_id), key=str)

    async def ids_by_voters(self, voter_ids: Collection[UUID]) -> dict[UUID, list[UUID]]:
        wanted = set(voter_ids)
        by_voter: dict[UUID, list[UUID]] = {}
        for vote in sorted(self._data.votes.values(), key=lambda v: str(v.id)):
            if vote.voter_id in wanted:
                by_voter.setdefault(vote.voter_id, []).append(vote.id)
        return by_voter


class MemoryReferrals:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    async def add(self, referral: Referral) -> None:
        self._data.referrals[referral.id] = referral

    async def in_event(self, event_id: UUID) -> list[Referral]:
        return sorted(
            (r for r in self._data.referrals.values() if r.event_id == event_id), key=lambda r: str(r.id)
        )

    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[Referral]:
        # No marks kept: every referral, every time.
        return Changes("", None, await self.in_event(event_id))
