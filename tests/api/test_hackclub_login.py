"""Log in with Hack Club (issue 25), end to end over real HTTP: the app served by uvicorn, a browser-like
client keeping cookies, and a local fake of Hack Club's identity provider."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from podium.config import Settings
from podium.domain.services.oauth import pkce_challenge
from podium.http.app import create_app
from tests.support.fake_http import FakeHttpServer, fake_http_fixture, unused_local_url
from tests.support.served import served

FRONTEND = "https://podium.example"
ME = {"identity": {"primary_email": "Ada@Example.com", "first_name": "Ada", "last_name": "Lovelace"}}


provider = fake_http_fixture("module")


@pytest.fixture(scope="module")
async def app_url(settings: Settings, provider: FakeHttpServer) -> AsyncIterator[str]:
    """The app with Hack Club login on, served over real HTTP (once for the module)."""
    configured = dataclasses.replace(
        settings,
        hackclub_client_id="podium-client",
        hackclub_client_secret="podium-secret",
        hackclub_auth_url=provider.url,
        hackclub_timeout_seconds=1.0,
        production_url=FRONTEND,
    )
    async with served(create_app(configured)) as url:
        yield url


@pytest.fixture
async def browser(
    app_url: str, clean_database: object, provider: FakeHttpServer
) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh browser at the served app: redirects not followed, cookies kept."""
    provider.reset()
    async with httpx.AsyncClient(base_url=app_url) as client:
        yield client


async def _begin(browser: httpx.AsyncClient, provider: FakeHttpServer) -> dict[str, str]:
    """Start a login; the authorization request's parameters, as Hack Club receives them."""
    started = await browser.get("/auth/hackclub")
    assert started.status_code == 307, started.text
    location = urlsplit(started.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.url}/oauth/authorize"
    assert "podium_oauth_state" in browser.cookies
    return {name: values[0] for name, values in parse_qs(location.query).items()}


async def test_a_first_login_creates_the_account_and_hands_over_a_magic_link(
    browser: httpx.AsyncClient, provider: FakeHttpServer
) -> None:
    params = await _begin(browser, provider)
    assert params["client_id"] == "podium-client"
    assert (params["response_type"], params["scope"], params["code_challenge_method"]) == (
        "code", "email name", "S256"
    )  # fmt: skip
    assert params["redirect_uri"] == f"{str(browser.base_url).rstrip('/')}/auth/hackclub/callback"

    provider.respond(200, {"access_token": "hc-access", "token_type": "Bearer"})
    provider.respond(200, ME)
    back = await browser.get("/auth/hackclub/callback", params={"code": "the-code", "state": params["state"]})
    assert back.status_code == 307, back.text
    landing = urlsplit(back.headers["location"])
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == f"{FRONTEND}/login"
    token = parse_qs(landing.query)["token"][0]

    exchange, me = provider.requests
    form = parse_qs(exchange.body.decode())
    assert (exchange.method, exchange.path) == ("POST", "/oauth/token")
    assert (form["code"], form["grant_type"], form["client_secret"]) == (
        ["the-code"], ["authorization_code"], ["podium-secret"]
    )  # fmt: skip
    assert pkce_challenge(form["code_verifier"][0]) == params["code_challenge"]
    assert form["redirect_uri"] == [params["redirect_uri"]]
    assert (me.path, me.headers["authorization"]) == ("/api/v1/me", "Bearer hc-access")

    verified = await browser.get("/verify", params={"token": token})
    assert verified.status_code == 200, verified.text
    user = verified.json()["user"]
    assert (user["email"], user["first_name"], user["last_name"], user["display_name"]) == (
        "ada@example.com", "Ada", "Lovelace", "Ada L."
    )  # fmt: skip
    # The state is single-use: the browser's cookie is gone, a replayed callback is refused.
    assert "podium_oauth_state" not in browser.cookies
    replay = await browser.get(
        "/auth/hackclub/callback", params={"code": "the-code", "state": params["state"]}
    )
    assert replay.status_code == 400


async def test_a_returning_user_keeps_their_account(
    browser: httpx.AsyncClient, provider: FakeHttpServer
) -> None:
    created = await browser.post("/users/", json={"email": "ada@example.com", "first_name": "Augusta"})
    assert created.status_code == 200
    params = await _begin(browser, provider)
    provider.respond(200, {"access_token": "hc-access"})
    provider.respond(200, ME)
    back = await browser.get("/auth/hackclub/callback", params={"code": "c", "state": params["state"]})
    token = parse_qs(urlsplit(back.headers["location"]).query)["token"][0]
    user = (await browser.get("/verify", params={"token": token})).json()["user"]
    assert (user["id"], user["first_name"]) == (created.json()["id"], "Augusta")


def _forged_cookie(state: str) -> str:
    claims = {"token_type": "oauth_state", "state": state, "verifier": "v", "exp": int(time.time()) + 600}
    return jwt.encode(claims, "not-the-server-secret-but-long-enough-for-hs256", algorithm="HS256")


@pytest.mark.parametrize("forgery", ["other state", "no cookie", "cookie signed elsewhere", "no state"])
async def test_a_forged_state_is_refused_before_asking_hack_club(
    browser: httpx.AsyncClient, provider: FakeHttpServer, forgery: str
) -> None:
    params = await _begin(browser, provider)
    query: dict[str, Any] = {"code": "c", "state": params["state"]}
    if forgery == "other state":
        query["state"] = "attacker-state"
    elif forgery == "no cookie":
        browser.cookies.clear()
    elif forgery == "cookie signed elsewhere":
        browser.cookies.clear()
        browser.cookies.set("podium_oauth_state", _forged_cookie(params["state"]), path="/auth/hackclub")
    else:
        del query["state"]
    refused = await browser.get("/auth/hackclub/callback", params=query)
    assert (refused.status_code, refused.json()["detail"]) == (400, "Invalid OAuth state")
    assert provider.requests == []


@pytest.mark.parametrize(
    ("answers", "status", "detail"),
    [
        ([(401, {"error": "invalid_grant"})], 502, "Failed to authenticate with Hack Club"),
        ([(200, {"access_token": "t"}), (500, {})], 502, "Failed to authenticate with Hack Club"),
        ([(200, {"token_type": "Bearer"})], 502, "Failed to authenticate with Hack Club"),
        ([(200, {"access_token": "t"}), (200, {"identity": {"first_name": "No"}})], 400, "No email returned from Hack Club"),
    ],
)  # fmt: skip
async def test_a_provider_failure_is_a_clear_error_and_no_account(
    browser: httpx.AsyncClient,
    provider: FakeHttpServer,
    answers: list[tuple[int, Any]],
    status: int,
    detail: str,
) -> None:
    params = await _begin(browser, provider)
    for code, body in answers:
        provider.respond(code, body)
    failed = await browser.get("/auth/hackclub/callback", params={"code": "c", "state": params["state"]})
    assert (failed.status_code, failed.json()["detail"]) == (status, detail)
    assert (await browser.get("/users/exists", params={"email": "ada@example.com"})).json() == {
        "exists": False
    }


async def test_the_user_refusing_at_hack_club_is_a_clear_error(
    browser: httpx.AsyncClient, provider: FakeHttpServer
) -> None:
    params = await _begin(browser, provider)
    refused = await browser.get(
        "/auth/hackclub/callback", params={"error": "access_denied", "state": params["state"]}
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "Hack Club sign-in did not complete: access_denied"
    assert provider.requests == []


async def test_hack_club_down_is_a_502(settings: Settings, clean_database: object) -> None:
    configured = dataclasses.replace(
        settings,
        hackclub_client_id="id",
        hackclub_client_secret="secret",
        hackclub_auth_url=unused_local_url(),
    )
    async with served(create_app(configured)) as url, httpx.AsyncClient(base_url=url) as client:
        state = parse_qs(urlsplit((await client.get("/auth/hackclub")).headers["location"]).query)["state"][0]
        down = await client.get("/auth/hackclub/callback", params={"code": "c", "state": state})
    assert (down.status_code, down.json()["detail"]) == (502, "Failed to authenticate with Hack Club")


async def test_hack_club_login_is_off_without_its_client(client: Any) -> None:
    assert (await client.get("/auth/hackclub")).status_code == 404
    assert (
        await client.get("/auth/hackclub/callback", params={"code": "c", "state": "s"})
    ).status_code == 404
