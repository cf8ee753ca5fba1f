"""Mail senders: the console sender logs the link; the Loops sender talks to a local fake of Loops."""

from __future__ import annotations

import logging

import httpx
import pytest

from podium.adapters.mail.console import ConsoleMailer
from podium.adapters.mail.loops import LoopsMailer
from podium.domain.ports import DeliveryFailed
from tests.support.fake_http import FakeHttpServer, fake_http_fixture, unused_local_url

API_KEY = "loops-test-key-abc123"
TRANSACTIONAL_ID = "cmg1hjhed4xyi0r0ijvfyyqa1"
LINK = "http://localhost:5173/login?token=abc.def.ghi&redirect=/events/x"


loops = fake_http_fixture()


def _mailer(url: str, client: httpx.AsyncClient | None = None, timeout: float = 10.0) -> LoopsMailer:
    return LoopsMailer(API_KEY, TRANSACTIONAL_ID, url, client, timeout=timeout)


async def test_console_mailer_logs_the_link_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="podium.mail"):
        await ConsoleMailer().send_magic_link("ada@example.com", LINK)
    [record] = [r for r in caplog.records if r.name == "podium.mail"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"Magic link for ada@example.com: {LINK}"


async def test_loops_mailer_posts_the_transactional_request(loops: FakeHttpServer) -> None:
    await _mailer(loops.url + "/api/v1/transactional").send_magic_link("ada@example.com", LINK)

    [request] = loops.requests
    assert request.method == "POST"
    assert request.path == "/api/v1/transactional"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "email": "ada@example.com",
        "transactionalId": TRANSACTIONAL_ID,
        "dataVariables": {"auth_link": LINK},
    }


async def test_loops_mailer_uses_an_injected_client_and_leaves_it_open(loops: FakeHttpServer) -> None:
    async with httpx.AsyncClient() as client:
        mailer = _mailer(loops.url + "/send", client)
        await mailer.send_magic_link("ada@example.com", LINK)
        await mailer.send_magic_link("bob@example.com", LINK)
        assert not client.is_closed
    assert [r.json()["email"] for r in loops.requests] == ["ada@example.com", "bob@example.com"]


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
async def test_loops_error_status_is_a_delivery_failure(
    loops: FakeHttpServer, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    loops.respond(status, {"success": False, "message": "nope"})
    with pytest.raises(DeliveryFailed, match=str(status)):
        await _mailer(loops.url).send_magic_link("ada@example.com", LINK)
    assert API_KEY not in caplog.text


async def test_connection_refused_is_a_delivery_failure(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(DeliveryFailed) as info:
        await _mailer(unused_local_url()).send_magic_link("ada@example.com", LINK)
    assert API_KEY not in str(info.value)
    assert API_KEY not in caplog.text


async def test_slow_loops_is_a_delivery_failure(loops: FakeHttpServer) -> None:
    loops.respond(200, delay=0.5)
    with pytest.raises(DeliveryFailed, match="Timeout"):
        await _mailer(loops.url, timeout=0.1).send_magic_link("ada@example.com", LINK)


def test_loops_mailer_repr_hides_the_key() -> None:
    assert API_KEY not in repr(_mailer("http://127.0.0.1:1"))
