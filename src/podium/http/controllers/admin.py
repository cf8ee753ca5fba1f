from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Response, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import Stream

from podium.domain.models import User
from podium.domain.ports import ExportKind
from podium.domain.services.events import EventService
from podium.domain.services.exports import ExportService
from podium.http.auth import AUTHENTICATE
from podium.http.csv_stream import csv_response
from podium.http.listing_cache import OrganiserView, ProjectListingCache
from podium.http.organiser_schemas import EventAdminUpdate
from podium.http.params import IdPath, uuid_param
from podium.http.schemas import (
    EventPrivate,
    Message,
    ProjectPrivate,
    ReferralResponse,
    RemoveAttendee,
    UserAttendee,
    VoteResponse,
)


class EventAdminController(Controller):
    """The organiser's views of their event. Someone else's or an unknown event → 403."""

    path = "/events/admin/{event_id:str}"
    tags = ["events"]
    opt = {AUTHENTICATE: True}

    @get("/", operation_id="get_event_admin_events_admin__event_id__get")
    async def event(
        self, event_id: IdPath, user: NamedDependency[User], events: NamedDependency[EventService]
    ) -> EventPrivate:
        return EventPrivate.of(await events.private(user, uuid_param(event_id, "event_id")))

    @patch("/", operation_id="update_event_admin_events_admin__event_id__patch")
    async def update(
        self,
        event_id: IdPath,
        data: JSONBody[EventAdminUpdate],
        user: NamedDependency[User],
        events: NamedDependency[EventService],
    ) -> EventPrivate:
        """Update an event you own (or any, as a superadmin). Only the fields given change. A ``phase``
        sets the legacy flags: voting opens voting, closed closes it and publishes the leaderboard."""
        changes = {name: getattr(data, name) for name in data.__struct_fields__}
        return EventPrivate.of(await events.admin_update(user, uuid_param(event_id, "event_id"), changes))

    @get("/attendees", operation_id="get_event_attendees_events_admin__event_id__attendees_get")
    async def attendees(
        self,
        event_id: IdPath,
        user: NamedDependency[User],
        listings: NamedDependency[ProjectListingCache],
    ) -> Response[list[UserAttendee]]:
        return await _view(listings, user, event_id, OrganiserView.ATTENDEES)

    @post(
        "/remove-attendee",
        operation_id="remove_attendee_events_admin__event_id__remove_attendee_post",
        status_code=200,
    )
    async def remove_attendee(
        self,
        event_id: IdPath,
        data: JSONBody[RemoveAttendee],
        user: NamedDependency[User],
        events: NamedDependency[EventService],
    ) -> Message:
        """Remove someone from the event (idempotent); their projects, votes and referrals stay."""
        await events.remove_attendee(user, uuid_param(event_id, "event_id"), data.user_id)
        return Message(message="Attendee removed")

    @get("/leaderboard", operation_id="get_event_leaderboard_events_admin__event_id__leaderboard_get")
    async def leaderboard(
        self,
        event_id: IdPath,
        user: NamedDependency[User],
        listings: NamedDependency[ProjectListingCache],
    ) -> Response[list[ProjectPrivate]]:
        """The full leaderboard, whether or not it is public yet."""
        return await _view(listings, user, event_id, OrganiserView.LEADERBOARD)

    @get("/votes", operation_id="get_event_votes_events_admin__event_id__votes_get")
    async def votes(
        self,
        event_id: IdPath,
        user: NamedDependency[User],
        listings: NamedDependency[ProjectListingCache],
    ) -> Response[list[VoteResponse]]:
        return await _view(listings, user, event_id, OrganiserView.VOTES)

    @get("/referrals", operation_id="get_event_referrals_events_admin__event_id__referrals_get")
    async def referrals(
        self,
        event_id: IdPath,
        user: NamedDependency[User],
        listings: NamedDependency[ProjectListingCache],
    ) -> Response[list[ReferralResponse]]:
        return await _view(listings, user, event_id, OrganiserView.REFERRALS)


def _export_route(kind: ExportKind) -> Any:
    """``GET /events/admin/{event_id}/export/{kind}.csv``: one route per kind, so each is documented."""

    @get(
        f"/export/{kind}.csv",
        operation_id=f"export_{kind}_csv_events_admin__event_id__export_{kind}_csv_get",
        media_type="text/csv",
        summary=f"Export {kind} as CSV",
        description=(
            f"The event's {kind} as a CSV file (owner or superadmin), streamed: UTF-8 with a byte-order mark,"
            " cells starting with = + - @ prefixed with an apostrophe so spreadsheets never run them."
        ),
    )
    async def export(
        event_id: IdPath, user: NamedDependency[User], exports: NamedDependency[ExportService]
    ) -> Stream:
        return csv_response(await exports.event_export(user, uuid_param(event_id, "event_id"), kind))

    return export


export_router = Router(
    path="/events/admin/{event_id:str}",
    route_handlers=[_export_route(kind) for kind in ("leaderboard", "votes", "attendees", "projects")],
    opt={AUTHENTICATE: True},
    tags=["events"],
)


async def _view(
    listings: ProjectListingCache, user: User, event_id: str, view: OrganiserView
) -> Response[Any]:
    """Served from the exact cache of the event's lists (same version as the public ones)."""
    body = await listings.organiser_view(user, uuid_param(event_id, "event_id"), view)
    return Response(content=body, media_type=MediaType.JSON)
