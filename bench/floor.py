"""The floor: the public leaderboard served with no framework at all, to compare the API against.

A bare ASGI callable, one asyncpg pool, ONE aggregate SQL statement per request, msgspec for the JSON.
``/events/{id}/projects`` serves the SAME payload as the API's public listing: every ``ProjectPublic``
field (id, name, repo, image_url, demo, description, points, votes, owner_display_name,
collaborator_display_names) in the API's order (points desc, name in "C" collation, id), so the floor
and the API are compared apples to apples. ``/lean/events/{id}/projects`` serves the seven fields of
legacy §1.7 only (points = count(votes) + legacy_points), the floor's first variant. Both serve the
listing (``leaderboard=false``) from the same statement in random order. It checks nothing else (no 404 for
an unknown event, no ``leaderboard_enabled`` gate): it measures what the hardware allows, not the product.

    BENCH_FLOOR_DSN=postgresql://... uv run uvicorn bench.floor:app --port 8001 --no-access-log
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import jwt
import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ProjectPublic(msgspec.Struct, array_like=False):
    id: str
    name: str
    repo: str
    image_url: str
    demo: str
    description: str
    points: int
    votes: list[str]
    owner_display_name: list[str]  # one name, as a list like the API's (PRODUCT §3.15)
    collaborator_display_names: list[str]


class ProjectLean(msgspec.Struct, array_like=False):
    id: str
    name: str
    repo: str
    image_url: str
    demo: str
    description: str
    points: int


# Votes are aggregated per project over the event's votes (ix_votes_event_id_voter_id / ix_votes_project_id)
# and joined to the event's projects (ix_projects_event_id): one round trip, whatever the event size.
_SELECT = """
select p.id::text, p.name, p.repo, p.image_url, p.demo, p.description,
       (p.legacy_points + coalesce(v.n, 0))::int as points
from projects p
left join (select project_id, count(*) as n from votes where event_id = $1 group by project_id) v
       on v.project_id = p.id
where p.event_id = $1
"""
LEADERBOARD_SQL = _SELECT + "order by points desc, p.name, p.id"
LISTING_SQL = _SELECT + "order by random()"

# The full public payload, as the API's listing query builds it (vote ids and team names aggregated per
# project), with ids as text so msgspec encodes them without a conversion.
_SELECT_FULL = """
select p.id::text, p.name, p.repo, p.image_url, p.demo, p.description,
       (p.legacy_points + coalesce(cardinality(v.ids), 0))::int as points,
       coalesce(v.ids, '{}')::text[] as votes,
       array[(select u.display_name from users u where u.id = p.owner_id)] as owner_display_name,
       coalesce(c.names, '{}') as collaborator_display_names
from projects p
left join lateral (
    select array_agg(votes.id order by votes.id) as ids from votes where votes.project_id = p.id
) v on true
left join lateral (
    select array_agg(u.display_name order by u.display_name collate "C", u.id) as names
    from project_collaborators pc join users u on u.id = pc.user_id
    where pc.project_id = p.id
) c on true
where p.event_id = $1
"""
FULL_LEADERBOARD_SQL = _SELECT_FULL + 'order by points desc, p.name collate "C", p.id'
FULL_LISTING_SQL = _SELECT_FULL + "order by random()"

# The vote floor: what casting one ballot costs with no framework. The same checks as the API's vote
# (the voter by the token's email, the event exists and is votable, the voter attends — their attendee row
# locked —, every project is in the event and not their own, the quota of legacy §4.1, no double vote) and
# the insert, as ONE statement in autocommit: one round trip, its commit included. It does not re-check
# the quota after waiting for the lock, so unlike the API it is exact only for one request per voter at a
# time — which is what the bench's vote scenario sends (each voter once). Like the API's (migration 0017) it
# counts the event's projects only up to 20, past which the quota is the same.
VOTE_SQL = """
with voter as (select id from users where email = $1),
attendee as (
    select a.id from event_attendees a join voter on a.user_id = voter.id
    where a.event_id = $2 for update of a
),
event as (select id from events where id = $2 and votable),
project_count as (select count(*) as n from (select from projects where event_id = $2 limit 20) counted),
cast_before as (select count(*) as n from votes join voter on votes.voter_id = voter.id where votes.event_id = $2),
candidates as (
    select p.id from projects p, voter
    where p.id = any($3::uuid[]) and p.event_id = $2 and p.owner_id <> voter.id
      and not exists (select 1 from project_collaborators c where c.project_id = p.id and c.user_id = voter.id)
),
allowed as (
    select 1 from event, attendee, project_count, cast_before
    where (select count(*) from candidates) = cardinality($3::uuid[])
      and cast_before.n + cardinality($3::uuid[])
          <= case when project_count.n < 4 then 1 when project_count.n < 20 then 2 else 3 end
)
insert into votes (id, voter_id, project_id, event_id)
select gen_random_uuid(), voter.id, candidates.id, $2 from voter, candidates
where exists (select 1 from allowed)
on conflict do nothing
returning id::text
"""
_VOTE_PATH = "/events/vote"
_PATH = re.compile(r"^(/lean)?/events/([0-9a-fA-F-]{36})/projects/?$")
_encode = msgspec.json.Encoder().encode
_JSON_HEADERS = [(b"content-type", b"application/json")]


class State:
    pool: asyncpg.Pool | None = None


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """The floor keeps no session state, so it skips asyncpg's reset script (a round trip) on release."""


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            size = int(os.environ.get("BENCH_FLOOR_POOL", "10"))
            State.pool = await asyncpg.create_pool(
                os.environ["BENCH_FLOOR_DSN"],
                min_size=size,
                max_size=size,
                statement_cache_size=100,
                reset=_no_reset,
            )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if State.pool is not None:
                await State.pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path: str = scope["path"]
    if path == "/health":
        await _respond(send, 200, b'{"status":"ok"}', _JSON_HEADERS)
        return
    if path == _VOTE_PATH and scope["method"] == "POST" and State.pool is not None:
        await _vote(scope, receive, send)
        return
    match = _PATH.match(path)
    if match is None or State.pool is None:
        await _respond(send, 404, b'{"detail":"Not Found"}', _JSON_HEADERS)
        return
    query: bytes = scope.get("query_string", b"")
    leaderboard = b"leaderboard=true" in query or b"leaderboard=1" in query
    try:
        event_id = uuid.UUID(match.group(2))
    except ValueError:
        await _respond(send, 422, b'{"detail":"bad event id"}', _JSON_HEADERS)
        return
    lean = match.group(1) is not None
    if lean:
        sql = LEADERBOARD_SQL if leaderboard else LISTING_SQL
    else:
        sql = FULL_LEADERBOARD_SQL if leaderboard else FULL_LISTING_SQL
    async with State.pool.acquire() as conn:
        rows = await conn.fetch(sql, event_id)
    struct = ProjectLean if lean else ProjectPublic
    body = _encode([struct(*row) for row in rows])
    await _respond(send, 200, body, _JSON_HEADERS)


class _Ballot(msgspec.Struct):
    event: uuid.UUID
    projects: list[uuid.UUID]


_decode_ballot = msgspec.json.Decoder(_Ballot).decode


async def _vote(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    auth = dict(scope["headers"]).get(b"authorization", b"")
    try:
        claims = jwt.decode(
            auth.removeprefix(b"Bearer ").decode(), os.environ["BENCH_FLOOR_JWT_SECRET"], ["HS256"]
        )
        ballot = _decode_ballot(body)
    except (jwt.PyJWTError, msgspec.DecodeError, msgspec.ValidationError):
        await _respond(send, 400, b'{"detail":"bad request"}', _JSON_HEADERS)
        return
    assert State.pool is not None
    async with State.pool.acquire() as conn:
        ids = await conn.fetch(VOTE_SQL, claims["sub"], ballot.event, list(dict.fromkeys(ballot.projects)))
    if not ids:
        await _respond(send, 400, b'{"detail":"vote refused"}', _JSON_HEADERS)
        return
    await _respond(send, 200, _encode([row[0] for row in ids]), _JSON_HEADERS)
