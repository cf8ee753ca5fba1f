"""``GET /metrics``: request and error rates during an event, in Prometheus' text format.

With ``--workers N`` any worker answers with the sum over all workers (:mod:`podium.http.metrics`).
"""

from __future__ import annotations

from litestar import Response, get

from podium.http.metrics import MEDIA_TYPE, exposition


@get("/metrics", include_in_schema=False, media_type=MEDIA_TYPE, sync_to_thread=False)
def metrics() -> Response[bytes]:
    """Prometheus text format: request counts and latency by route, errors, pool state (all workers)."""
    return Response(exposition(), media_type=MEDIA_TYPE)
