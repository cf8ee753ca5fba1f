"""HttpProjectChecks against a local fake of the review service."""

from __future__ import annotations

import httpx
import pytest

from podium.adapters.review_checks import HttpProjectChecks
from podium.domain.ports import UpstreamError
from tests.support.fake_http import FakeHttpServer, fake_http_fixture, unused_local_url

TOKEN = "review-token-xyz"
CHECK = {"check_id": "c-123", "status": "pending", "created_at": "2025-01-01T00:00:00Z", "result": None}


service = fake_http_fixture()


def _checks(url: str, client: httpx.AsyncClient | None = None, timeout: float = 30.0) -> HttpProjectChecks:
    return HttpProjectChecks(url, TOKEN, client, timeout=timeout)


def test_configured_only_with_a_token() -> None:
    assert HttpProjectChecks("http://127.0.0.1:1", TOKEN).configured
    assert not HttpProjectChecks("http://127.0.0.1:1", "").configured


async def test_unconfigured_checks_refuse_to_call_out(service: FakeHttpServer) -> None:
    with pytest.raises(UpstreamError, match="not configured"):
        await HttpProjectChecks(service.url, "").start("r", "i", "d")
    assert service.requests == []


async def test_start_posts_the_project_and_returns_the_upstream_json(service: FakeHttpServer) -> None:
    service.respond(200, CHECK)
    result = await _checks(service.url + "/").start(
        "https://github.com/a/b", "https://img.example/x.png", "https://demo.example"
    )
    assert result == CHECK
    [request] = service.requests
    assert (request.method, request.path) == ("POST", "/start-check")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json() == {
        "repo": "https://github.com/a/b",
        "image_url": "https://img.example/x.png",
        "demo": "https://demo.example",
    }


async def test_poll_gets_the_check_by_id(service: FakeHttpServer) -> None:
    service.respond(200, {**CHECK, "status": "completed", "result": {"score": 7}})
    async with httpx.AsyncClient() as client:
        result = await _checks(service.url, client).poll("c-123")
        assert not client.is_closed
    assert result["status"] == "completed"
    [request] = service.requests
    assert (request.method, request.path) == ("GET", "/poll-check/c-123")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("check_id", "path"),
    [
        ("a/b", "/poll-check/a%2Fb"),
        ("..", "/poll-check/%2E%2E"),
        ("x?y#z", "/poll-check/x%3Fy%23z"),
        ("../../start-check", "/poll-check/%2E%2E%2F%2E%2E%2Fstart-check"),
    ],
)
async def test_poll_quotes_the_id_into_one_path_segment(
    service: FakeHttpServer, check_id: str, path: str
) -> None:
    await _checks(service.url).poll(check_id)
    assert service.requests[0].path == path


@pytest.mark.parametrize("status", [400, 401, 404, 500, 502])
async def test_error_status_is_an_upstream_error(service: FakeHttpServer, status: int) -> None:
    service.respond(status, {"detail": "nope"})
    with pytest.raises(UpstreamError, match=str(status)):
        await _checks(service.url).poll("c-123")


@pytest.mark.parametrize(
    "raw",
    [b"<html>bad gateway</html>", b"", b"[1, 2]", b'"pending"'],
    ids=["html", "empty", "array", "string"],
)
async def test_a_body_that_is_not_a_json_object_is_an_upstream_error(
    service: FakeHttpServer, raw: bytes
) -> None:
    service.respond(200, raw=raw)
    with pytest.raises(UpstreamError, match="JSON"):
        await _checks(service.url).start("r", "i", "d")


async def test_connection_refused_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="unreachable") as info:
        await _checks(unused_local_url()).start("r", "i", "d")
    assert TOKEN not in str(info.value)


async def test_slow_service_is_an_upstream_error(service: FakeHttpServer) -> None:
    service.respond(200, CHECK, delay=0.5)
    with pytest.raises(UpstreamError, match="Timeout"):
        await _checks(service.url, timeout=0.1).poll("c-123")


def test_repr_hides_the_token() -> None:
    assert TOKEN not in repr(HttpProjectChecks("http://127.0.0.1:1", TOKEN))
