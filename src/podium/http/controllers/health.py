from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from podium.bootstrap import Container


@get("/health", tags=["health"], summary="Liveness and database check")
async def health(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    ok = await container.database_ok()
    if ok and not await container.schema_current():
        # Reachable, but its schema is missing or behind: every request would fail (the log says why).
        return Response({"status": "unavailable", "database": True, "schema_current": False}, status_code=503)
    return Response({"status": "ok" if ok else "unavailable", "database": ok}, status_code=200 if ok else 503)
