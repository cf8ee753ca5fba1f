"""The live v1 Airtable base as a read-only :class:`~podium.domain.backfill.RecordSource`.

pyairtable's ``Api``/``Table`` do the listing and pagination (100 records a page). Underneath, one
requests transport adapter throttles every HTTP attempt, retries included, so Airtable never counts
more than 5 requests in a second per base (request *n* waits for one second after the response to
request *n − 5*), and answers 429 by waiting as long as ``Retry-After`` says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
# A wait at least this long is announced (what for, until when): a silent minute looks like a hang.
ANNOUNCED_WAIT = 1.0
_RETRIED_SERVER_ERRORS = {500, 502, 503, 504}


class RateLimiter:
    """At most ``limit`` requests in any ``window`` seconds *as the server counts them, on arrival*.

    Spacing the moments we *send* cannot guarantee that: a request delayed on its way (a loaded
    machine, a congested link) arrives late, next to the requests sent after it, and the server sees
    six in one second. So the rule is anchored on what we know the server has already counted: request
    ``n`` is sent no earlier than ``window`` (plus a safety ``margin``) after the **response** to
    request ``n - limit`` arrived. The server counted request ``n - limit`` before it answered, and
    counts request ``n`` only after we send it, so at the server their arrivals are more than
    ``window`` apart, whatever the delays in between: no window there ever holds more than ``limit``.

    Use :meth:`acquire` before each attempt and :meth:`release` (with what it returned) once its
    response, or its failure, is back. Shared by every thread talking to one base.
    """

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        # The rule already leaves the response's way back plus the next request's way there between
        # the two arrivals; 5 ms more covers a server that rounds its timestamps to milliseconds.
        margin: float = 0.005,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.span = window + margin
        self._clock = clock
        self._sleep = sleep
        # The last ``limit`` requests in the order they were sent: the time their response arrived,
        # or None while they are in flight.
        self._recent: deque[_Slot] = deque()
        self._turn = threading.Lock()
        self._done = threading.Condition()

    def acquire(self) -> _Slot:
        # One waiter at a time keeps the order in which requests are sent the order of ``_recent``.
        with self._turn:
            if len(self._recent) >= self.limit:
                oldest = self._recent.popleft()
                with self._done:
                    while oldest.answered_at is None:
                        self._done.wait()
                delay = oldest.answered_at + self.span - self._clock()
                if delay > 0:
                    self._sleep(delay)
            slot = _Slot()
            self._recent.append(slot)
            return slot

    def release(self, slot: _Slot) -> None:
        """The response to ``slot``'s request (or its failure) is back: start its ``window``."""
        answered = self._clock()
        with self._done:
            if slot.answered_at is None:
                slot.answered_at = answered
            self._done.notify_all()


class _Slot:
    __slots__ = ("answered_at",)

    def __init__(self) -> None:
        self.answered_at: float | None = None


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
        retry_creates: bool = True,
    ) -> None:
        super().__init__(max_retries=0)
        self.notify: Callable[[str], None] | None = None
        self.table_names: dict[str, str] = {}
        # A POST that failed on the way back may have created its records: retried only after a 429
        # (which Airtable answers before doing anything) unless this is True.
        self.retry_creates = retry_creates
        self.limiter = limiter
        self.max_attempts = max_attempts
        self.default_retry_after = default_retry_after
        self._sleep = sleep
        self.waits: list[float] = []

    def announce_waits(
        self, notify: Callable[[str], None] | None, table_ids: Mapping[SourceTable, str]
    ) -> None:
        """Tell ``notify`` of every wait of :data:`ANNOUNCED_WAIT` or more, naming tables as operators do."""
        self.notify = notify
        self.table_names = {table_id: str(table) for table, table_id in table_ids.items()}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
            attempt += 1
            limiter = self.limiter
            slot = limiter.acquire() if limiter is not None else None
            try:
                response = super().send(request, *args, **kwargs)
            except requests.ConnectionError:
                if attempt >= 3 or (request.method == "POST" and not self.retry_creates):
                    raise
                self._sleep(0.5 * attempt)
                continue
            finally:
                # The headers (or the failure) are back: the server has counted this request.
                if limiter is not None and slot is not None:
                    limiter.release(slot)
            if attempt >= self.max_attempts:
                return response
            if response.status_code == 429:
                delay = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.default_retry_after if delay is None else delay
            elif (
                response.status_code in _RETRIED_SERVER_ERRORS
                and attempt < 4
                and (request.method != "POST" or self.retry_creates)
            ):
                delay = 0.5 * 2 ** (attempt - 1)
            else:
                return response
            response.close()
            self.waits.append(delay)
            if self.notify is not None and delay >= ANNOUNCED_WAIT:
                self.notify(self._waiting(request, response.status_code, delay, attempt))
            self._sleep(delay)

    def _waiting(self, request: requests.PreparedRequest, status: int, delay: float, attempt: int) -> str:
        """``Airtable answered 429 (rate limited) to POST users: waiting 30 s, until 14:05:31 UTC, …``"""
        table_id = (request.path_url or "").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        table = self.table_names.get(table_id, table_id)
        why = "429 (rate limited)" if status == 429 else f"HTTP {status}"
        until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
        return (
            f"Airtable answered {why} to {request.method} {table}: waiting {delay:.0f} s, until "
            f"{until:%H:%M:%S} UTC, then retrying (attempt {attempt + 1} of {self.max_attempts})"
        )


def missing_settings(token: str, base_id: str, table_ids: Mapping[SourceTable, str]) -> str:
    """The PODIUM_AIRTABLE_* settings a connection to the base lacks, named for the operator ("" if none)."""
    missing = [name for name, value in (("TOKEN", token), ("BASE_ID", base_id)) if not value]
    missing += [f"{str(table).upper()}_TABLE_ID" for table in SourceTable if not table_ids.get(table)]
    return ", ".join(f"PODIUM_AIRTABLE_{name}" for name in missing)


def throttled_api(
    token: str,
    base_id: str,
    endpoint_url: str,
    requests_per_second: int | None,
    timeout: tuple[int, int],
    default_retry_after: float,
    *,
    retry_creates: bool = True,
) -> tuple[Api, ThrottledAdapter]:
    """A pyairtable ``Api`` whose every request goes through the base's shared limiter (reads and writes
    together). pyairtable's own urllib3 retry is off: ours runs above the limiter, so retries are throttled
    too."""
    api = Api(token, endpoint_url=endpoint_url, timeout=timeout, retry_strategy=None)
    limiter = limiter_for(endpoint_url, base_id, requests_per_second) if requests_per_second else None
    transport = ThrottledAdapter(
        limiter, default_retry_after=default_retry_after, retry_creates=retry_creates
    )
    api.session.mount("https://", transport)
    api.session.mount("http://", transport)
    return api, transport


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
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if missing := missing_settings(token, base_id, table_ids):
            raise SourceError(f"Airtable is not configured: set {missing}")
        self.base_id = base_id
        self.table_ids = dict(table_ids)
        self.endpoint_url = endpoint_url
        self.api, self.transport = throttled_api(
            token, base_id, endpoint_url, requests_per_second, timeout, default_retry_after
        )
        self.transport.announce_waits(notify, table_ids)

    def check(self) -> None:
        """One request per configured table (its first record), before the long read starts.

        A wrong token, base id or table id then fails in a second, naming the variable to fix,
        instead of after every table before it has been read.
        """
        readable: list[SourceTable] = []
        for table in SourceTable:
            table_id = self.table_ids[table]
            try:
                self.api.table(self.base_id, table_id).first()
            except requests.HTTPError as exc:
                raise self._explain(exc, table, table_id, readable=readable) from exc
            except requests.RequestException as exc:
                raise SourceError(f"cannot reach Airtable at {self.endpoint_url}: {exc}") from exc
            readable.append(table)

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

    def _explain(
        self,
        exc: requests.HTTPError,
        table: SourceTable,
        table_id: str,
        *,
        readable: Sequence[SourceTable] = (),
    ) -> SourceError:
        status = exc.response.status_code if exc.response is not None else None
        variable = f"PODIUM_AIRTABLE_{str(table).upper()}_TABLE_ID"
        if status in (403, 404) and readable:
            # The token reads other tables of this base, so the base id and the token are right: it is
            # this table id (Airtable answers 403, not 404, for a table a token cannot see).
            return SourceError(
                f"Airtable has no {table} table {table_id} in base {self.base_id} (HTTP {status}), though "
                f"the token reads the {readable[0]} table there: check {variable}"
            )
        if status in (401, 403):
            return SourceError(
                f"Airtable refused the token (HTTP {status}) reading the {table} table: check "
                "PODIUM_AIRTABLE_TOKEN and that it has the data.records:read scope on base "
                f"{self.base_id}"
            )
        if status == 404:
            return SourceError(
                f"Airtable has no table {table_id} in base {self.base_id} (HTTP 404): check "
                f"{variable} and PODIUM_AIRTABLE_BASE_ID"
            )
        if status == 429:
            return SourceError(
                f"Airtable kept answering 429 (rate limited) on the {table} table after "
                f"{self.transport.max_attempts} attempts; wait a minute and run again"
            )
        return SourceError(f"Airtable answered HTTP {status} reading the {table} table: {exc}")
