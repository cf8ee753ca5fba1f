"""The project validators' adapters (issue 25), each against a local fake of its service over real HTTP:
what passes, what fails with a message to act on, and every way the service can fail to answer — slow,
down, rate-limiting, erroring — as a clear "could not check", never an exception."""

from __future__ import annotations

import pytest

from podium.adapters.link_checks.custom import CustomValidator
from podium.adapters.link_checks.github import GithubRepoValidator
from podium.adapters.link_checks.itch import ItchPageValidator
from podium.adapters.link_checks.reachable import ReachableValidator
from podium.domain.web_services import CheckOutcome
from tests.support.fake_http import FakeHttpServer, fake_http_fixture, unused_local_url

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
