"""Podium HEAD's test-only use-cases (issue 25), for its E2E suite's fixtures: served only with
``PODIUM_ENABLE_TEST_ENDPOINTS=true``, which production refuses."""

from __future__ import annotations

from podium.domain.errors import Invalid
from podium.domain.models import EventView, User
from podium.domain.ports import E2eData, UnitOfWorkFactory
from podium.domain.services.superadmin import SuperadminService, create_event

NO_SERIES = "No active event series configured"


class E2eFixtures:
    def __init__(self, uow: UnitOfWorkFactory, data: E2eData, superadmin: SuperadminService) -> None:
        self._uow = uow
        self._data = data
        self._superadmin = superadmin

    async def create_event(self, owner: User, name: str, description: str, series: str) -> EventView:
        """An official event of the active series, owned by the caller, open for voting, with demo links
        optional and no validation (the suite's projects have no real links)."""
        if not series:
            raise Invalid(NO_SERIES)
        fields = {
            "name": name,
            "description": description,
            "phase": "voting",
            "demo_links_optional": True,
            "feature_flags_csv": series,
        }
        return await create_event(self._uow, owner, fields)

    async def promote(self, user: User) -> None:
        """Make the caller a superadmin."""
        await self._superadmin.set_superadmin(user.email, True)

    async def cleanup(self) -> dict[str, int]:
        """Remove the suite's users and everything they own."""
        return await self._data.remove()
