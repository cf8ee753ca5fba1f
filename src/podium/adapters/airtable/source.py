"""The live v1 Airtable base as a read-only :class:`~podium.domain.backfill.RecordSource`.

pyairtable's ``Api``/``Table`` do the listing and pagination (100 records a page). Underneath, one
requests transport adapter throttles every HTTP attempt, retries included, to Airtable's 5
requests/second per base and answers 429 by waiting as long as ``Retry-After`` says.
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

import requests
from pyairtable import Api
from requests.adapters import HTTPAdapter

from podium.domain.backfill import SourceError, SourceRecord, SourceTable

PAGE_SIZE = 100
AIRTABLE_REQUESTS_PER_SECOND = 5
# Airtable's documented penalty for exceeding the limit, used when a 429 carries no Retry-After.
DEFAULT_RETRY_AFTER = 30.0
_RETRIED_SERVER_ERRORS = {500, 502, 503, 504}


class RateLimiter:
    """At most ``limit`` request starts in any ``window`` seconds (plus a safety ``margin``).

    Shared by every thread talking to one base. A small margin keeps clock skew between us and the
    server from turning the 6th request of a burst into a 429.
    """

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        margin: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.span = window + margin
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.span:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                self._sleep(self._starts[0] + self.span - now)


_limiters: dict[tuple[str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(endpoint_url: str, base_id: str, per_second: int) -> RateLimiter:
    """The process-wide limiter of one base: Airtable counts requests per base, not per client."""
    with _limiters_lock:
        key = (endpoint_url.rstrip("/"), base_id)
        limiter = _limiters.get(key)
        if limiter is None or limiter.limit != per_second:
            limiter = _limiters[key] = RateLimiter(per_second)
        return limiter


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds, from either of its forms (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ThrottledAdapter(HTTPAdapter):
    """Transport adapter: throttle each attempt, wait out 429s and retry brief server errors."""

    def __init__(
        self,
        limiter: RateLimiter | None,
        *,
        max_attempts: int = 8,
        default_retry_after: float = DEFAULT_RETRY_AFTER,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(max_retries=0)
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.default_retry_after = default_retry_after
        self._sleep = sleep
        self.waits: list[float] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
            attempt += 1
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                response = super().send(request, *args, **kwargs)
            except requests.ConnectionError:
                if attempt >= 3:
                    raise
                self._sleep(0.5 * attempt)
                continue
            if attempt >= self.max_attempts:
                return response
            if response.status_code == 429:
                delay = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.default_retry_after if delay is None else delay
            elif response.status_code in _RETRIED_SERVER_ERRORS and attempt < 4:
                delay = 0.5 * 2 ** (attempt - 1)
            else:
                return response
            response.close()
            self.waits.append(delay)
            self._sleep(delay)


class AirtableSource:
    """Read the five v1 tables through pyairtable, one page (100 records) per request."""

    def __init__(
        self,
        *,
        token: str,
        base_id: str,
        table_ids: Mapping[SourceTable, str],
        endpoint_url: str = "https://api.airtable.com",
        requests_per_second: int | None = AIRTABLE_REQUESTS_PER_SECOND,
        timeout: tuple[int, int] = (10, 60),
        default_retry_after: float = DEFAULT_RETRY_AFTER,
    ) -> None:
        missing = [name for name, value in (("TOKEN", token), ("BASE_ID", base_id)) if not value]
        missing += [f"{str(table).upper()}_TABLE_ID" for table in SourceTable if not table_ids.get(table)]
        if missing:
            names = ", ".join(f"PODIUM_AIRTABLE_{name}" for name in missing)
            raise SourceError(f"Airtable is not configured: set {names}")
        self.base_id = base_id
        self.table_ids = dict(table_ids)
        self.endpoint_url = endpoint_url
        # pyairtable's own urllib3 retry is off: ours runs above the limiter, so retries are throttled too.
        self.api = Api(token, endpoint_url=endpoint_url, timeout=timeout, retry_strategy=None)
        limiter = limiter_for(endpoint_url, base_id, requests_per_second) if requests_per_second else None
        self.transport = ThrottledAdapter(limiter, default_retry_after=default_retry_after)
        self.api.session.mount("https://", self.transport)
        self.api.session.mount("http://", self.transport)

    def expected_count(self, table: SourceTable) -> int | None:
        # Airtable has no count endpoint; the number is known only once the last page is read.
        return None

    async def pages(self, table: SourceTable) -> AsyncIterator[Sequence[SourceRecord]]:
        iterator = self._iterate(table)
        while True:
            # pyairtable is synchronous; reading in a worker thread keeps the event loop (and the
            # progress display) alive while the limiter sleeps.
            page = await asyncio.to_thread(next, iterator, None)
            if page is None:
                return
            yield page

    def _iterate(self, table: SourceTable) -> Iterator[list[SourceRecord]]:
        table_id = self.table_ids[table]
        try:
            for page in self.api.table(self.base_id, table_id).iterate(page_size=PAGE_SIZE):
                yield [SourceRecord.from_json(record) for record in page]
        except requests.HTTPError as exc:
            raise self._explain(exc, table, table_id) from exc
        except requests.RequestException as exc:
            raise SourceError(f"cannot reach Airtable at {self.endpoint_url}: {exc}") from exc

    def _explain(self, exc: requests.HTTPError, table: SourceTable, table_id: str) -> SourceError:
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            return SourceError(
                f"Airtable refused the token (HTTP {status}) reading the {table} table: check "
                "PODIUM_AIRTABLE_TOKEN and that it has the data.records:read scope on base "
                f"{self.base_id}"
            )
        if status == 404:
            return SourceError(
                f"Airtable has no table {table_id} in base {self.base_id} (HTTP 404): check "
                f"PODIUM_AIRTABLE_{str(table).upper()}_TABLE_ID and PODIUM_AIRTABLE_BASE_ID"
            )
        if status == 429:
            return SourceError(
                f"Airtable kept answering 429 (rate limited) on the {table} table after "
                f"{self.transport.max_attempts} attempts; wait a minute and run again"
            )
        return SourceError(f"Airtable answered HTTP {status} reading the {table} table: {exc}")
