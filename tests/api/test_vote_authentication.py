"""``POST /events/vote`` authenticates in the app's ``before_request`` hook rather than a guard
(``http.auth.authenticate``): still before its body is read, still documented as needing a token, and
still behind the schema gate every route has."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

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
