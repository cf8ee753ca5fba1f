from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from podium.domain.limits import SLUG_MAX
from podium.domain.models import User
from podium.domain.services.events import ALREADY_ATTENDING, EventService
from podium.domain.services.voting import VotingService
from podium.http.auth import AUTHENTICATE
from podium.http.controllers.auth import client_address
from podium.http.listing_cache import ProjectListingCache
from podium.http.params import IdPath, uuid_param
from podium.http.schemas import (
    Attended,
    CreateVotes,
    EventCreate,
    EventCreated,
    EventPrivate,
    EventPublic,
    EventUpdate,
    Message,
    ProjectPublic,
    UserEvents,
)

# Legacy: 1–50 characters that contain (the pattern is unanchored) a run of [-a-z0-9].
SLUG_PATTERN = re.compile(r"[-a-z0-9]+")
# Documented as enforced below: JSON Schema patterns match anywhere in the value, as ``search`` does.
SlugPath = Annotated[str, PathParameter(min_length=1, max_length=SLUG_MAX, pattern=SLUG_PATTERN.pattern)]
QueryText = Annotated[str, QueryParameter(max_length=1000, pattern=r"^[^\x00]*$")]


class EventsController(Controller):
    path = "/events"
    tags = ["events"]

    @get("/", operation_id="get_attending_events_events__get", opt={AUTHENTICATE: True})
    async def mine(self, user: NamedDependency[User], events: NamedDependency[EventService]) -> UserEvents:
        """Events the caller owns (with their join codes) and attends."""
        mine = await events.of_user(user)
        return UserEvents(
            owned_events=[EventPrivate.of(v) for v in mine.owned],
            attending_events=[EventPublic.of(v) for v in mine.attending],
        )

    @post("/", operation_id="create_event_events__post", status_code=200, opt={AUTHENTICATE: True})
    async def create(
        self, data: JSONBody[EventCreate], user: NamedDependency[User], events: NamedDependency[EventService]
    ) -> EventCreated:
        """Create an event; the caller owns it."""
        created = await events.create(
            user, data.name, data.description, data.demo_links_optional, data.ysws_checks_enabled
        )
        return EventCreated(id=created.id, slug=created.slug, join_code=created.join_code)

    @post(
        "/attend", operation_id="attend_event_events_attend_post", status_code=200, opt={AUTHENTICATE: True}
    )
    async def attend(
        self,
        request: Request[Any, Any, Any],
        join_code: Annotated[str, QueryParameter(max_length=100)],
        referral: QueryText,
        user: NamedDependency[User],
        events: NamedDependency[EventService],
    ) -> Attended:
        """Join an event with its code; a non-empty referral is kept for the organiser."""
        event_id = await events.attend(user, join_code, referral, client_address(request))
        return Attended(message="Successfully joined event", event_id=event_id)

    @post("/vote", operation_id="vote_events_vote_post", status_code=200, opt={AUTHENTICATE: True})
    async def vote(self, data: JSONBody[CreateVotes], state: State, user: NamedDependency[User]) -> Message:
        """Vote for projects of an event the caller attends, within the quota."""
        # The use-case straight from the container, not as a second dependency: Litestar resolves two or
        # more dependencies in an anyio task group of their own, ~5 % of this hot path's CPU.
        voting: VotingService = state.container.voting
        await voting.cast_votes(user, data.event, data.distinct_projects())
        return Message(message="Votes recorded")

    @get("/official", operation_id="list_official_events_events_official_get")
    async def official(self, state: State, events: NamedDependency[EventService]) -> list[EventPublic]:
        """The official events of the current series (``PODIUM_ACTIVE_EVENT_SERIES``): the events, not in
        draft, whose feature flags name it. Empty when no series is set."""
        series = state.container.settings.active_event_series
        return [EventPublic.of(view) for view in await events.official(series)]

    @post(
        "/{event_id:str}/attend",
        operation_id="attend_event_events__event_id__attend_post",
        status_code=200,
        opt={AUTHENTICATE: True},
    )
    async def attend_official(
        self,
        event_id: IdPath,
        state: State,
        user: NamedDependency[User],
        events: NamedDependency[EventService],
    ) -> Attended:
        """Attend an official event of the current series by its id, no join code needed (HEAD's answer the
        second time: 200 "Already attending this event"; 403 for an event outside the series)."""
        series = state.container.settings.active_event_series
        uuid = uuid_param(event_id, "event_id")
        joined = await events.attend_official(user, uuid, series)
        return Attended(message="Successfully joined event" if joined else ALREADY_ATTENDING, event_id=uuid)

    @delete(
        "/{event_id:str}/votes/{project_id:str}",
        operation_id="withdraw_vote_events__event_id__votes__project_id__delete",
        status_code=200,
        opt={AUTHENTICATE: True},
    )
    async def withdraw_vote(
        self,
        event_id: IdPath,
        project_id: IdPath,
        user: NamedDependency[User],
        voting: NamedDependency[VotingService],
    ) -> Message:
        """Withdraw your own vote for a project while voting is open: the quota frees up and the project's
        points drop (404 when you have no such vote, 403 when voting is not open)."""
        await voting.withdraw_vote(
            user, uuid_param(event_id, "event_id"), uuid_param(project_id, "project_id")
        )
        return Message(message="Vote withdrawn")

    @get("/id/{slug:str}", operation_id="get_at_id_events_id__slug__get")
    async def id_for_slug(self, slug: SlugPath, events: NamedDependency[EventService]) -> Response[Any]:
        """The id of the event with this slug, as a JSON string."""
        if not 1 <= len(slug) <= SLUG_MAX or not SLUG_PATTERN.search(slug):
            raise ValidationException(
                extra=[
                    {"key": "slug", "source": "path", "message": "String should match pattern '[-a-z0-9]+'"}
                ]
            )
        event_id = await events.id_for_slug(slug)
        return Response(f'"{event_id}"'.encode(), media_type=MediaType.JSON)

    @get("/{event_id:str}", operation_id="get_event_endpoint_events__event_id__get")
    async def get_event(self, event_id: IdPath, events: NamedDependency[EventService]) -> EventPublic:
        """An event's public view."""
        return EventPublic.of(await events.public(uuid_param(event_id, "event_id")))

    @put("/{event_id:str}", operation_id="update_event_events__event_id__put", opt={AUTHENTICATE: True})
    async def update(
        self,
        event_id: IdPath,
        data: JSONBody[EventUpdate],
        user: NamedDependency[User],
        events: NamedDependency[EventService],
    ) -> Message:
        """Change an event's settings (owner only). The slug never changes."""
        changes = {name: getattr(data, name) for name in data.__struct_fields__}
        await events.update(user, uuid_param(event_id, "event_id"), changes)
        return Message(message="Event updated")

    @delete(
        "/{event_id:str}",
        operation_id="delete_event_events__event_id__delete",
        status_code=200,
        opt={AUTHENTICATE: True},
    )
    async def delete(
        self, event_id: IdPath, user: NamedDependency[User], events: NamedDependency[EventService]
    ) -> Message:
        """Delete an event with everything under it (owner only)."""
        await events.delete(user, uuid_param(event_id, "event_id"))
        return Message(message="Event deleted")

    @get("/{event_id:str}/projects", operation_id="get_event_projects_events__event_id__projects_get")
    async def projects(
        self,
        request: Request[Any, Any, Any],
        event_id: IdPath,
        leaderboard: FromQuery[bool],
        listings: NamedDependency[ProjectListingCache],
    ) -> Response[list[ProjectPublic]]:
        """The leaderboard (when enabled), or every project in random order for judging.

        Served from an exact cache; a client that sends ``If-None-Match`` gets 304 while nothing changed."""
        listing = await listings.listing(uuid_param(event_id, "event_id"), leaderboard)
        headers = {"ETag": listing.etag, "Cache-Control": "no-cache"} if listing.version >= 0 else {}
        if headers and request.headers.get("if-none-match") == listing.etag:
            return Response(content=b"", status_code=304, headers=headers)  # type: ignore[arg-type]
        body = listings.body(listing, leaderboard)
        return Response(content=body, media_type=MediaType.JSON, headers=headers)  # type: ignore[arg-type]
