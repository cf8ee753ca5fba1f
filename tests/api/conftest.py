from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from tests.conftest import TEST_SECRET
from tests.support.served import served

_serial = itertools.count(1)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    """One app for the session: building it costs ~0.1 s. Each client runs its lifespan afresh (a new
    container and connection pool), so tests stay independent."""
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar, clean_database: object) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=app) as client:
        yield client


def mint(email: str, token_type: str = "access", minutes: int = 15, **extra: Any) -> str:
    """A token as external tooling mints it: HS256 with the shared secret."""
    claims = {"sub": email, "token_type": token_type, "exp": int(time.time()) + minutes * 60, **extra}
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@dataclass
class Person:
    id: str
    email: str
    token: str
    display_name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


SignUp = Callable[..., Awaitable[Person]]


@pytest.fixture
def sign_up(client: AsyncTestClient[Any]) -> SignUp:
    """Create an account through the API and log it in through a magic link, like the E2E fixture."""

    async def make(first_name: str = "Ada", **fields: Any) -> Person:
        n = next(_serial)
        email = fields.pop("email", f"person{n}@example.com")
        display_name = fields.pop("display_name", f"{first_name} {n}")
        body = {"email": email, "first_name": first_name, "display_name": display_name, **fields}
        created = await client.post("/users/", json=body)
        assert created.status_code == 200, created.text
        verified = await client.get("/verify", params={"token": mint(email.strip().lower(), "magic_link")})
        assert verified.status_code == 200, verified.text
        token = verified.json()["access_token"]
        return Person(
            id=created.json()["id"], email=email.strip().lower(), token=token, display_name=display_name
        )

    return make


@dataclass
class EventSetup:
    owner: Person
    id: str
    slug: str
    join_code: str


@pytest.fixture
def create_event(client: AsyncTestClient[Any]) -> Callable[..., Awaitable[EventSetup]]:
    async def make(owner: Person, name: str | None = None, **settings: Any) -> EventSetup:
        name = name or f"Hack Night {next(_serial)}"
        created = await client.post("/events/", json={"name": name}, headers=owner.headers)
        assert created.status_code == 200, created.text
        body = created.json()
        if settings:
            updated = await client.put(f"/events/{body['id']}", json=settings, headers=owner.headers)
            assert updated.status_code == 200, updated.text
        return EventSetup(owner=owner, id=body["id"], slug=body["slug"], join_code=body["join_code"])

    return make


async def attend(client: AsyncTestClient[Any], person: Person, event: EventSetup, referral: str = "") -> None:
    response = await client.post(
        "/events/attend", params={"join_code": event.join_code, "referral": referral}, headers=person.headers
    )
    assert response.status_code == 200, response.text


async def submit(
    client: AsyncTestClient[Any], person: Person, event: EventSetup, name: str = "Project"
) -> dict[str, Any]:
    body = {"name": name, "repo": "https://github.com/x/y", "image_url": "https://i/x.png", "demo": "https://d",
            "event_id": event.id}  # fmt: skip
    response = await client.post("/projects/", json=body, headers=person.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def live_url(settings: Settings, clean_database: object) -> AsyncIterator[str]:
    """The app served over real HTTP by uvicorn on a free loopback port, in this event loop."""
    async with served(create_app(settings)) as url:
        yield url
