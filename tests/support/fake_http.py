"""A tiny HTTP server on 127.0.0.1 for testing outbound HTTP adapters without the internet.

It records every request and answers with queued responses (default: 200 ``{}``). It runs in a
background thread, so async code under test can call it with a real ``httpx.AsyncClient``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self

import pytest
from bench.pg import free_port


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class CannedResponse:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


class FakeHttpServer:
    """Context manager: ``with FakeHttpServer() as server: ... server.url ... server.requests``."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._responses: deque[CannedResponse] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def respond(
        self,
        status: int = 200,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue the next response: ``body`` is JSON-encoded unless ``raw`` bytes are given."""
        payload = raw if raw is not None else json.dumps({} if body is None else body).encode()
        extra = tuple((headers or {}).items())
        with self._lock:
            self._responses.append(CannedResponse(status, payload, content_type, delay, extra))

    def reset(self) -> None:
        """Forget the recorded requests and any queued response (a fixture shared by several tests)."""
        with self._lock:
            self.requests.clear()
            self._responses.clear()

    def _next(self, request: RecordedRequest) -> CannedResponse:
        with self._lock:
            self.requests.append(request)
            return self._responses.popleft() if self._responses else CannedResponse()

    def __enter__(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                canned = fake._next(RecordedRequest(self.command, self.path, headers, body))
                if canned.delay:
                    time.sleep(canned.delay)
                self.send_response(canned.status)
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(len(canned.body)))
                for name, value in canned.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(canned.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

            def handle(self) -> None:
                # The client may hang up first (a timeout test); that is expected, not an error.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Join handler threads on close, so no thread outlives the test.
        self._server.daemon_threads = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-http", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def fake_http_fixture(scope: Literal["function", "module"] = "function") -> Any:
    """A fixture of a running ``FakeHttpServer``, named after the variable it is assigned to in a test
    module: ``github = fake_http_fixture("module")``. A module-scoped one is shared by the module's tests
    (``reset`` it in a per-test fixture)."""

    @pytest.fixture(scope=scope)
    def fake_http() -> Iterator[FakeHttpServer]:
        with FakeHttpServer() as server:
            yield server

    return fake_http


def unused_local_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"
