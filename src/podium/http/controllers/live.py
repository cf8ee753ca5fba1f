"""Live lists over Server-Sent Events, and the projector page that shows one.

Neither is in the OpenAPI document: a never-ending ``text/event-stream`` and an HTML page are not
operations a generated client (or the schema fuzzer) can call; docs/operations.md describes them.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream

from podium.domain.limits import SLUG_MAX
from podium.domain.services.events import EventService
from podium.http.controllers.auth import client_address
from podium.http.controllers.events import SLUG_PATTERN, SlugPath
from podium.http.deflate import accepts_deflate
from podium.http.errors import detail
from podium.http.live import LiveListings, TooManyStreams
from podium.http.params import IdPath, uuid_param
from podium.http.projector import projector_page
from podium.http.protocol import body_writer

STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx buffers proxied responses unless told not to; a buffered stream arrives in lumps.
    "X-Accel-Buffering": "no",
    # Compressed or not by the request's Accept-Encoding: a cache must not answer one with the other.
    "Vary": "Accept-Encoding",
}
DEFLATED_HEADERS = {**STREAM_HEADERS, "Content-Encoding": "deflate"}


def _last_event_id(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # not one of ours: the client gets the current list


@get("/events/{event_id:str}/projects/live", include_in_schema=False)
async def live_projects(
    request: Request[Any, Any, Any],
    event_id: IdPath,
    leaderboard: FromQuery[bool],
    live: NamedDependency[LiveListings],
) -> Response[Any]:
    """The event's project list as a Server-Sent Events stream: the current list at once (unless
    ``Last-Event-ID`` names its version), then the new list after every change; the SSE ``id`` is the
    list's version. Same access rules as ``GET /events/{event_id}/projects``. Compressed (``deflate``,
    each version once for every stream) when the request's ``Accept-Encoding`` accepts it."""
    deflate = accepts_deflate(request.headers.getall("accept-encoding", []))
    try:
        chunks = await live.open(
            uuid_param(event_id, "event_id"),
            leaderboard,
            _last_event_id(request.headers.get("last-event-id")),
            client_address(request),
            body_writer(request.scope),
            deflate,
        )
    except TooManyStreams as exc:
        return detail(503, exc.message, {"Retry-After": "5"})
    headers = DEFLATED_HEADERS if deflate else STREAM_HEADERS
    return Stream(chunks, media_type="text/event-stream", headers=headers)


@get("/live/{slug:str}", include_in_schema=False)
async def projector(slug: SlugPath, events: NamedDependency[EventService]) -> Response[Any]:
    """A self-contained page showing the event's public leaderboard large, updated live."""
    if not 1 <= len(slug) <= SLUG_MAX or not SLUG_PATTERN.search(slug):
        return detail(404, "Event not found")
    event = await events.public(await events.id_for_slug(slug))
    return Response(
        projector_page(event.event.id, event.event.name),
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-cache"},
    )
