"""Turnstile (issue 25): with a secret, signup and the login's account check need a token that a local
fake of Cloudflare's siteverify accepts; without one, nothing is checked (the rest of the suite)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from tests.support.fake_http import FakeHttpServer, fake_http_fixture

Client = AsyncTestClient[Any]
SIGNUP = {"email": "ada@example.com", "first_name": "Ada"}


siteverify = fake_http_fixture("module")


@pytest.fixture(scope="module")
async def guarded_app(settings: Settings, siteverify: FakeHttpServer) -> AsyncIterator[Client]:
    configured = dataclasses.replace(
        settings,
        turnstile_secret_key="ts-secret",
        turnstile_siteverify_url=f"{siteverify.url}/siteverify",
        turnstile_timeout_seconds=0.5,
    )
    async with AsyncTestClient(app=create_app(configured)) as client:
        yield client


@pytest.fixture
def guarded(guarded_app: Client, clean_database: object, siteverify: FakeHttpServer) -> Client:
    siteverify.reset()
    return guarded_app


async def _sign_up(client: Client, token: str | None) -> Any:
    headers = {"X-Turnstile-Token": token} if token is not None else {}
    return await client.post("/users/", json=SIGNUP, headers=headers)


async def test_a_token_siteverify_accepts_lets_signup_and_the_login_check_through(
    guarded: Client, siteverify: FakeHttpServer
) -> None:
    siteverify.respond(200, {"success": True})
    assert (await _sign_up(guarded, "browser-token")).status_code == 200
    sent = siteverify.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/siteverify")
    form = parse_qs(sent.body.decode())
    assert (form["secret"], form["response"]) == (["ts-secret"], ["browser-token"])
    siteverify.respond(200, {"success": True})
    exists = await guarded.get(
        "/users/exists", params={"email": SIGNUP["email"]}, headers={"X-Turnstile-Token": "t2"}
    )
    assert exists.json() == {"exists": True}
    # The magic link is asked for with the token already spent on the check above (HEAD's client does).
    login = await guarded.post("/request-login", params={"redirect": ""}, json={"email": SIGNUP["email"]})
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("token", "answer", "status", "detail"),
    [
        (None, None, 403, "Security check required — please complete the CAPTCHA and try again"),
        ("", None, 403, "Security check required — please complete the CAPTCHA and try again"),
        ("used", (200, {"success": False, "error-codes": ["timeout-or-duplicate"]}), 403,
         "Security check failed — please refresh the page and try again"),
        ("x", (500, {}), 503, "Security check is temporarily unavailable — please try again in a moment"),
        ("x", (200, {"unexpected": True}), 503,
         "Security check is temporarily unavailable — please try again in a moment"),
    ],
)  # fmt: skip
async def test_no_account_without_a_token_siteverify_accepts(
    guarded: Client,
    siteverify: FakeHttpServer,
    token: str | None,
    answer: tuple[int, Any] | None,
    status: int,
    detail: str,
) -> None:
    if answer is not None:
        siteverify.respond(*answer)
    refused = await _sign_up(guarded, token)
    assert (refused.status_code, refused.json()["detail"]) == (status, detail)
    if answer is None:
        assert siteverify.requests == []  # nothing to ask about
    checked = await guarded.get("/users/exists", params={"email": SIGNUP["email"]})
    assert checked.status_code == 403


async def test_a_slow_siteverify_is_a_503(guarded: Client, siteverify: FakeHttpServer) -> None:
    siteverify.respond(200, {"success": True}, delay=0.8)
    slow = await _sign_up(guarded, "x")
    assert slow.status_code == 503
