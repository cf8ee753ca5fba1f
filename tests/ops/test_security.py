"""Issue 5.4: the security review, as tests — tokens, magic links, join-code guessing, CORS, error
bodies and logs."""

from __future__ import annotations

import base64
import json
import logging
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.config import Settings
from podium.logging import JsonFormatter
from tests.api.conftest import EventSetup, Person, mint
from tests.conftest import TEST_SECRET
from tests.ops.conftest import SignUp, app_client, person

INVALID = {"detail": "Invalid authentication credentials"}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(email: str, **changes: Any) -> dict[str, Any]:
    claims = {"sub": email, "token_type": "access", "exp": int(time.time()) + 600, **changes}
    return {k: v for k, v in claims.items() if v is not None}


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def _hs512(claims: dict[str, Any]) -> str:
    with warnings.catch_warnings():
        # The shared secret is shorter than HS512 wants; the service must refuse the algorithm anyway.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, TEST_SECRET, algorithm="HS512")


BAD_TOKENS = {
    "alg none": lambda email: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(email))}.",
    "wrong algorithm": lambda email: _hs512(_claims(email)),
    "tampered signature": lambda email: _tampered(jwt.encode(_claims(email), TEST_SECRET, algorithm="HS256")),
    "wrong secret": lambda email: jwt.encode(_claims(email), "not-the-secret-" * 3, algorithm="HS256"),
    "expired": lambda email: jwt.encode(
        _claims(email, exp=int(time.time()) - 5), TEST_SECRET, algorithm="HS256"
    ),
    "missing exp": lambda email: jwt.encode(_claims(email, exp=None), TEST_SECRET, algorithm="HS256"),
    "garbage": lambda email: "not-a-jwt",
}


@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_a_forged_or_stale_token_is_401(
    client: AsyncTestClient[Any], sign_up: SignUp, make: Any
) -> None:
    person = await sign_up()
    response = await client.get("/users/current", headers={"Authorization": f"Bearer {make(person.email)}"})
    assert response.status_code == 401
    assert response.json() == INVALID


async def test_a_magic_link_token_is_not_an_access_token(
    client: AsyncTestClient[Any], sign_up: SignUp
) -> None:
    person = await sign_up()
    token = mint(person.email, "magic_link")
    response = await client.get("/users/current", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == INVALID


async def test_no_authorization_header_is_401_not_authenticated(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/users/current")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


async def test_a_token_of_a_deleted_user_is_401(
    client: AsyncTestClient[Any], sign_up: SignUp, clean_database: AsyncEngine
) -> None:
    person = await sign_up()
    assert (await client.get("/users/current", headers=person.headers)).status_code == 200
    async with clean_database.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": person.id})
    response = await client.get("/users/current", headers=person.headers)
    assert response.status_code == 401
    assert response.json() == INVALID


async def test_a_magic_link_works_once(client: AsyncTestClient[Any], sign_up: SignUp) -> None:
    person = await sign_up()
    link = mint(person.email, "magic_link", minutes=20)  # not the token sign_up already used
    first = await client.get("/verify", params={"token": link})
    replay = await client.get("/verify", params={"token": link})
    assert first.status_code == 200
    assert replay.status_code == 400
    assert replay.json() == {"detail": "Invalid token"}


# Join-code guessing.


@pytest.fixture
async def guarded(settings: Settings, clean_database: object) -> AsyncIterator[AsyncTestClient[Any]]:
    async with app_client(
        settings, join_rate_limit=5, join_ip_rate_limit=8, join_rate_window_seconds=60
    ) as c:
        yield c


async def _event(client: AsyncTestClient[Any], owner: Person) -> EventSetup:
    created = await client.post("/events/", json={"name": f"Guarded {time.time_ns()}"}, headers=owner.headers)
    assert created.status_code == 200, created.text
    body = created.json()
    return EventSetup(owner, body["id"], body["slug"], body["join_code"])


async def test_guessing_event_join_codes_is_rate_limited_per_user(guarded: AsyncTestClient[Any]) -> None:
    owner = await person(guarded, "owner@example.com")
    guesser = await person(guarded, "guesser@example.com")
    event = await _event(guarded, owner)
    answers = [
        await guarded.post(
            "/events/attend", params={"join_code": f"ZZZZZ{i}", "referral": ""}, headers=guesser.headers
        )
        for i in range(5)
    ]
    assert [a.status_code for a in answers] == [404] * 5
    # Over the limit, even the right code is refused: a 429 must not tell a right guess from a wrong one.
    blocked = await guarded.post(
        "/events/attend", params={"join_code": event.join_code, "referral": ""}, headers=guesser.headers
    )
    assert blocked.status_code == 429
    assert blocked.json() == {"detail": "Too many join code attempts, please try again later"}
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    # Someone else is not affected.
    other = await person(guarded, "other@example.com")
    joined = await guarded.post(
        "/events/attend", params={"join_code": event.join_code, "referral": ""}, headers=other.headers
    )
    assert joined.status_code == 200


async def test_guessing_project_join_codes_is_rate_limited_per_client(guarded: AsyncTestClient[Any]) -> None:
    # Eight lookups per client address: three accounts from one address share them.
    people = [await person(guarded, f"p{i}@example.com") for i in range(3)]
    statuses = [
        (
            await guarded.post("/projects/join", params={"join_code": f"YYYY{i}{j}"}, headers=person.headers)
        ).status_code
        for i, person in enumerate(people)
        for j in range(3)
    ]
    assert statuses == [404] * 8 + [429]


# CORS.


async def test_cors_allows_only_the_configured_origins(settings: Settings, clean_database: object) -> None:
    configured = Settings.from_env(
        {
            "PODIUM_JWT_SECRET": TEST_SECRET,
            "PODIUM_CORS_ALLOW_ORIGINS": "https://podium.example, https://b.example",
        }
    )
    assert configured.cors_allow_origins == ("https://podium.example", "https://b.example")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with app_client(settings, cors_allow_origins=configured.cors_allow_origins) as client:
        allowed = await client.options("/events/", headers={"Origin": "https://podium.example", **preflight})
        denied = await client.options("/events/", headers={"Origin": "https://evil.example", **preflight})
        simple_allowed = await client.get("/health", headers={"Origin": "https://b.example"})
        simple_denied = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == "https://podium.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert denied.status_code >= 400
    assert "access-control-allow-origin" not in denied.headers
    assert simple_allowed.headers["access-control-allow-origin"] == "https://b.example"
    assert "access-control-allow-origin" not in simple_denied.headers


# What errors reveal.


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("Traceback (most recent call last): boom"),
        ProgrammingError("SELECT password FROM users WHERE email = 'x'", {}, Exception('relation "users" x')),
    ],
    ids=["bug", "sql error"],
)
async def test_an_internal_error_is_a_bare_500(
    client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    async def explode() -> bool:
        raise failure

    monkeypatch.setattr(client.app.state.container, "database_ok", explode)
    response = await client.get("/health")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    for leak in ("Traceback", "SELECT", "users", "password", "File "):
        assert leak not in response.text


async def test_secrets_never_reach_the_log(
    settings: Settings, clean_database: object, caplog: pytest.LogCaptureFixture
) -> None:
    loops_key = "loops-key-that-must-stay-secret-42"
    caplog.set_level(logging.DEBUG)
    async with app_client(settings, loops_api_key=loops_key) as client:
        someone = await person(client, "secret@example.com")
        await client.get("/users/current", headers=someone.headers)
        await client.get("/users/current", headers={"Authorization": f"Bearer {someone.token}x"})
        await client.post("/request-login", params={"redirect": ""}, json={"email": "nobody@example.com"})
        await client.get("/verify", params={"token": mint(someone.email, "magic_link") + "x"})
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "podium.request" in logged
    for secret in (TEST_SECRET, loops_key, someone.token):
        assert secret not in logged
