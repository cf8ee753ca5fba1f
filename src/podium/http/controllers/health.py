from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from podium.bootstrap import Container


@get("/health", tags=["health"], summary="Liveness and database check")
async def health(container: NamedDependency[Container]) -> Response[dict[str, Any]]:
    ok = await container.database_ok()
    # ``environment`` lets `podium smoke` refuse a server that went live in development mode.
    body = {"status": "ok" if ok else "unavailable", "database": ok, "environment": container.settings.env}
    return Response(body, status_code=200 if ok else 503)
