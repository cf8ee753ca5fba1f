"""Podium HEAD's test-only routes (issue 25), exactly as its E2E suite's fixtures call them. They are
registered only with ``PODIUM_ENABLE_TEST_ENDPOINTS=true`` (refused in production), so otherwise they
404 and are absent from the OpenAPI document."""

from __future__ import annotations

from litestar import Controller, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from podium.domain.models import User
from podium.domain.services.e2e import E2eFixtures
from podium.http.auth import AUTHENTICATE
from podium.http.schemas import Base, EventPrivate, Message, Name, Text


class TestEventCreate(Base):
    __test__ = False  # not a pytest class

    name: Name
    description: Text = ""


class E2eEventsController(Controller):
    path = "/events/test"
    tags = ["test"]

    @post(
        "/create",
        operation_id="create_test_event_events_test_create_post",
        status_code=200,
        opt={AUTHENTICATE: True},
    )
    async def create(
        self,
        data: JSONBody[TestEventCreate],
        state: State,
        user: NamedDependency[User],
        e2e: NamedDependency[E2eFixtures],
    ) -> EventPrivate:
        """An official event of the active series owned by the caller, in voting, demo links optional, no
        validation (400 without ``PODIUM_ACTIVE_EVENT_SERIES``)."""
        series = state.container.settings.active_event_series
        return EventPrivate.of(await e2e.create_event(user, data.name, data.description, series))

    @post("/cleanup", operation_id="cleanup_test_data_events_test_cleanup_post", status_code=200)
    async def cleanup(self, e2e: NamedDependency[E2eFixtures]) -> Message:
        """Delete the suite's users (``test+pw…@example.com``, ``organizer+…``/``attendee+…``/``admin+…@test
        .local``) and everything they own."""
        await e2e.cleanup()
        return Message(message="Test data cleaned up")


class E2eUsersController(Controller):
    path = "/users/test"
    tags = ["test"]

    @post(
        "/promote-superadmin",
        operation_id="promote_to_superadmin_users_test_promote_superadmin_post",
        status_code=200,
        opt={AUTHENTICATE: True},
    )
    async def promote(self, user: NamedDependency[User], e2e: NamedDependency[E2eFixtures]) -> Message:
        """Make the caller a superadmin."""
        await e2e.promote(user)
        return Message(message="Promoted to superadmin")
