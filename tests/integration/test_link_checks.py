"""The project validators' adapters (issue 25), each against a local fake of its service over real HTTP:
what passes, what fails with a message to act on, and every way the service can fail to answer — slow,
down, rate-limiting, erroring — as a clear "could not check", never an exception."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from podium.adapters.link_checks.custom import CustomValidator
from podium.adapters.link_checks.github import GithubRepoValidator
from podium.adapters.link_checks.http import LOOKUP_THREADS, request
from podium.adapters.link_checks.itch import ItchPageValidator
from podium.adapters.link_checks.reachable import ReachableValidator
from podium.domain.web_services import CheckOutcome
from tests.support.fake_http import FakeHttpServer, fake_http_fixture, unused_local_url
from tests.support.links import NOT_URLS

PLAYABLE = b'<html><body><div class="game_frame game_loaded"><iframe></iframe></div></body></html>'
DOWNLOAD_ONLY = b'<html><body><div class="game_info">Download</div></body></html>'
TIMEOUT = 0.3


fake = fake_http_fixture("module")


@pytest.fixture
def service(fake: FakeHttpServer) -> FakeHttpServer:
    fake.reset()
    return fake


async def test_github_passes_a_public_repository_and_sends_the_token(service: FakeHttpServer) -> None:
    service.respond(200, {"full_name": "hackclub/podium"})
    validator = GithubRepoValidator(service.url, "gh-token", timeout=TIMEOUT)
    assert await validator.check("https://github.com/hackclub/podium.git", "repo") == CheckOutcome("passed")
    request = service.requests[-1]
    assert (request.method, request.path) == ("GET", "/repos/hackclub/podium")
    assert request.headers["authorization"] == "Bearer gh-token"


@pytest.mark.parametrize(
    ("status", "headers", "verdict", "message"),
    [
        (404, None, "failed", "Repository a/b was not found on GitHub. Make sure it is public."),
        (429, None, "unknown", "Could not check the repo: GitHub is limiting how often it is asked"),
        (403, {"X-RateLimit-Remaining": "0"}, "unknown", "Could not check the repo: GitHub is limiting"),
        (502, None, "unknown", "Could not check the repo: GitHub answered HTTP 502"),
        (451, None, "unknown", "Could not check the repo: GitHub answered HTTP 451"),
    ],
)
async def test_github_refusals_say_what_happened(
    service: FakeHttpServer, status: int, headers: dict[str, str] | None, verdict: str, message: str
) -> None:
    service.respond(status, {"message": "no"}, headers=headers)
    outcome = await GithubRepoValidator(service.url, timeout=TIMEOUT).check("github.com/a/b", "repo")
    assert outcome.verdict == verdict
    assert outcome.message.startswith(message)


async def test_github_slow_or_down_is_could_not_check(service: FakeHttpServer) -> None:
    service.respond(200, {}, delay=TIMEOUT * 3)
    slow = await GithubRepoValidator(service.url, timeout=TIMEOUT).check("github.com/a/b", "repo")
    assert slow == CheckOutcome(
        "unknown", "Could not check the repo: GitHub did not answer in time; try again later"
    )
    down = await GithubRepoValidator(unused_local_url(), timeout=TIMEOUT).check("github.com/a/b", "repo")
    assert down == CheckOutcome(
        "unknown", "Could not check the repo: GitHub could not be reached; try again later"
    )


async def test_github_refuses_a_link_elsewhere_without_asking(service: FakeHttpServer) -> None:
    outcome = await GithubRepoValidator(service.url).check("https://gitlab.com/a/b", "repo")
    assert outcome.verdict == "failed"
    assert "must be a GitHub URL" in outcome.message
    assert service.requests == []


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (200, PLAYABLE, "passed"),
        (200, DOWNLOAD_ONLY, "failed"),
        (404, b"gone", "failed"),
        (503, b"", "unknown"),
    ],
)
async def test_itch_wants_a_page_that_runs_in_the_browser(
    service: FakeHttpServer, status: int, body: bytes, verdict: str
) -> None:
    service.respond(status, raw=body, content_type="text/html")
    outcome = await ItchPageValidator(service.url, timeout=TIMEOUT).check(
        "https://Maker.itch.io/jumper", "demo"
    )
    assert outcome.verdict == verdict
    assert service.requests[-1].path == "/maker/jumper"
    if verdict == "failed" and status == 200:
        assert "Run game in browser" in outcome.message


async def test_itch_refuses_a_link_elsewhere(service: FakeHttpServer) -> None:
    outcome = await ItchPageValidator(service.url).check("https://example.com/game", "demo")
    assert (outcome.verdict, service.requests) == ("failed", [])


async def test_a_reachable_demo_follows_redirects_and_a_dead_one_fails(service: FakeHttpServer) -> None:
    validator = ReachableValidator(timeout=TIMEOUT, allow_private=True)
    service.respond(302, raw=b"", headers={"Location": "/final"})
    service.respond(200, raw=b"<html>demo</html>", content_type="text/html")
    assert await validator.check(f"{service.url}/start", "demo") == CheckOutcome("passed")
    assert [r.path for r in service.requests] == ["/start", "/final"]
    service.respond(404, raw=b"")
    dead = await validator.check(f"{service.url}/gone", "demo")
    assert dead == CheckOutcome("failed", "The demo link does not open: it answered HTTP 404.")
    service.respond(200, raw=b"", delay=TIMEOUT * 3)
    assert (await validator.check(f"{service.url}/slow", "demo")).verdict == "unknown"


async def test_a_demo_on_a_private_address_is_never_fetched(service: FakeHttpServer) -> None:
    outcome = await ReachableValidator(timeout=TIMEOUT).check(f"{service.url}/admin", "demo")
    assert outcome == CheckOutcome("failed", "The demo link must be a public address")
    assert service.requests == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"valid": True, "message": ""}, CheckOutcome("passed")),
        (200, {"valid": False, "message": "Needs a README"}, CheckOutcome("failed", "Needs a README")),
        (200, {"unexpected": 1}, CheckOutcome("unknown", "Could not check the demo: the sleepover validator sent an unexpected answer")),
        (429, {}, CheckOutcome("unknown", "Could not check the demo: the sleepover validator is limiting how often it is asked; try again later")),
    ],
)  # fmt: skip
async def test_a_custom_validator_speaks_heads_protocol(
    service: FakeHttpServer, status: int, body: object, expected: CheckOutcome
) -> None:
    service.respond(status, body)
    validator = CustomValidator("sleepover", f"{service.url}/review", timeout=TIMEOUT)
    assert await validator.check("https://x.itch.io/y", "demo") == expected
    assert service.requests[-1].json() == {"url": "https://x.itch.io/y", "type": "demo"}


async def test_only_the_start_of_a_huge_page_is_read(service: FakeHttpServer) -> None:
    # The game frame past the first 2 MB is never seen: a page (or a file) that size is not read whole.
    service.respond(200, raw=b" " * 2_100_000 + PLAYABLE, content_type="text/html")
    outcome = await ItchPageValidator(service.url, timeout=2).check("https://maker.itch.io/huge", "demo")
    assert outcome.verdict == "failed"


# A user's link: looked up once per request, connected to at the vetted address, never a private one.


class ChangingResolver:
    """A name server whose answers change between calls (the last answer repeats); records the names."""

    def __init__(self, *answers: list[str]) -> None:
        self._answers = list(answers)
        self.names: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.names.append(host)
        return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


def _port(service: FakeHttpServer) -> int:
    return int(service.url.rsplit(":", 1)[1])


async def test_a_name_answering_public_then_private_never_reaches_the_private_address(
    service: FakeHttpServer,
) -> None:
    # DNS rebinding: vetted public, then looked up again to connect, "localhost" would be 127.0.0.1.
    # 192.0.0.9: global (PCP's anycast, UDP only; TEST-NET ranges are not global to ``ipaddress``).
    resolver = ChangingResolver(["192.0.0.9"], ["127.0.0.1"])
    validator = ReachableValidator(timeout=TIMEOUT, resolver=resolver)
    outcome = await validator.check(f"http://localhost:{_port(service)}/admin", "demo")
    assert outcome.verdict == "unknown"  # nothing answers TCP there
    assert (service.requests, resolver.names) == ([], ["localhost"])


async def test_the_vetted_address_is_asked_for_the_links_own_host(service: FakeHttpServer) -> None:
    service.respond(200, raw=b"<html>demo</html>", content_type="text/html")
    validator = ReachableValidator(
        timeout=TIMEOUT, allow_private=True, resolver=ChangingResolver(["127.0.0.1"])
    )
    assert await validator.check(f"http://demo.example:{_port(service)}/x", "demo") == CheckOutcome("passed")
    assert service.requests[-1].headers["host"] == f"demo.example:{_port(service)}"


@pytest.fixture(scope="module")
def demo_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for demo.example only."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=demo.example",
         "-addext", "subjectAltName=DNS:demo.example"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_to_the_vetted_address_names_the_links_host(
    demo_certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The certificate is verified against the link's name (SNI), not the address connected to.
    cert, key = demo_certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        validator = ReachableValidator(
            timeout=2, allow_private=True, resolver=ChangingResolver(["127.0.0.1"])
        )
        outcome = await validator.check(f"https://demo.example:{port}/play", "demo")
    assert outcome == CheckOutcome("passed")
    assert names == ["demo.example"]
    assert f"host: demo.example:{port}".encode() in heads[0].lower()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fe80::1",
        "fc00::1",
    ],
)
async def test_every_private_address_a_name_gives_is_refused(service: FakeHttpServer, address: str) -> None:
    resolver = ChangingResolver(["93.184.215.14", address])  # one private address among public ones
    outcome = await ReachableValidator(timeout=TIMEOUT, resolver=resolver).check(
        f"http://demo.example:{_port(service)}/", "demo"
    )
    assert outcome == CheckOutcome("failed", "The demo link must be a public address")
    assert service.requests == []


async def test_itch_refuses_a_private_address_unless_its_mirror_is_configured() -> None:
    validator = ItchPageValidator(timeout=TIMEOUT, resolver=ChangingResolver(["127.0.0.1"]))
    outcome = await validator.check("https://maker.itch.io/jumper", "demo")
    assert outcome == CheckOutcome("failed", "The demo link must be a public address")


async def test_headers_are_not_sent_to_a_redirect_on_another_host(service: FakeHttpServer) -> None:
    service.respond(302, raw=b"", headers={"Location": f"http://localhost:{_port(service)}/elsewhere"})
    service.respond(200, raw=b"")
    answer = await request(
        "GET",
        f"{service.url}/start",
        part="demo",
        service="the site",
        timeout=TIMEOUT,
        allow_private=True,
        follow_redirects=True,
        resolver=ChangingResolver(["127.0.0.1"]),
        headers={"Authorization": "Bearer secret"},
    )
    assert answer.status_code == 200
    first, redirected = service.requests
    assert first.headers["authorization"] == "Bearer secret"
    assert "authorization" not in redirected.headers
    assert redirected.path == "/elsewhere"


@pytest.mark.parametrize("url", NOT_URLS)
async def test_a_link_that_is_not_a_url_says_so(url: str) -> None:
    for validator in (
        ReachableValidator(timeout=TIMEOUT),
        ReachableValidator(timeout=TIMEOUT, allow_private=True),
    ):
        assert await validator.check(url, "demo") == CheckOutcome(
            "failed", "The demo link is not a valid URL"
        )


async def test_lookups_that_never_return_do_not_hold_the_event_loops_own() -> None:
    # More hanging lookups than asyncio's default pool has threads: the database driver's lookup
    # (asyncpg's, on that pool) is answered while every link check is still waiting on its name server.
    loop, release, held, entered = asyncio.get_running_loop(), threading.Event(), asyncio.Event(), []

    def enter() -> None:
        entered.append(1)
        if len(entered) >= LOOKUP_THREADS:  # every lookup thread is held
            held.set()

    def hanging(host: str, port: int) -> list[str]:
        loop.call_soon_threadsafe(enter)
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "name server did not answer")

    validator = ReachableValidator(timeout=10, resolver=hanging)
    checks = [
        asyncio.create_task(validator.check(f"http://slow{n}.example/", "demo"))
        for n in range(min(32, (os.cpu_count() or 1) + 4) + 2)
    ]
    try:
        await held.wait()
        await loop.getaddrinfo("localhost", 5432)
        assert not any(check.done() for check in checks)
    finally:
        release.set()
    outcomes = await asyncio.gather(*checks)
    assert {outcome.verdict for outcome in outcomes} == {"failed"}  # the host does not exist
