"""A fake Airtable HTTP server on 127.0.0.1 speaking the records API, for the real pyairtable client.

Reads as below; creates, updates and deletes as :mod:`podium.testing.fake_airtable_writes` describes.

``GET /v0/meta/whoami`` answers the token's scopes (``token_scopes``).
``GET /v0/{base}/{table}?pageSize=&offset=`` answers ``{"records": [{id, createdTime, fields}], "offset"}``
like Airtable. On demand it answers 429 with ``Retry-After``, enforces Airtable's 5 requests/second per
base, and fails with 401/403/404 the way Airtable does. Every request is logged for assertions.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from podium.testing.fake_airtable_writes import apply_write, record_ids

MAX_PAGE_SIZE = 100
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    at: float  # arrival time, time.monotonic() on the server: tests check pacing from these, not a stopwatch
    method: str
    base: str
    table: str
    page_size: int | None
    offset: str | None
    status: int


@dataclass(frozen=True, slots=True)
class LoggedWrite:
    method: str
    table: str
    body: bytes
    status: int


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: float | None
    remaining: int


class FakeAirtable:
    """Serve ``bases`` (base id → table id → raw records) until :meth:`stop`.

    ``rate_limit``: requests per second allowed per base (Airtable: 5), counted over any 1-second
    window; ``None`` serves without limit. Over the limit the answer is 429 with
    ``Retry-After: rate_limit_retry_after``.
    """

    def __init__(
        self,
        bases: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
        *,
        token: str = "pat-test-token",
        forbidden_tokens: Sequence[str] = (),
        rate_limit: int | None = None,
        rate_limit_retry_after: float = 1.0,
        latency: float = 0.0,
        port: int = 0,
        token_scopes: Sequence[str] | None = ("data.records:read", "data.records:write"),
    ) -> None:
        # A copy: writes change the fake's records, never the caller's.
        self.bases: dict[str, dict[str, list[dict[str, Any]]]] = {
            base: {table: [dict(copy.deepcopy(r)) for r in records] for table, records in tables.items()}
            for base, tables in bases.items()
        }
        self._new_ids = record_ids()
        self.port = port
        self.token = token
        self.forbidden_tokens = set(forbidden_tokens)
        # What ``GET /v0/meta/whoami`` lists (None: no list, as Airtable answers for some tokens).
        self.token_scopes = None if token_scopes is None else list(token_scopes)
        self.rate_limit = rate_limit
        self.rate_limit_retry_after = rate_limit_retry_after
        self.latency = latency
        self.requests: list[LoggedRequest] = []
        self.writes: list[LoggedWrite] = []
        self._write_failures: dict[int, int] = {}
        self._failures: deque[_Failure] = deque()
        self._delays: deque[float] = deque()
        self._windows: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The endpoint URL to give ``pyairtable.Api(..., endpoint_url=...)``."""
        if self._server is None:
            raise RuntimeError("the fake Airtable server is not running")
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> FakeAirtable:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-airtable",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeAirtable:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 429, retry_after: float | None = 1.0) -> None:
        """Answer the next ``count`` list requests with ``status`` (and ``Retry-After`` when given)."""
        with self._lock:
            self._failures.append(_Failure(status, retry_after, count))

    def fail_write(self, nth: int, *, status: int = 503) -> None:
        """Answer the ``nth`` write request from now with ``status``, changing nothing (a failed batch)."""
        with self._lock:
            self._write_failures[nth + len(self.writes)] = status

    def delay_next(self, *seconds: float) -> None:
        """Hold the next requests, one delay each, before they are counted and answered.

        Models a request that takes long to *arrive* (a loaded client machine, a slow link): the
        server counts it against the rate limit only when it gets there, next to later ones.
        """
        with self._lock:
            self._delays.extend(seconds)

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def records(self, base: str, table: str) -> list[dict[str, Any]]:
        """A copy of a table's records as they are now (after any writes)."""
        with self._lock:
            return copy.deepcopy(self.bases[base][table])

    def count(self, status: int | None = None) -> int:
        with self._lock:
            return sum(1 for request in self.requests if status is None or request.status == status)

    # -- request handling (called from server threads) ----------------------------------------------

    def _answer(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        authorization: str | None,
        body: bytes = b"",
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        now = time.monotonic()
        parts = [unquote(part) for part in path.strip("/").split("/")]
        base = parts[1] if len(parts) > 1 else ""
        table = parts[2] if len(parts) > 2 else ""
        page_size_raw = next(iter(query.get("pageSize", [])), None)
        offset = next(iter(query.get("offset", [])), None)
        page_size = int(page_size_raw) if page_size_raw and page_size_raw.isdigit() else None

        def log(status: int) -> None:
            self.requests.append(LoggedRequest(now, method, base, table, page_size, offset, status))

        with self._lock:
            token = (authorization or "").removeprefix("Bearer ").strip()
            if token in self.forbidden_tokens:
                log(403)
                return 403, {}, _error("INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", "Invalid permissions")
            if token != self.token:
                log(401)
                return 401, {}, _error("AUTHENTICATION_REQUIRED", "Authentication required")
            if self.rate_limit is not None:
                window = self._windows.setdefault(base, deque())
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= self.rate_limit:
                    log(429)
                    return (
                        429,
                        {"Retry-After": _seconds(self.rate_limit_retry_after)},
                        _error("RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later"),
                    )
                window.append(now)
            if self._failures:
                failure = self._failures[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.popleft()
                log(failure.status)
                headers = (
                    {} if failure.retry_after is None else {"Retry-After": _seconds(failure.retry_after)}
                )
                return failure.status, headers, _error("INJECTED_FAILURE", f"injected HTTP {failure.status}")
            if method == "GET" and parts == ["v0", "meta", "whoami"]:
                log(200)
                who: dict[str, Any] = {"id": "usrFakeOperator"}
                if self.token_scopes is not None:
                    who["scopes"] = list(self.token_scopes)
                return 200, {}, who
            if method not in ("GET", *WRITE_METHODS) or len(parts) != 3 or parts[0] != "v0":
                log(404)
                return 404, {}, {"error": "NOT_FOUND"}
            records = self.bases.get(base, {}).get(table)
            if records is None:
                log(404)
                return 404, {}, _error("TABLE_NOT_FOUND", f"Could not find table {table} in the base")
            if method in WRITE_METHODS:
                injected = self._write_failures.pop(len(self.writes) + 1, None)
                if injected is not None:
                    status, written = injected, _error("INJECTED_FAILURE", f"injected HTTP {injected}")
                else:
                    status, written = apply_write(records, method, query, body, self._new_ids)
                log(status)
                self.writes.append(LoggedWrite(method, table, body, status))
                return status, {}, written
            size = page_size or MAX_PAGE_SIZE
            if not 1 <= size <= MAX_PAGE_SIZE:
                log(422)
                return 422, {}, _error("INVALID_REQUEST_UNKNOWN", f"Invalid page size: {page_size_raw}")
            start = _parse_offset(offset, table)
            if start is None or start > len(records):
                log(422)
                return 422, {}, _error("LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "Invalid offset")
            log(200)
        page = list(records[start : start + size])
        answer: dict[str, Any] = {"records": page}
        if start + size < len(records):
            answer["offset"] = f"itr{table}/{start + size}"
        return 200, {}, answer


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _parse_offset(offset: str | None, table: str) -> int | None:
    if offset is None:
        return 0
    prefix = f"itr{table}/"
    if not offset.startswith(prefix) or not offset[len(prefix) :].isdigit():
        return None
    return int(offset[len(prefix) :])


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAirtable
    # Keep-alive, as Airtable and requests' connection pool both do.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each response would wait for the client's
    # delayed ACK (~40 ms), which is not how a real server behaves.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._respond("GET")

    def do_POST(self) -> None:
        self._respond("POST")

    def do_PATCH(self) -> None:
        self._respond("PATCH")

    def do_PUT(self) -> None:
        self._respond("PUT")

    def do_DELETE(self) -> None:
        self._respond("DELETE")

    def _respond(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.fake._lock:
            delay = self.fake._delays.popleft() if self.fake._delays else 0.0
        if delay:
            time.sleep(delay)
        if self.fake.latency:
            time.sleep(self.fake.latency)
        split = urlsplit(self.path)
        status, headers, answer = self.fake._answer(
            method, split.path, parse_qs(split.query), self.headers.get("Authorization"), body
        )
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: tests assert on FakeAirtable.requests instead.
        return None
