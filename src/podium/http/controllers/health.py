from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from podium.bootstrap import Container


@get("/health", tags=["health"], summary="Liveness and database check")
async def health(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    ok = await container.database_ok()
    environment = container.settings.env  # lets `podium smoke` refuse a server live in development mode
    if ok and not await container.schema_current():
        # Reachable, but its schema is missing or behind: every request would fail (the log says why).
        body = {
            "status": "unavailable",
            "database": True,
            "schema_current": False,
            "environment": environment,
        }
        return Response(body, status_code=503)
    body = {"status": "ok" if ok else "unavailable", "database": ok, "environment": environment}
    return Response(body, status_code=200 if ok else 503)
