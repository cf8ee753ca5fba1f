"""``OPTIONS`` answers list every method of the resource in ``Allow``.

Litestar 2 builds the automatic ``OPTIONS`` handler of a path from the first handlers registered on it,
so when several handlers share a path (``GET`` and ``PUT /users/current``) its ``Allow`` header lists only
some of them (litestar-org/litestar#4169, fixed in Litestar 3). This wrapper puts the route's full method
set in that header. A ``405`` already carries the right ``Allow``; CORS preflights are answered by the CORS
middleware and have no ``Allow`` header, so neither is touched.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class AllowEveryMethod:
    def __init__(self, app: ASGIApp, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self._allow = {
            route.path_format: ", ".join(sorted(route.methods)).encode()
            for route in routes
            if isinstance(route, HTTPRoute)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start":
                allow = self._allow.get(str(scope.get("path_template", "")))
                headers = list(message.get("headers") or [])
                if allow is not None and any(name.lower() == b"allow" for name, _ in headers):
                    headers = [(name, value) for name, value in headers if name.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_allow)
