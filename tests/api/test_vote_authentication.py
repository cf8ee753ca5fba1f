"""``POST /events/vote`` authenticates in a ``before_request`` hook rather than a guard (``http.auth.authenticate``):
still before its body is read, and still documented as needing a token."""

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
