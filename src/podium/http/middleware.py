"""Pure-ASGI request logging: one structured line per request, with a request id echoed to the client.

It wraps the whole application (routing included), so 404s, 405s and CORS preflights are logged and
counted in the metrics too.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from podium.http.metrics import IN_PROGRESS, UNMATCHED, observe_request

log = logging.getLogger("podium.request")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        started = time.perf_counter()
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        IN_PROGRESS.inc()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            IN_PROGRESS.dec()
            elapsed = time.perf_counter() - started
            # The route template (``/events/{event_id:str}``), never the raw path: bounded label values.
            route = scope.get("path_template") or UNMATCHED
            observe_request(method, route, status, elapsed)
            if log.isEnabledFor(logging.INFO):  # production runs at WARNING: build nothing then
                state: dict[str, Any] = scope.get("state", {})
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": method,
                        "path": scope["path"],
                        "status": status,
                        "latency_ms": round(elapsed * 1000, 2),
                        "user_id": state.get("user_id"),
                    },
                )


class RequestScopeMiddleware:
    """Runs each HTTP request inside ``request_scope()``: the store shares one database connection
    between the request's reads (the guard's user lookup and the use-case's).

    ``before_response`` runs when the response starts, so the connection goes back to the pool before the
    body is written: a slow reader of a 400 KB listing must not hold a database connection while it
    drains (32 such readers would exhaust the pool and make it open and close overflow connections)."""

    def __init__(
        self,
        app: ASGIApp,
        request_scope: Callable[[], AbstractAsyncContextManager[None]],
        before_response: Callable[[], Awaitable[None]],
    ) -> None:
        self.app = app
        self.request_scope = request_scope
        self.before_response = before_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self.before_response()
            await send(message)

        async with self.request_scope():
            await self.app(scope, receive, send_wrapper)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text = value.decode("latin-1")[:64]
            return text if text.isprintable() else None
    return None
