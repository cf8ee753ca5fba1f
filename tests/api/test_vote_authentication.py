"""``POST /events/vote`` authenticates in the app's ``before_request`` hook rather than a guard
(``http.auth.authenticate``): still before its body is read, still documented as needing a token, and
still behind the schema gate every route has."""

from __future__ import annotations

import inspect
from typing import Any

from litestar.testing import AsyncTestClient

from podium.http.auth import AUTHENTICATE
from tests.api.conftest import SignUp, mint

BAD_BODY = {"event": "not-an-id", "projects": "none"}


async def test_a_vote_is_refused_for_its_token_before_its_body_is_read(
    client: AsyncTestClient[Any], sign_up: SignUp
) -> None:
    answers = [
        await client.post("/events/vote", json=BAD_BODY, headers=headers)
        for headers in (
            {},
            {"Authorization": "Bearer not.a.token"},
            {"Authorization": f"Bearer {mint('nobody@example.com')}"},  # valid, but no such user
        )
    ]
    assert [(a.status_code, a.json()["detail"]) for a in answers] == [
        (401, "Not authenticated"),
        (401, "Invalid authentication credentials"),
        (401, "Invalid authentication credentials"),
    ]
    voter = await sign_up("Vera")
    assert (await client.post("/events/vote", json=BAD_BODY, headers=voter.headers)).status_code == 422
    operation = (await client.get("/schema/openapi.json")).json()["paths"]["/events/vote"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}]


async def test_the_vote_route_keeps_the_app_s_before_request_hook(client: AsyncTestClient[Any]) -> None:
    handlers = {
        h.operation_id: h for route in client.app.routes for h in getattr(route, "route_handlers", ())
    }
    hooks = {
        handlers[name].resolve_before_request()
        for name in ("vote_events_vote_post", "list_official_events_events_official_get")
    }
    assert len(hooks) == 1  # the schema gate's, not a route's own
    assert None not in hooks


async def test_every_route_that_needs_a_user_authenticates_in_the_app_s_one_hook(
    client: AsyncTestClient[Any],
) -> None:
    """A route, controller or router ``before_request`` of its own would replace the app's, and with it the
    authentication: every route that asks for it still runs the app's hook, and every handler that takes
    the ``user`` asks for it."""
    handlers = [h for route in client.app.routes for h in getattr(route, "route_handlers", ())]
    asking = [h for h in handlers if h.opt.get(AUTHENTICATE)]
    assert len(asking) > 30
    assert {h.resolve_before_request() for h in asking} == {client.app.before_request}
    taking_user = [h for h in handlers if "user" in inspect.signature(h.fn).parameters]
    assert taking_user
    assert [h.operation_id for h in taking_user if not h.opt.get(AUTHENTICATE)] == []
