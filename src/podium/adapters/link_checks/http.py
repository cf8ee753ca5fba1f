"""What every link validator shares: one HTTP request whose failures become a clear "could not check"
outcome (slow, down, rate-limiting, answering errors, a link that is not a URL), never an exception; and
the refusal to fetch a user's link on a private address.

A user's host name is looked up once per request (each redirect too), every address it names must be
public, and the request connects to that vetted address (the ``Host`` header and TLS's SNI and
certificate check keep the name): a name that answers a public address first and a private one next
(DNS rebinding) never reaches the private one. Lookups run on a few threads of their own, and at most
``MAX_CHECKS`` checks run at once per process: a name server that never answers holds those threads,
not the event loop's default pool the database driver's own lookups need."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.domain.web_services import CheckOutcome

if TYPE_CHECKING:  # httpx is loaded on first use: start-up stays fast
    import httpx

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
# Link checks in flight at once per process; more wait (within their own time budget) for a turn.
MAX_CHECKS = 16
# Threads for users' host-name lookups: a lookup that never returns holds one of these, nothing else.
LOOKUP_THREADS = 4

# A blocking lookup of a host name's addresses (as ``socket.getaddrinfo`` answers), run on the lookup
# threads; tests give one whose answers change between calls.
Resolver = Callable[[str, int], Sequence[str]]

# IPv6 ranges that carry an IPv4 address (NAT64 well-known and local-use prefixes) or tunnel to one.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")

_lookups = ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="podium-link-lookup")
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for ``host``."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


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


def not_a_url(part: str) -> NotChecked:
    return NotChecked(CheckOutcome("failed", f"The {part} link is not a valid URL"))


def no_such_host(part: str, host: str) -> NotChecked:
    return NotChecked(CheckOutcome("failed", f"The {part} link's host {host} does not exist"))


async def request(
    method: str,
    url: str,
    *,
    part: str,
    service: str,
    timeout: float,  # noqa: ASYNC109 - the whole exchange, redirects included, in one budget
    allow_private: bool = False,
    follow_redirects: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    resolver: Resolver = system_resolver,
    **kwargs: Any,
) -> Answer:
    """One request (following up to ``MAX_REDIRECTS`` redirects, each target checked like the first);
    raises ``NotChecked`` when the link is not a URL, names a private address (unless ``allow_private``:
    an address the deployment configured), or the service times out, cannot be reached, rate-limits or
    fails (5xx). At most ``max_body_bytes`` of the body are read: a link to a huge file costs nothing more.
    The headers given are sent to the first request's origin only, never to a redirect elsewhere."""
    import httpx

    try:
        target = _parse(url, part)
        # The client (its TLS context: ~0.1 s of CPU) is made before the exchange's budget starts.
        client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        async with client, asyncio.timeout(timeout), _turn():
            response, body = await _exchange(
                client,
                method,
                target,
                part=part,
                allow_private=allow_private,
                follow_redirects=follow_redirects,
                max_body_bytes=max_body_bytes,
                resolver=resolver,
                **kwargs,
            )
    except NotChecked:
        raise
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise unknown(part, service, "did not answer in time; try again later") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:  # UnicodeError is a ValueError
        raise not_a_url(part) from exc
    except Exception as exc:  # httpx's errors, OSError, anyio's ExceptionGroup: the site is out of reach
        log.warning("%s unreachable for a %s link: %s", service, part, type(exc).__name__)
        raise unknown(part, service, "could not be reached; try again later") from exc
    if response.status_code == 429 or (
        response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"
    ):
        raise unknown(part, service, "is limiting how often it is asked; try again later")
    if response.status_code >= 500:
        raise unknown(part, service, f"answered HTTP {response.status_code}; try again later")
    return Answer(response.status_code, body)


async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    target: httpx.URL,
    *,
    part: str,
    allow_private: bool,
    follow_redirects: bool,
    max_body_bytes: int,
    resolver: Resolver,
    **kwargs: Any,
) -> tuple[httpx.Response, bytes]:
    origin = _origin(target)
    for _ in range(MAX_REDIRECTS + 1):
        if _origin(target) != origin:
            kwargs.pop("headers", None)  # a token for the service is not for where it redirects to
        response = await _send(client, method, target, part, allow_private, resolver, kwargs)
        try:
            body = await _read_at_most(response, max_body_bytes)
        finally:
            await response.aclose()
        location = response.headers.get("location")
        if not (follow_redirects and response.status_code in REDIRECTS and location):
            return response, body
        target = _parse(str(target.join(location)), part)
    raise NotChecked(CheckOutcome("failed", f"The {part} link redirects too many times"))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _parse(url: str, part: str) -> httpx.URL:
    """The link as a URL httpx can fetch, or ``NotChecked`` saying what is wrong with it."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise not_a_url(part) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise NotChecked(CheckOutcome("failed", f"The {part} link must be an http(s) URL"))
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise not_a_url(part)
    if _literal(parsed.host) is None:
        name = parsed.raw_host.decode("ascii").removesuffix(".")  # IDNA-encoded already
        if len(name) > 253 or any(not 0 < len(label) < 64 for label in name.split(".")):
            raise not_a_url(part)
    return parsed


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    part: str,
    allow_private: bool,
    resolver: Resolver,
    kwargs: dict[str, Any],
) -> httpx.Response:
    """Send to an address the URL's host name was just found at (a public one, unless ``allow_private``)."""
    import httpx

    literal = _literal(url.host)
    addresses = [literal] if literal is not None else await _resolve(url, part, resolver)
    if not allow_private:
        _refuse_private(addresses, part)
    if literal is not None:  # nothing to pin, and an address is never a TLS server name
        return await client.send(client.build_request(method, url, **kwargs), stream=True)
    headers = httpx.Headers(kwargs.get("headers"))
    headers["Host"] = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.raw_host.decode("ascii")}

    async def pinned_to(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> httpx.Response:
        pinned = url.copy_with(host=str(address))
        request = client.build_request(
            method, pinned, **{**kwargs, "headers": headers}, extensions=extensions
        )
        return await client.send(request, stream=True)

    for address in addresses[:-1]:  # the next address when one refuses; the last one's error stands
        try:
            return await pinned_to(address)
        except httpx.ConnectError:
            pass
    return await pinned_to(addresses[-1])


def _turn() -> asyncio.Semaphore:
    """This event loop's turns at a link check (a semaphore belongs to one loop)."""
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = asyncio.Semaphore(MAX_CHECKS)
    return turns


async def _resolve(
    url: httpx.URL, part: str, resolver: Resolver
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().run_in_executor(_lookups, resolver, host, port)
        addresses = [ipaddress.ip_address(address) for address in found]
    except (OSError, ValueError) as exc:
        raise no_such_host(part, url.host) from exc
    if not addresses:
        raise no_such_host(part, url.host)
    return addresses


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _refuse_private(addresses: Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address], part: str) -> None:
    """A user's link is fetched only on public addresses: never the server's own network."""
    if not all(is_public(address) for address in addresses):
        raise NotChecked(CheckOutcome("failed", f"The {part} link must be a public address"))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address; an IPv6 one that carries an IPv4 address (mapped, compatible, NAT64,
    6to4) only if that IPv4 address is global too (``is_global`` alone says yes to some that are not)."""
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    if address.teredo is not None or address in _LOCAL_NAT64:
        return False
    embedded = address.ipv4_mapped or address.sixtofour
    if embedded is None and (address in _NAT64 or int(address) >> 32 == 0):
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return embedded is None or is_public(embedded)


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
