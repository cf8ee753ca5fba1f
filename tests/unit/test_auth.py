"""Magic links and access tokens (legacy §3, PRODUCT §3.4–3.8), on the in-memory adapters."""

from __future__ import annotations

import datetime as dt

import pytest

from podium.adapters.memory.rate_limiter import MemoryRateLimiter
from podium.adapters.memory.store import MemoryStore
from podium.adapters.tokens import JwtCodec
from podium.domain.errors import Invalid, NotFound, RateLimited, Unauthenticated, UpstreamFailed
from podium.domain.ports import DeliveryFailed
from podium.domain.services.auth import AuthPolicy, AuthService
from tests.conftest import TEST_SECRET
from tests.factories import UserFactory


class RecordingMailer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    async def send_magic_link(self, email: str, link: str) -> None:
        if self.fail:
            raise DeliveryFailed("provider down")
        self.sent.append((email, link))


def _service(store: MemoryStore, mailer: RecordingMailer, **policy: int) -> AuthService:
    return AuthService(
        store,
        JwtCodec(TEST_SECRET),
        mailer,
        MemoryRateLimiter(),
        AuthPolicy(frontend_url="https://podium.example", **policy),
        clock=lambda: dt.datetime.now(dt.UTC),
    )


async def _user(store: MemoryStore, email: str = "ada@example.com") -> None:
    async with store() as tx:
        await tx.users.add(UserFactory.build(email=email))
        await tx.commit()


async def test_a_magic_link_is_mailed_with_the_raw_redirect(store: MemoryStore) -> None:
    await _user(store)
    mailer = RecordingMailer()
    await _service(store, mailer).request_login("  ADA@example.com ", "/events/a?b=c&d=e", "10.0.0.1")
    ((email, link),) = mailer.sent
    assert email == "ada@example.com"
    assert link.startswith("https://podium.example/login?token=")
    assert link.endswith("&redirect=/events/a?b=c&d=e")


async def test_unknown_users_get_no_link(store: MemoryStore) -> None:
    with pytest.raises(NotFound, match="User not found"):
        await _service(store, RecordingMailer()).request_login("nobody@example.com", "", "10.0.0.1")


async def test_a_mail_failure_is_reported(store: MemoryStore) -> None:
    await _user(store)
    with pytest.raises(UpstreamFailed, match="Failed to send auth email"):
        await _service(store, RecordingMailer(fail=True)).request_login("ada@example.com", "", "10.0.0.1")


async def test_a_magic_link_logs_in_once(store: MemoryStore) -> None:
    await _user(store)
    mailer = RecordingMailer()
    auth = _service(store, mailer)
    await auth.request_login("ada@example.com", "", "10.0.0.1")
    token = mailer.sent[0][1].split("token=")[1]
    access, user = await auth.verify(token, "10.0.0.1")
    assert user.email == "ada@example.com"
    assert (await auth.authenticate(access)).id == user.id
    with pytest.raises(Invalid, match="Invalid token"):
        await auth.verify(token, "10.0.0.1")


async def test_token_subjects_are_normalised(store: MemoryStore) -> None:
    await _user(store)
    codec = JwtCodec(TEST_SECRET)
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).timestamp())
    token = codec.encode({"sub": " Ada@Example.com", "token_type": "magic_link", "exp": exp})
    _, user = await _service(store, RecordingMailer()).verify(token, "10.0.0.1")
    assert user.email == "ada@example.com"


@pytest.mark.parametrize(
    ("claims", "error", "message"),
    [
        ({"token_type": "access"}, Invalid, "Invalid token"),
        ({"sub": ""}, Invalid, "Invalid token"),
        ({"sub": "nobody@example.com"}, NotFound, "User not found"),
    ],
)
async def test_verify_refuses_wrong_tokens(
    store: MemoryStore, claims: dict[str, str], error: type[Exception], message: str
) -> None:
    await _user(store)
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).timestamp())
    token = JwtCodec(TEST_SECRET).encode(
        {"sub": "ada@example.com", "token_type": "magic_link", "exp": exp, **claims}
    )
    with pytest.raises(error, match=message):
        await _service(store, RecordingMailer()).verify(token, "10.0.0.1")


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"token_type": "magic_link"}, Unauthenticated),
        ({"token_type": "refresh"}, Unauthenticated),
        ({"token_type": None}, Unauthenticated),
        ({"sub": None}, Unauthenticated),
        ({"sub": ""}, Unauthenticated),
        ({"sub": "nobody@example.com"}, Unauthenticated),
    ],
)
async def test_authenticate_refuses_wrong_tokens(
    store: MemoryStore, claims: dict[str, str | None], error: type[Exception]
) -> None:
    await _user(store)
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).timestamp())
    merged = {"sub": "ada@example.com", "token_type": "access", "exp": exp, **claims}
    token = JwtCodec(TEST_SECRET).encode({k: v for k, v in merged.items() if v is not None})
    with pytest.raises(error, match="Invalid authentication credentials"):
        await _service(store, RecordingMailer()).authenticate(token)


async def test_garbage_tokens_are_unauthenticated(store: MemoryStore) -> None:
    with pytest.raises(Unauthenticated, match="Invalid authentication credentials"):
        await _service(store, RecordingMailer()).authenticate("not-a-jwt")


async def test_login_requests_are_rate_limited_per_email(store: MemoryStore) -> None:
    await _user(store)
    auth = _service(store, RecordingMailer(), attempts_per_email=2)
    for client in ("10.0.0.1", "10.0.0.2"):
        await auth.request_login("ada@example.com", "", client)
    with pytest.raises(RateLimited) as raised:
        await auth.request_login("ada@example.com", "", "10.0.0.3")
    assert raised.value.retry_after >= 1
