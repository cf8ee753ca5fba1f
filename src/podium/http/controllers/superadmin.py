"""The superadmin's routes (issue 15), at Podium HEAD's paths with its operation ids. Only a user whose
``is_superadmin`` was granted from the command line gets past the use-cases' check (403 otherwise)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from podium.domain.models import User
from podium.domain.services.exports import ExportService
from podium.domain.services.superadmin import SuperadminService
from podium.http.auth import AUTHENTICATE
from podium.http.csv_stream import csv_response
from podium.http.organiser_schemas import (
    EventPage,
    SuperadminEventCreate,
    SuperadminEventUpdate,
    UserPage,
    event_page,
    user_page,
)
from podium.http.params import IdPath, uuid_param
from podium.http.schemas import EventPrivate, Message

PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="Page number")]
PageSize = Annotated[int, QueryParameter(ge=1, le=100, description="Page size")]
Search = Annotated[
    str,
    QueryParameter(
        max_length=255, pattern=r"^[^\x00]*$", description="Only rows whose name, slug or email contain this"
    ),
]


class SuperadminController(Controller):
    path = "/superadmin"
    tags = ["superadmin"]
    opt = {AUTHENTICATE: True}

    @get("/events", operation_id="list_all_events_superadmin_events_get")
    async def events(
        self,
        user: NamedDependency[User],
        superadmin: NamedDependency[SuperadminService],
        page: PageNumber = 1,
        size: PageSize = 50,
        q: Search = "",
    ) -> EventPage:
        """List all events, including soft-deleted ones (``deleted_at`` set), by creation; ``q`` searches
        names and slugs."""
        return event_page(await superadmin.events(user, q, page, size))

    @post("/events", operation_id="create_event_superadmin_events_post", status_code=200)
    async def create(
        self,
        data: JSONBody[SuperadminEventCreate],
        user: NamedDependency[User],
        superadmin: NamedDependency[SuperadminService],
    ) -> EventPrivate:
        """Create a real event as the requesting superadmin (its slug gets a random suffix)."""
        fields = {name: getattr(data, name) for name in data.__struct_fields__}
        return EventPrivate.of(await superadmin.create(user, fields))

    @patch("/events/{event_id:str}", operation_id="update_event_superadmin_events__event_id__patch")
    async def update(
        self,
        event_id: IdPath,
        data: JSONBody[SuperadminEventUpdate],
        user: NamedDependency[User],
        superadmin: NamedDependency[SuperadminService],
    ) -> EventPrivate:
        """Update any event's fields (soft-deleted ones too). Use ``owner_email`` to transfer ownership to
        an existing user (404 when there is none)."""
        changes = {name: getattr(data, name) for name in data.__struct_fields__ if name != "owner_email"}
        view = await superadmin.update(user, uuid_param(event_id, "event_id"), changes, data.owner_email)
        return EventPrivate.of(view)

    @delete(
        "/events/{event_id:str}",
        operation_id="soft_delete_event_superadmin_events__event_id__delete",
        status_code=200,
    )
    async def soft_delete(
        self, event_id: IdPath, user: NamedDependency[User], superadmin: NamedDependency[SuperadminService]
    ) -> Message:
        """Soft-delete an event (sets ``deleted_at``): it 404s on every public and attendee path and drops
        out of every list at once; its data stays, and ``restore`` brings it back."""
        await superadmin.soft_delete(user, uuid_param(event_id, "event_id"))
        return Message(message="Event deleted")

    @post(
        "/events/{event_id:str}/restore",
        operation_id="restore_event_superadmin_events__event_id__restore_post",
        status_code=200,
    )
    async def restore(
        self, event_id: IdPath, user: NamedDependency[User], superadmin: NamedDependency[SuperadminService]
    ) -> EventPrivate:
        """Undo a soft delete (idempotent: a live event is returned as it is)."""
        return EventPrivate.of(await superadmin.restore(user, uuid_param(event_id, "event_id")))

    @get("/export-csv", operation_id="export_projects_csv_superadmin_export_csv_get", media_type="text/csv")
    async def export_csv(
        self,
        user: NamedDependency[User],
        exports: NamedDependency[ExportService],
        event_id: FromQuery[UUID | None] = None,
        series: Annotated[str | None, QueryParameter(max_length=500, pattern=r"^[^\x00]*$")] = None,
    ) -> Stream:
        """Export project + owner PII as CSV for the YSWS unified DB import (HEAD's columns), streamed.

        Pass either ``event_id`` (single event) or ``series`` (all live, non-draft events with that feature
        flag), not both (400). All rows are included regardless of missing fields: validate downstream."""
        return csv_response(await exports.ysws_export(user, event_id, series))

    @get("/users", operation_id="list_users_superadmin_users_get")
    async def users(
        self,
        user: NamedDependency[User],
        superadmin: NamedDependency[SuperadminService],
        page: PageNumber = 1,
        size: PageSize = 50,
        q: Search = "",
    ) -> UserPage:
        """List all users by creation; ``q`` searches emails and display names."""
        return user_page(await superadmin.users(user, q, page, size))
