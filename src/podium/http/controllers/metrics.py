"""``GET /metrics``: request and error rates during an event, in Prometheus' text format.

With ``--workers N`` each worker keeps its own counters and writes a snapshot to a shared directory
(``metrics_dir``); a scrape answered by any worker sums them all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, Response, get

from podium.bootstrap import Container
from podium.http.metrics import FLUSH_SECONDS, MEDIA_TYPE, METRICS, read_snapshots, write_snapshot
from podium.http.metrics import render as render_requests
from podium.http.replica_metrics import render_replicas, replica_snapshot

log = logging.getLogger(__name__)


def snapshot(container: Container) -> dict[str, Any]:
    pool: Any = container.engine.pool
    stats = {}
    if hasattr(pool, "checkedout"):
        stats = {
            "size": pool.size(),
            "checked_out": pool.checkedout(),
            "checked_in": pool.checkedin(),
            "overflow": max(0, pool.overflow()),
        }
    own = METRICS.snapshot(stats)
    own["replicas"] = replica_snapshot(container.uow.replicas)
    return own


def render(snapshots: list[dict[str, Any]]) -> str:
    return render_requests(snapshots) + render_replicas(snapshots)


@get("/metrics", include_in_schema=False, media_type=MEDIA_TYPE, sync_to_thread=False)
def metrics(request: Request[Any, Any, Any]) -> Response[str]:
    """Prometheus text format: request counts and latency by route, errors, pool state (all workers)."""
    container: Container = request.app.state.container
    own = snapshot(container)
    directory = container.settings.metrics_dir
    if directory is None:
        return Response(render([own]), media_type=MEDIA_TYPE)
    try:
        write_snapshot(directory, own)
    except FileNotFoundError:  # removed by a supervisor that is shutting down
        return Response(render([own]), media_type=MEDIA_TYPE)
    return Response(render(read_snapshots(directory, own)), media_type=MEDIA_TYPE)


async def flush_metrics(container: Container) -> None:
    """Keep this worker's snapshot fresh for the scrapes that land on another worker."""
    directory = container.settings.metrics_dir
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            write_snapshot(directory, snapshot(container))
        except FileNotFoundError:
            return  # the supervisor removed the directory: the service is shutting down
        except OSError:
            log.warning("could not write the metrics snapshot", exc_info=True)
        await asyncio.sleep(FLUSH_SECONDS)
