"""Every status code and ``detail`` message of legacy §2, as PRODUCT §3 amends it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import jwt
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import EventSetup, Person, SignUp, attend, mint, submit
from tests.conftest import TEST_SECRET
from tests.support.fake_http import FakeHttpServer
from tests.support.served import served

BAD_ACCESS = "You don't have permission to do this"
UNKNOWN = "00000000-0000-4000-8000-000000000000"

Client = AsyncTestClient[Any]
CreateEvent = Callable[..., Awaitable[EventSetup]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_detail(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"detail": message}


def assert_validation(response: Any, loc: list[Any]) -> None:
    """A FastAPI-shaped 422: a list of ``{loc, msg, type}`` with the offending location."""
    assert response.status_code == 422, response.text
    items = response.json()["detail"]
    assert isinstance(items, list)
    assert all({"loc", "msg", "type"} <= item.keys() for item in items)
    assert loc in [item["loc"] for item in items]


# Auth: /request-login and /verify (legacy §2.1, PRODUCT §3.4–3.6).


async def test_request_login_for_an_unknown_email_is_404(client: Client) -> None:
    response = await client.post(
        "/request-login", params={"redirect": ""}, json={"email": "nobody@example.com"}
    )
    assert_detail(response, 404, "User not found")


async def test_request_login_normalises_the_email_and_answers_null(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    response = await client.post(
        "/request-login", params={"redirect": "/events"}, json={"email": f"  {person.email.upper()} "}
    )
    assert response.status_code == 200, response.text
    assert response.json() is None


async def test_request_login_without_redirect_is_a_422_on_the_query(client: Client) -> None:
    response = await client.post("/request-login", json={"email": "a@example.com"})
    assert_validation(response, ["query", "redirect"])


async def test_verify_without_a_token_is_a_422_on_the_query(client: Client) -> None:
    assert_validation(await client.get("/verify"), ["query", "token"])


def _token(claims: dict[str, Any], secret: str = TEST_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _soon() -> int:
    return int(time.time()) + 600


INVALID_MAGIC_LINKS: dict[str, Callable[[str], str]] = {
    "garbage": lambda email: "not-a-jwt",
    "wrong secret": lambda email: _token(
        {"sub": email, "token_type": "magic_link", "exp": _soon()},
        "another-secret-0123456789abcdef-0123456789",
    ),
    "expired": lambda email: _token({"sub": email, "token_type": "magic_link", "exp": int(time.time()) - 60}),
    "no exp": lambda email: _token({"sub": email, "token_type": "magic_link"}),
    "access token": lambda email: mint(email, "access"),
    "no sub": lambda email: _token({"token_type": "magic_link", "exp": _soon()}),
    "no token_type": lambda email: _token({"sub": email, "exp": _soon()}),
    "alg none": lambda email: jwt.encode(
        {"sub": email, "token_type": "magic_link", "exp": _soon()}, None, algorithm="none"
    ),
}


@pytest.mark.parametrize("make", INVALID_MAGIC_LINKS.values(), ids=INVALID_MAGIC_LINKS.keys())
async def test_verify_rejects_a_bad_magic_link_with_invalid_token(
    client: Client, sign_up: SignUp, make: Callable[[str], str]
) -> None:
    person = await sign_up()
    assert_detail(await client.get("/verify", params={"token": make(person.email)}), 400, "Invalid token")


async def test_verify_for_an_unknown_user_is_404(client: Client) -> None:
    response = await client.get("/verify", params={"token": mint("ghost@example.com", "magic_link")})
    assert_detail(response, 404, "User not found")


async def test_a_magic_link_works_once(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    token = mint(person.email, "magic_link", minutes=10)
    first = await client.get("/verify", params={"token": token})
    assert first.status_code == 200, first.text
    assert first.json()["token_type"] == "access"
    assert first.json()["user"]["email"] == person.email
    assert_detail(await client.get("/verify", params={"token": token}), 400, "Invalid token")


async def test_an_uppercase_sub_logs_in(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    verified = await client.get("/verify", params={"token": mint(f" {person.email.upper()}", "magic_link")})
    assert verified.status_code == 200, verified.text
    access = mint(person.email.upper(), "access")
    assert (await client.get("/users/current", headers=bearer(access))).json()["id"] == person.id


# The failure matrix of every "user" endpoint (legacy §3.4, PRODUCT §3.3: missing credentials are 401).

AUTH_FAILURES: list[tuple[str, Callable[[str], dict[str, str]], int, str]] = [
    ("no header", lambda email: {}, 401, "Not authenticated"),
    ("bearer without token", lambda email: {"Authorization": "Bearer "}, 401, "Not authenticated"),
    ("basic scheme", lambda email: {"Authorization": "Basic eDp5"}, 401, "Invalid authentication credentials"),
    ("malformed jwt", lambda email: bearer("a.b.c"), 401, "Invalid authentication credentials"),
    ("bad signature", lambda email: bearer(_token({"sub": email, "token_type": "access", "exp": _soon()}, "x" * 40)),
     401, "Invalid authentication credentials"),
    ("expired", lambda email: bearer(mint(email, minutes=-1)), 401, "Invalid authentication credentials"),
    ("no exp", lambda email: bearer(_token({"sub": email, "token_type": "access"})), 401,
     "Invalid authentication credentials"),
    ("magic link token", lambda email: bearer(mint(email, "magic_link")), 401, "Invalid authentication credentials"),
    ("no sub", lambda email: bearer(_token({"token_type": "access", "exp": _soon()})), 401,
     "Invalid authentication credentials"),
    ("no token_type", lambda email: bearer(_token({"sub": email, "exp": _soon()})), 401,
     "Invalid authentication credentials"),
    ("unknown user", lambda email: bearer(mint("ghost@example.com")), 401, "Invalid authentication credentials"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [case[1:] for case in AUTH_FAILURES],
    ids=[case[0] for case in AUTH_FAILURES],
)
async def test_user_endpoints_reject_bad_credentials(
    client: Client, sign_up: SignUp, headers: Callable[[str], dict[str, str]], status: int, message: str
) -> None:
    person = await sign_up()
    response = await client.get("/users/current", headers=headers(person.email))
    assert_detail(response, status, message)


async def test_the_bearer_scheme_is_case_insensitive(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    response = await client.get("/users/current", headers={"Authorization": f"bearer {person.token}"})
    assert response.status_code == 200, response.text


async def test_credentials_are_checked_before_the_body(client: Client) -> None:
    response = await client.post("/events/", json={"name": 12})
    assert_detail(response, 401, "Not authenticated")


# Rate limiting of request-login and verify (PRODUCT §3.8).


@pytest.fixture
async def limited_client(settings: Settings, clean_database: object) -> Any:
    tight = replace(settings, login_rate_limit=2, login_ip_rate_limit=100, login_rate_window_seconds=60)
    async with AsyncTestClient(app=create_app(tight)) as client:
        yield client


async def test_request_login_is_rate_limited_per_email(limited_client: Client) -> None:
    await limited_client.post("/users/", json={"email": "limited@example.com", "first_name": "Lim"})
    statuses = [
        (
            await limited_client.post("/request-login", params={"redirect": ""}, json={"email": email})
        ).status_code
        for email in ("limited@example.com", "LIMITED@example.com", " limited@example.com")
    ]
    assert statuses == [200, 200, 429]
    response = await limited_client.post(
        "/request-login", params={"redirect": ""}, json={"email": "limited@example.com"}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert isinstance(response.json()["detail"], str)
    # Another address is not affected.
    other = await limited_client.post(
        "/request-login", params={"redirect": ""}, json={"email": "else@example.com"}
    )
    assert_detail(other, 404, "User not found")


async def test_verify_is_rate_limited_per_email(limited_client: Client) -> None:
    await limited_client.post("/users/", json={"email": "verify@example.com", "first_name": "Vic"})
    statuses = [
        (await limited_client.get("/verify", params={"token": mint("verify@example.com", "magic_link", minutes=m)}))
        .status_code
        for m in (10, 11, 12)
    ]  # fmt: skip
    assert statuses == [200, 200, 429]


async def test_login_is_rate_limited_per_client_address(settings: Settings, clean_database: object) -> None:
    tight = replace(settings, login_rate_limit=100, login_ip_rate_limit=3)
    async with AsyncTestClient(app=create_app(tight)) as client:
        statuses = [
            (await client.post("/request-login", params={"redirect": ""}, json={"email": f"n{i}@example.com"}))
            .status_code
            for i in range(4)
        ]  # fmt: skip
        response = await client.get("/verify", params={"token": "x"})
    assert statuses == [404, 404, 404, 429]
    # verify has its own budget per client.
    assert_detail(response, 400, "Invalid token")


async def test_the_addresses_of_one_ipv6_64_share_one_login_budget(
    settings: Settings, clean_database: object
) -> None:
    """One IPv6 host holds a /64 and may take a new address per request: the per-client login limit
    counts the /64 (served by uvicorn, which trusts ``X-Forwarded-For`` from 127.0.0.1, like a proxy)."""
    tight = replace(settings, login_rate_limit=100, login_ip_rate_limit=3)

    async def login(http: httpx.AsyncClient, address: str, n: int) -> int:
        response = await http.post(
            "/request-login",
            params={"redirect": ""},
            json={"email": f"v6-{n}@example.com"},
            headers={"X-Forwarded-For": address},
        )
        return response.status_code

    async with served(create_app(tight)) as base, httpx.AsyncClient(base_url=base, timeout=30.0) as http:
        addresses = ["2001:db8:1:2::a", "2001:db8:1:2:ffff::b", "2001:db8:1:2::c", "2001:db8:1:2::d"]
        statuses = [await login(http, address, n) for n, address in enumerate(addresses)]
        assert statuses == [404, 404, 404, 429]
        assert await login(http, "2001:db8:1:3::a", 9) == 404  # the next /64 is another client
        assert await login(http, "192.0.2.1", 10) == 404  # and so is an IPv4 address


# Users (legacy §2.2, PRODUCT §3.7).


@pytest.mark.parametrize("email", ["x@test.local", "someone@example.com", "a@b.test"])
async def test_exists_answers_false_for_any_valid_unknown_address(client: Client, email: str) -> None:
    response = await client.get("/users/exists", params={"email": email})
    assert response.status_code == 200, response.text
    assert response.json() == {"exists": False}


async def test_exists_matches_the_normalised_email(client: Client, sign_up: SignUp) -> None:
    person = await sign_up(email="Mixed.Case@Example.com")
    response = await client.get("/users/exists", params={"email": f" {person.email.upper()} "})
    assert response.json() == {"exists": True}


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@b.com", "a b@c.com", "a@@b.com"])
async def test_exists_rejects_a_malformed_address_with_422(client: Client, email: str) -> None:
    assert_validation(await client.get("/users/exists", params={"email": email}), ["query", "email"])


async def test_exists_without_email_is_422(client: Client) -> None:
    assert_validation(await client.get("/users/exists"), ["query", "email"])


async def test_an_unknown_user_is_404(client: Client) -> None:
    assert_detail(await client.get(f"/users/{UNKNOWN}"), 404, "User not found")


async def test_sign_up_with_a_taken_email_is_400_whatever_the_case(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    response = await client.post("/users/", json={"email": f" {person.email.upper()}", "first_name": "Twin"})
    assert_detail(response, 400, "User already exists")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"first_name": "No Email"}, ["body", "email"]),
        ({"email": "nofirst@example.com"}, ["body", "first_name"]),
        ({"email": "dob@example.com", "first_name": "D", "dob": ""}, ["body", "dob"]),
        ({"email": "dob@example.com", "first_name": "D", "dob": "2000-13-01"}, ["body", "dob"]),
    ],
)
async def test_sign_up_with_a_missing_or_invalid_field_is_422(
    client: Client, body: dict[str, Any], loc: list[str]
) -> None:
    assert_validation(await client.post("/users/", json=body), loc)


async def test_sign_up_accepts_nulls_and_the_extra_id_the_frontend_sends(client: Client) -> None:
    body = {
        "id": "",
        "email": "nulls@test.local",
        "first_name": "N",
        "last_name": None,
        "country": None,
        "dob": None,
    }
    response = await client.post("/users/", json=body)
    assert response.status_code == 200, response.text
    uuid.UUID(response.json()["id"])


@pytest.mark.parametrize("body", [{}, {"first_name": None, "dob": None}, {"email": "new@example.com"}])
async def test_updating_nothing_is_400(client: Client, sign_up: SignUp, body: dict[str, Any]) -> None:
    person = await sign_up()
    response = await client.put("/users/current", json=body, headers=person.headers)
    assert_detail(response, 400, "No fields to update")


async def test_an_empty_string_clears_a_profile_field(client: Client, sign_up: SignUp) -> None:
    person = await sign_up(last_name="Lovelace", phone="123")
    response = await client.put(
        "/users/current", json={"last_name": "", "phone": None}, headers=person.headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["last_name"], response.json()["phone"]) == ("", "123")


# Events (legacy §2.3–2.4, PRODUCT §3.10, 3.13, 3.14).


async def test_an_unknown_event_is_404(client: Client) -> None:
    assert_detail(await client.get(f"/events/{UNKNOWN}"), 404, "Event not found")


OWNER_ONLY_EVENT_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PUT", "/events/{id}", {"name": "Renamed"}),
    ("DELETE", "/events/{id}", None),
    ("GET", "/events/admin/{id}", None),
    ("GET", "/events/admin/{id}/attendees", None),
    ("POST", "/events/admin/{id}/remove-attendee", {"user_id": UNKNOWN}),
    ("GET", "/events/admin/{id}/leaderboard", None),
    ("GET", "/events/admin/{id}/votes", None),
    ("GET", "/events/admin/{id}/referrals", None),
]


@pytest.mark.parametrize("whose", ["someone else's", "unknown"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    OWNER_ONLY_EVENT_ROUTES,
    ids=[f"{m} {p}" for m, p, _ in OWNER_ONLY_EVENT_ROUTES],
)
async def test_owner_only_event_routes_answer_bad_access(
    client: Client,
    sign_up: SignUp,
    create_event: CreateEvent,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    whose: str,
) -> None:
    owner, stranger = await sign_up("Owner"), await sign_up("Stranger")
    event_id = (await create_event(owner)).id if whose != "unknown" else UNKNOWN
    response = await client.request(method, path.format(id=event_id), json=body, headers=stranger.headers)
    assert_detail(response, 403, BAD_ACCESS)


async def test_the_admin_view_is_the_private_event(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    owner = await sign_up()
    event = await create_event(owner)
    response = await client.get(f"/events/admin/{event.id}", headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["join_code"], body["owner_id"], body["max_votes_per_user"]) == (event.join_code, owner.id, 1)


@pytest.mark.parametrize("second", ["HACK DAY", "hack-day", "Hack  Day!", "  hack_day  "])
async def test_a_taken_slug_is_400(
    client: Client, sign_up: SignUp, create_event: CreateEvent, second: str
) -> None:
    owner = await sign_up()
    await create_event(owner, "Hack Day")
    response = await client.post("/events/", json={"name": second}, headers=owner.headers)
    assert_detail(response, 400, "Event slug already exists")


@pytest.mark.parametrize("name", ["!!!", "   ", "", "🎉🎉"])
async def test_an_event_name_without_letters_or_digits_is_422(
    client: Client, sign_up: SignUp, name: str
) -> None:
    owner = await sign_up()
    response = await client.post("/events/", json={"name": name}, headers=owner.headers)
    assert response.status_code == 422, response.text


async def test_a_long_name_gets_a_slug_cut_at_a_dash(client: Client, sign_up: SignUp) -> None:
    owner = await sign_up()
    name = "The Extraordinarily Long Annual Hackathon Of Everything Under The Sun"
    response = await client.post("/events/", json={"name": name}, headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.json()["slug"] == "the-extraordinarily-long-annual-hackathon-of"


async def test_create_event_ignores_votable_and_leaderboard(client: Client, sign_up: SignUp) -> None:
    owner = await sign_up()
    body = {"name": "Flags", "votable": True, "leaderboard_enabled": True, "demo_links_optional": True}
    created = (await client.post("/events/", json=body, headers=owner.headers)).json()
    event = (await client.get(f"/events/{created['id']}")).json()
    assert (event["votable"], event["leaderboard_enabled"], event["demo_links_optional"]) == (
        False,
        False,
        True,
    )
    assert len(created["join_code"]) == 6


async def test_rename_keeps_the_slug(client: Client, sign_up: SignUp, create_event: CreateEvent) -> None:
    owner = await sign_up()
    event = await create_event(owner, "Old Name")
    response = await client.put(
        f"/events/{event.id}", json={"name": "New Name", "slug": "x", "votable": None}, headers=owner.headers
    )
    assert response.json() == {"message": "Event updated"}
    assert (await client.get(f"/events/{event.id}")).json()["slug"] == "old-name"


# Attendance.


async def test_attend_with_an_unknown_code_is_404(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    response = await client.post(
        "/events/attend", params={"join_code": "NOPE42", "referral": ""}, headers=person.headers
    )
    assert_detail(response, 404, "Event not found")


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "  {lower}  ", "\t{code}\n"])
async def test_attend_codes_are_trimmed_and_case_insensitive(
    client: Client, sign_up: SignUp, create_event: CreateEvent, typed: str
) -> None:
    owner, person = await sign_up(), await sign_up()
    event = await create_event(owner)
    code = typed.format(code=event.join_code, lower=event.join_code.lower())
    response = await client.post(
        "/events/attend", params={"join_code": code, "referral": ""}, headers=person.headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Successfully joined event", "event_id": event.id}


async def test_attending_twice_is_400(client: Client, sign_up: SignUp, create_event: CreateEvent) -> None:
    owner, person = await sign_up(), await sign_up()
    event = await create_event(owner)
    await attend(client, person, event, "first")
    response = await client.post(
        "/events/attend", params={"join_code": event.join_code, "referral": "again"}, headers=person.headers
    )
    assert_detail(response, 400, "User already attending event")
    referrals = (await client.get(f"/events/admin/{event.id}/referrals", headers=owner.headers)).json()
    assert [r["content"] for r in referrals] == ["first"]


@pytest.mark.parametrize(
    ("params", "loc"), [({"join_code": "X"}, "referral"), ({"referral": ""}, "join_code")]
)
async def test_attend_without_a_query_parameter_is_422(
    client: Client, sign_up: SignUp, params: dict[str, str], loc: str
) -> None:
    person = await sign_up()
    assert_validation(
        await client.post("/events/attend", params=params, headers=person.headers), ["query", loc]
    )


async def test_an_empty_referral_creates_no_row(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    owner, person = await sign_up(), await sign_up()
    event = await create_event(owner)
    await attend(client, person, event, "")
    await attend(client, owner, event, " ")
    referrals = (await client.get(f"/events/admin/{event.id}/referrals", headers=owner.headers)).json()
    assert [r["content"] for r in referrals] == [" "]


async def test_removing_a_non_attendee_is_idempotent(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    owner = await sign_up()
    event = await create_event(owner)
    response = await client.post(
        f"/events/admin/{event.id}/remove-attendee", json={"user_id": UNKNOWN}, headers=owner.headers
    )
    assert response.json() == {"message": "Attendee removed"}


async def test_remove_attendee_wants_an_object_not_a_bare_uuid(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    owner = await sign_up()
    event = await create_event(owner)
    response = await client.post(
        f"/events/admin/{event.id}/remove-attendee", json=UNKNOWN, headers=owner.headers
    )
    assert response.status_code == 422, response.text


# /events/id/{slug}.


@pytest.mark.parametrize(
    ("slug", "status"), [("ABC", 422), ("ABc", 404), ("a" * 51, 422), ("___", 422), ("no-such", 404)]
)
async def test_slug_lookup_validates_like_the_legacy_pattern(client: Client, slug: str, status: int) -> None:
    response = await client.get(f"/events/id/{slug}")
    assert response.status_code == status, response.text
    if status == 404:
        assert response.json() == {"detail": "Event not found"}
    else:
        assert_validation(response, ["path", "slug"])


async def test_slug_lookup_answers_the_id_as_a_json_string(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    event = await create_event(await sign_up(), "Slug Me")
    response = await client.get("/events/id/slug-me")
    assert response.status_code == 200
    assert response.text == f'"{event.id}"'


# Project listing and the public leaderboard.


async def test_the_leaderboard_is_403_until_enabled(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    event = await create_event(await sign_up())
    response = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    assert_detail(response, 403, "Leaderboard is not enabled")
    assert (await client.get(f"/events/{event.id}/projects", params={"leaderboard": "0"})).json() == []


async def test_listing_projects_of_an_unknown_event_is_404(client: Client) -> None:
    response = await client.get(f"/events/{UNKNOWN}/projects", params={"leaderboard": "false"})
    assert_detail(response, 404, "Event not found")


@pytest.mark.parametrize("params", [{}, {"leaderboard": "maybe"}])
async def test_listing_projects_needs_a_boolean_leaderboard(client: Client, params: dict[str, str]) -> None:
    response = await client.get(f"/events/{UNKNOWN}/projects", params=params)
    assert_validation(response, ["query", "leaderboard"])


# Non-UUID path ids → 422 with FastAPI's shape, never a 404 or 500.

PATH_ID_ROUTES = [
    ("GET", "/users/{}", "user_id", False),
    ("GET", "/events/{}", "event_id", False),
    ("GET", "/events/{}/projects?leaderboard=false", "event_id", False),
    ("PUT", "/events/{}", "event_id", True),
    ("DELETE", "/events/{}", "event_id", True),
    ("GET", "/events/admin/{}", "event_id", True),
    ("GET", "/events/admin/{}/attendees", "event_id", True),
    ("GET", "/events/admin/{}/leaderboard", "event_id", True),
    ("GET", "/events/admin/{}/votes", "event_id", True),
    ("GET", "/events/admin/{}/referrals", "event_id", True),
    ("POST", "/events/admin/{}/remove-attendee", "event_id", True),
    ("GET", "/projects/{}", "project_id", False),
    ("PUT", "/projects/{}", "project_id", True),
    ("DELETE", "/projects/{}", "project_id", True),
]


@pytest.mark.parametrize(
    ("method", "path", "name", "auth"), PATH_ID_ROUTES, ids=[f"{r[0]} {r[1]}" for r in PATH_ID_ROUTES]
)
async def test_a_non_uuid_path_id_is_422(
    client: Client, sign_up: SignUp, method: str, path: str, name: str, auth: bool
) -> None:
    headers = (await sign_up()).headers if auth else {}
    body = {"user_id": UNKNOWN} if method in ("POST", "PUT") else None
    response = await client.request(method, path.format("not-a-uuid"), json=body, headers=headers)
    assert_validation(response, ["path", name])


# Voting (legacy §2.3 table and §4.1, PRODUCT §3.9, 3.16–3.18).


@dataclass
class VotingScene:
    event: EventSetup
    voter: Person
    others: list[dict[str, Any]]
    own: dict[str, Any]


@pytest.fixture
def voting_scene(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> Callable[..., Awaitable[VotingScene]]:
    async def make(projects: int = 3, votable: bool = True) -> VotingScene:
        owner, voter = await sign_up("Owner"), await sign_up("Voter")
        event = await create_event(owner, votable=votable, leaderboard_enabled=True, demo_links_optional=True)
        await attend(client, owner, event)
        await attend(client, voter, event, "a poster")
        own = await submit(client, voter, event, "Voter's own")
        others = [await submit(client, owner, event, f"P{i:02d}") for i in range(projects - 1)]
        return VotingScene(event, voter, others, own)

    return make


async def vote(client: Client, person: Person, event_id: str, project_ids: list[str]) -> Any:
    return await client.post(
        "/events/vote", json={"event": event_id, "projects": project_ids}, headers=person.headers
    )


async def stored_votes(client: Client, event: EventSetup) -> list[dict[str, Any]]:
    response = await client.get(f"/events/admin/{event.id}/votes", headers=event.owner.headers)
    assert response.status_code == 200, response.text
    votes: list[dict[str, Any]] = response.json()
    return votes


async def test_a_valid_vote_is_recorded(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene()
    response = await vote(client, scene.voter, scene.event.id, [scene.others[0]["id"]])
    assert response.json() == {"message": "Votes recorded"}
    [stored] = await stored_votes(client, scene.event)
    assert (stored["voter_id"], stored["project_id"]) == (scene.voter.id, scene.others[0]["id"])


async def test_voting_in_an_unknown_event_is_404(client: Client, sign_up: SignUp) -> None:
    assert_detail(await vote(client, await sign_up(), UNKNOWN, [UNKNOWN]), 404, "Event not found")


async def test_voting_without_attending_is_bad_access(
    client: Client, sign_up: SignUp, voting_scene: Any
) -> None:
    scene: VotingScene = await voting_scene()
    response = await vote(client, await sign_up("Outsider"), scene.event.id, [scene.others[0]["id"]])
    assert_detail(response, 403, BAD_ACCESS)


async def test_voting_while_not_votable_is_403(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene(votable=False)
    response = await vote(client, scene.voter, scene.event.id, [scene.others[0]["id"]])
    assert_detail(response, 403, "Voting is not open for this event")


async def test_voting_over_the_quota_is_400(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene(projects=3)
    response = await vote(client, scene.voter, scene.event.id, [p["id"] for p in scene.others])
    assert_detail(response, 400, "Cannot vote for 2 projects. You have 1 vote(s) remaining.")


async def test_revoting_once_the_quota_is_used_gives_the_limit_message(
    client: Client, voting_scene: Any
) -> None:
    scene: VotingScene = await voting_scene(projects=3)
    target = scene.others[0]["id"]
    assert (await vote(client, scene.voter, scene.event.id, [target])).status_code == 200
    response = await vote(client, scene.voter, scene.event.id, [target])
    assert_detail(response, 400, "Cannot vote for 1 projects. You have 0 vote(s) remaining.")


async def test_voting_twice_for_a_project_is_400(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene(projects=5)
    target = scene.others[0]["id"]
    assert (await vote(client, scene.voter, scene.event.id, [target])).status_code == 200
    response = await vote(client, scene.voter, scene.event.id, [target])
    assert_detail(response, 400, "User has already voted for this project")


async def test_duplicate_ids_in_one_request_count_once(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene(projects=3)
    target = scene.others[0]["id"]
    assert (await vote(client, scene.voter, scene.event.id, [target, target])).status_code == 200
    assert len(await stored_votes(client, scene.event)) == 1


async def test_voting_for_an_unknown_project_is_404(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene()
    assert_detail(await vote(client, scene.voter, scene.event.id, [UNKNOWN]), 404, "Project not found")


async def test_voting_for_a_project_of_another_event_is_400(
    client: Client, sign_up: SignUp, create_event: CreateEvent, voting_scene: Any
) -> None:
    scene: VotingScene = await voting_scene()
    elsewhere = await create_event(await sign_up("Other"), demo_links_optional=True)
    await attend(client, elsewhere.owner, elsewhere)
    foreign = await submit(client, elsewhere.owner, elsewhere, "Foreign")
    response = await vote(client, scene.voter, scene.event.id, [foreign["id"]])
    assert_detail(response, 400, "Project is not in the event")


async def test_voting_for_ones_own_project_is_403(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene()
    response = await vote(client, scene.voter, scene.event.id, [scene.own["id"]])
    assert_detail(response, 403, "User cannot vote for their own project")


async def test_voting_for_a_project_one_collaborates_on_is_403(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene()
    joined = await client.post(
        "/projects/join", params={"join_code": scene.others[0]["join_code"]}, headers=scene.voter.headers
    )
    assert joined.status_code == 200, joined.text
    response = await vote(client, scene.voter, scene.event.id, [scene.others[0]["id"]])
    assert_detail(response, 403, "User cannot vote for their own project")


async def test_voting_is_all_or_nothing(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene(projects=5)
    response = await vote(client, scene.voter, scene.event.id, [scene.others[0]["id"], UNKNOWN])
    assert_detail(response, 404, "Project not found")
    response = await vote(client, scene.voter, scene.event.id, [scene.others[0]["id"], scene.own["id"]])
    assert_detail(response, 403, "User cannot vote for their own project")
    assert await stored_votes(client, scene.event) == []


async def test_an_empty_vote_is_200_with_no_effect(client: Client, voting_scene: Any) -> None:
    scene: VotingScene = await voting_scene()
    assert (await vote(client, scene.voter, scene.event.id, [])).json() == {"message": "Votes recorded"}
    assert await stored_votes(client, scene.event) == []


@pytest.mark.parametrize(("projects", "quota"), [(1, 1), (3, 1), (4, 2), (19, 2), (20, 3)])
async def test_the_vote_quota_follows_the_project_count(
    client: Client, voting_scene: Any, projects: int, quota: int
) -> None:
    scene: VotingScene = await voting_scene(projects=projects)
    event = (await client.get(f"/events/{scene.event.id}")).json()
    assert event["max_votes_per_user"] == quota
    candidates = [p["id"] for p in scene.others]
    if len(candidates) > quota:
        over = await vote(client, scene.voter, scene.event.id, candidates[: quota + 1])
        assert over.status_code == 400, over.text
    response = await vote(client, scene.voter, scene.event.id, candidates[:quota])
    assert response.status_code == 200, response.text
    assert len(await stored_votes(client, scene.event)) == min(quota, len(candidates))


async def test_the_leaderboard_orders_by_points_then_name_then_id(
    client: Client, sign_up: SignUp, voting_scene: Any, engine: AsyncEngine
) -> None:
    scene: VotingScene = await voting_scene(projects=5)  # P00..P03 by the owner, quota 2
    p00, p01, p02, p03 = scene.others
    # Two projects with the same name: the tie is broken by id.
    twin = await submit(client, scene.event.owner, scene.event, "P02")
    second = await sign_up("Second")
    await attend(client, second, scene.event)
    assert (await vote(client, scene.voter, scene.event.id, [p03["id"], p01["id"]])).status_code == 200
    assert (await vote(client, second, scene.event.id, [p01["id"]])).status_code == 200
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE projects SET legacy_points = 1 WHERE id = :id"), {"id": uuid.UUID(p02["id"])}
        )
        await connection.execute(
            text("UPDATE projects SET legacy_points = 1 WHERE id = :id"), {"id": uuid.UUID(twin["id"])}
        )
    board = (await client.get(f"/events/{scene.event.id}/projects", params={"leaderboard": "true"})).json()
    twins = sorted([p02["id"], twin["id"]])
    expected = [
        (p01["id"], 2),
        (twins[0], 1),
        (twins[1], 1),
        (p03["id"], 1),
        (p00["id"], 0),
        (scene.own["id"], 0),
    ]
    assert [(p["id"], p["points"]) for p in board] == expected
    admin = (
        await client.get(f"/events/admin/{scene.event.id}/leaderboard", headers=scene.event.owner.headers)
    ).json()
    assert [(p["id"], p["points"]) for p in admin] == expected


# Projects (legacy §2.5, PRODUCT §3.11, 3.12, 3.20).


def project_body(event_id: str, **overrides: Any) -> dict[str, Any]:
    return {"name": "Thing", "repo": "https://r", "image_url": "https://i", "demo": "https://d", "event_id": event_id,
            **overrides}  # fmt: skip


async def test_create_project_checks_the_event_first(client: Client, sign_up: SignUp) -> None:
    person = await sign_up()
    response = await client.post("/projects/", json=project_body(UNKNOWN, demo=""), headers=person.headers)
    assert_detail(response, 404, "Event not found")


@pytest.mark.parametrize("demo", ["", "   "])
async def test_create_project_checks_the_demo_before_attendance(
    client: Client, sign_up: SignUp, create_event: CreateEvent, demo: str
) -> None:
    event = await create_event(await sign_up())
    outsider = await sign_up()
    response = await client.post(
        "/projects/", json=project_body(event.id, demo=demo), headers=outsider.headers
    )
    assert_detail(response, 422, "Demo URL is required for this event")


async def test_create_project_requires_attendance(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    event = await create_event(await sign_up())
    outsider = await sign_up()
    response = await client.post("/projects/", json=project_body(event.id), headers=outsider.headers)
    assert_detail(response, 403, "Owner not part of event")


async def test_create_project_without_demo_when_optional(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    owner = await sign_up()
    event = await create_event(owner, demo_links_optional=True)
    await attend(client, owner, event)
    body = project_body(event.id, demo="", hours_spent=-5)
    response = await client.post("/projects/", json=body, headers=owner.headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) >= {"id", "join_code"}


@pytest.mark.parametrize("field", ["description", "demo", "hours_spent"])
async def test_create_project_rejects_null_for_defaulted_fields(
    client: Client, sign_up: SignUp, field: str
) -> None:
    person = await sign_up()
    response = await client.post(
        "/projects/", json=project_body(UNKNOWN, **{field: None}), headers=person.headers
    )
    assert_validation(response, ["body", field])


@dataclass
class ProjectScene:
    event: EventSetup
    owner: Person
    project: dict[str, Any]


@pytest.fixture
def project_scene(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> Callable[..., Awaitable[ProjectScene]]:
    async def make(**event_settings: Any) -> ProjectScene:
        organiser, owner = await sign_up("Organiser"), await sign_up("Maker")
        event = await create_event(organiser, **event_settings)
        await attend(client, owner, event)
        return ProjectScene(event, owner, await submit(client, owner, event, "Made"))

    return make


async def test_joining_with_an_unknown_code_is_404(client: Client, sign_up: SignUp) -> None:
    response = await client.post(
        "/projects/join", params={"join_code": "ZZZZZZ"}, headers=(await sign_up()).headers
    )
    assert_detail(response, 404, "No project found")


async def test_the_owner_cannot_join_their_project(client: Client, project_scene: Any) -> None:
    scene: ProjectScene = await project_scene()
    response = await client.post(
        "/projects/join", params={"join_code": scene.project["join_code"]}, headers=scene.owner.headers
    )
    assert_detail(response, 400, "User is already a collaborator or owner")


async def test_joining_requires_attending_the_event(
    client: Client, sign_up: SignUp, project_scene: Any
) -> None:
    scene: ProjectScene = await project_scene()
    response = await client.post(
        "/projects/join", params={"join_code": scene.project["join_code"]}, headers=(await sign_up()).headers
    )
    assert_detail(response, 403, BAD_ACCESS)


async def test_joining_twice_is_400_and_codes_are_forgiving(
    client: Client, sign_up: SignUp, project_scene: Any
) -> None:
    scene: ProjectScene = await project_scene()
    mate = await sign_up("Mate")
    await attend(client, mate, scene.event)
    code = f"  {scene.project['join_code'].lower()} "
    first = await client.post("/projects/join", params={"join_code": code}, headers=mate.headers)
    assert first.json() == {"message": "Successfully joined project"}
    again = await client.post("/projects/join", params={"join_code": code}, headers=mate.headers)
    assert_detail(again, 400, "User is already a collaborator or owner")
    mine = (await client.get("/projects/mine", headers=mate.headers)).json()
    assert [p["id"] for p in mine] == [scene.project["id"]]


async def test_joining_without_a_code_is_422(client: Client, sign_up: SignUp) -> None:
    response = await client.post("/projects/join", headers=(await sign_up()).headers)
    assert_validation(response, ["query", "join_code"])


async def test_an_unknown_project_is_404(client: Client) -> None:
    assert_detail(await client.get(f"/projects/{UNKNOWN}"), 404, "Project not found")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("who", ["stranger", "collaborator", "event owner", "unknown project"])
async def test_only_the_project_owner_may_change_it(
    client: Client, sign_up: SignUp, project_scene: Any, method: str, who: str
) -> None:
    scene: ProjectScene = await project_scene()
    project_id = scene.project["id"] if who != "unknown project" else UNKNOWN
    if who == "event owner":
        caller = scene.event.owner
    else:
        caller = await sign_up()
        if who == "collaborator":
            await attend(client, caller, scene.event)
            await client.post(
                "/projects/join", params={"join_code": scene.project["join_code"]}, headers=caller.headers
            )
    body = {"name": "Mine now"} if method == "PUT" else None
    response = await client.request(method, f"/projects/{project_id}", json=body, headers=caller.headers)
    assert_detail(response, 403, BAD_ACCESS)


@pytest.mark.parametrize(
    "body", [{"name": "Renamed"}, {"name": "Renamed", "demo": None}, {"name": "Renamed", "points": 99}]
)
async def test_update_without_demo_keeps_the_stored_demo(
    client: Client, project_scene: Any, body: dict[str, Any]
) -> None:
    scene: ProjectScene = await project_scene()
    response = await client.put(f"/projects/{scene.project['id']}", json=body, headers=scene.owner.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["demo"], response.json()["points"]) == (
        "Renamed",
        "https://d",
        0,
    )


@pytest.mark.parametrize("demo", ["", "  "])
async def test_update_blanking_a_required_demo_is_422(client: Client, project_scene: Any, demo: str) -> None:
    scene: ProjectScene = await project_scene()
    response = await client.put(
        f"/projects/{scene.project['id']}", json={"demo": demo}, headers=scene.owner.headers
    )
    assert_detail(response, 422, "Demo URL is required for this event")


async def test_update_may_blank_an_optional_demo(client: Client, project_scene: Any) -> None:
    scene: ProjectScene = await project_scene(demo_links_optional=True)
    response = await client.put(
        f"/projects/{scene.project['id']}", json={"demo": ""}, headers=scene.owner.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["demo"] == ""


async def test_deleting_a_voted_project_removes_its_votes(
    client: Client, sign_up: SignUp, voting_scene: Any
) -> None:
    scene: VotingScene = await voting_scene()
    target = scene.others[0]
    assert (await vote(client, scene.voter, scene.event.id, [target["id"]])).status_code == 200
    mate = await sign_up("Mate")
    await attend(client, mate, scene.event)
    await client.post("/projects/join", params={"join_code": target["join_code"]}, headers=mate.headers)
    response = await client.delete(f"/projects/{target['id']}", headers=scene.event.owner.headers)
    assert response.json() == {"message": "Project deleted"}
    assert await stored_votes(client, scene.event) == []
    assert (await client.get("/users/current", headers=scene.voter.headers)).json()["votes"] == []
    assert (await client.get("/projects/mine", headers=mate.headers)).json() == []
    assert (await client.get(f"/projects/{target['id']}")).status_code == 404


async def test_deleting_an_event_removes_everything_under_it(
    client: Client, voting_scene: Any, engine: AsyncEngine
) -> None:
    scene: VotingScene = await voting_scene()
    assert (await vote(client, scene.voter, scene.event.id, [scene.others[0]["id"]])).status_code == 200
    joined = await client.post(
        "/projects/join", params={"join_code": scene.others[1]["join_code"]}, headers=scene.voter.headers
    )
    assert joined.status_code == 200, joined.text
    assert (
        len(
            (
                await client.get(
                    f"/events/admin/{scene.event.id}/referrals", headers=scene.event.owner.headers
                )
            ).json()
        )
        == 1
    )
    response = await client.delete(f"/events/{scene.event.id}", headers=scene.event.owner.headers)
    assert response.json() == {"message": "Event deleted"}
    assert_detail(await client.get(f"/events/{scene.event.id}"), 404, "Event not found")
    async with engine.connect() as connection:
        counts = [
            (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("projects", "votes", "referrals", "event_attendees", "project_collaborators")
        ]
    assert counts == [0, 0, 0, 0, 0]
    assert (await client.get("/users/current", headers=scene.voter.headers)).json()["votes"] == []


async def test_deleting_an_event_with_referrals_is_200(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    owner, person = await sign_up(), await sign_up()
    event = await create_event(owner)
    await attend(client, person, event, "a friend")
    response = await client.delete(f"/events/{event.id}", headers=owner.headers)
    assert response.status_code == 200, response.text


async def test_project_checks_are_503_when_not_configured(client: Client, project_scene: Any) -> None:
    scene: ProjectScene = await project_scene()
    body = {
        key: scene.project.get(key, "") for key in ("id", "name", "repo", "image_url", "demo", "description")
    }
    response = await client.post("/projects/check/start", json={**body, "points": 0})
    assert_detail(response, 503, "Project checks are not configured")
    assert_detail(await client.get("/projects/check/some-id"), 503, "Project checks are not configured")


async def test_check_starts_from_one_client_are_limited_but_cached_results_still_answer(
    client: Client, project_scene: Any, settings: Settings, engine: AsyncEngine
) -> None:
    """Only the starts that reach the review service (with Podium's token) count: the n+1-th from one client
    is 429 with Retry-After, while a cached result and an unknown project still answer as before."""
    fresh, cached = (await project_scene()).project, (await project_scene()).project
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE projects SET cached_auto_quality = '{\"score\": 7}' WHERE id = :id"),
            {"id": cached["id"]},
        )

    def body(project: dict[str, Any]) -> dict[str, Any]:
        keys = ("id", "name", "repo", "image_url", "demo", "description")
        return {**{key: project.get(key, "") for key in keys}, "points": 0}

    with FakeHttpServer() as service:
        for n in range(2):
            service.respond(
                200, {"check_id": f"c{n}", "status": "pending", "created_at": "2026-12-07T00:00:00Z"}
            )
        configured = replace(
            settings,
            review_factory_url=service.url,
            review_factory_token="t",
            check_rate_limit=2,
            check_project_rate_limit=100,
        )
        async with AsyncTestClient(app=create_app(configured)) as checks:
            started = [
                (await checks.post("/projects/check/start", json=body(fresh))).json()["check_id"]
                for _ in range(2)
            ]
            refused = await checks.post("/projects/check/start", json=body(fresh))
            answered = await checks.post("/projects/check/start", json=body(cached))
            unknown = await checks.post("/projects/check/start", json={**body(fresh), "id": UNKNOWN})
        assert started == ["c0", "c1"]
        assert_detail(refused, 429, "Too many project checks, please try again later")
        assert int(refused.headers["retry-after"]) > 0
        assert answered.status_code == 200, answered.text
        assert (answered.json()["check_id"], answered.json()["result"]) == ("cached", {"score": 7})
        assert_detail(unknown, 404, "Project not found")
        assert len(service.requests) == 2


async def test_starting_a_check_needs_the_whole_project_body(client: Client) -> None:
    response = await client.post("/projects/check/start", json={"id": UNKNOWN})
    assert response.status_code == 422, response.text


# The same messages hold when identical requests race (PRODUCT §3.2, §3.5, §3.16).


async def test_racing_duplicates_get_one_success_and_the_legacy_message(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    person = await sign_up()
    event = await create_event(person)
    token = mint(person.email, "magic_link", minutes=9)
    races: dict[str, tuple[Callable[[], Awaitable[Any]], str]] = {
        "verify": (lambda: client.get("/verify", params={"token": token}), "Invalid token"),
        "sign up": (
            lambda: client.post("/users/", json={"email": "race@example.com", "first_name": "R"}),
            "User already exists",
        ),
        "create event": (
            lambda: client.post("/events/", json={"name": "Race Day"}, headers=person.headers),
            "Event slug already exists",
        ),
        "attend": (
            lambda: client.post(
                "/events/attend",
                params={"join_code": event.join_code, "referral": ""},
                headers=person.headers,
            ),
            "User already attending event",
        ),
    }
    for name, (call, message) in races.items():
        responses = await asyncio.gather(*(call() for _ in range(6)))
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) == 1, (name, statuses)
        losers = [r.json()["detail"] for r in responses if r.status_code not in (200, 429)]
        assert set(losers) == {message}, name


async def test_new_join_codes_use_the_unambiguous_alphabet(
    client: Client, sign_up: SignUp, create_event: CreateEvent
) -> None:
    owner = await sign_up()
    codes = []
    for i in range(5):
        event = await create_event(owner, f"Alphabet {i}", demo_links_optional=True)
        await attend(client, owner, event)
        codes += [event.join_code, (await submit(client, owner, event))["join_code"]]
    for code in codes:
        assert len(code) == 6
        assert set(code) <= set("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
