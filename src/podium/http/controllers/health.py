from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from podium.bootstrap import Container


@get("/health", tags=["health"], summary="Liveness and database check")
async def health(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    ok = await container.database_ok()
    current = ok and await container.schema_current()
    # ``environment`` lets `podium smoke` refuse a server live in development mode.
    body: dict[str, Any] = {
        "status": "ok" if current else "unavailable",
        "database": ok,
        "environment": container.settings.env,
    }
    if ok and not current:
        # Reachable, but its schema is missing or behind: every request would fail (the log says why).
        body["schema_current"] = False
    return Response(body, status_code=200 if current else 503)
