"""What every link validator shares: one HTTP request whose failures become a clear "could not check"
outcome (slow, down, rate-limiting, answering errors), never an exception; and the refusal to fetch a
user's link on a private address."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from podium.domain.web_services import CheckOutcome

if TYPE_CHECKING:  # httpx is loaded on first use: start-up stays fast
    import httpx

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)


# An itch.io page is ~100 kB; a custom validator's verdict far less.
MAX_BODY_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class Answer:
    """What a service answered: its status and (the start of) its body."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class NotChecked(Exception):
    """The service could not be asked; ``outcome`` says why, for the user."""

    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def unknown(part: str, service: str, why: str) -> NotChecked:
    return NotChecked(CheckOutcome("unknown", f"Could not check the {part}: {service} {why}"))


async def request(
    method: str,
    url: str,
    *,
    part: str,
    service: str,
    timeout: float,  # noqa: ASYNC109 - the whole exchange, redirects included, in one budget
    allow_private: bool = True,
    follow_redirects: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    **kwargs: Any,
) -> Answer:
    """One request (following up to ``MAX_REDIRECTS`` redirects, each target checked like the first);
    raises ``NotChecked`` when the service times out, cannot be reached, rate-limits or fails (5xx).
    At most ``max_body_bytes`` of the body are read: a link to a huge file costs nothing more."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_REDIRECTS + 1):
                    if not allow_private:
                        await _refuse_private(url, part)
                    response = await client.send(client.build_request(method, url, **kwargs), stream=True)
                    try:
                        body = await _read_at_most(response, max_body_bytes)
                    finally:
                        await response.aclose()
                    location = response.headers.get("location")
                    if not (follow_redirects and response.status_code in REDIRECTS and location):
                        break
                    url = urljoin(url, location)
                else:
                    raise NotChecked(CheckOutcome("failed", f"The {part} link redirects too many times"))
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise unknown(part, service, "did not answer in time; try again later") from exc
    except httpx.HTTPError as exc:
        log.warning("%s unreachable for %s: %s", service, url, type(exc).__name__)
        raise unknown(part, service, "could not be reached; try again later") from exc
    if response.status_code == 429 or (
        response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"
    ):
        raise unknown(part, service, "is limiting how often it is asked; try again later")
    if response.status_code >= 500:
        raise unknown(part, service, f"answered HTTP {response.status_code}; try again later")
    return Answer(response.status_code, body)


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    if limit <= 0:
        return b""
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def _refuse_private(url: str, part: str) -> None:
    """A user's link is fetched only on public addresses: never the server's own network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotChecked(CheckOutcome("failed", f"The {part} link must be an http(s) URL"))
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise NotChecked(
            CheckOutcome("failed", f"The {part} link's host {parts.hostname} does not exist")
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise NotChecked(CheckOutcome("failed", f"The {part} link must be a public address"))
