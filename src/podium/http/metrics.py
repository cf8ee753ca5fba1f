"""Request, error and pool metrics, kept by ``prometheus_client`` and served at ``GET /metrics``.

One process (``podium serve``, the tests): the metrics live in this module's registry.

Several workers (``podium serve --workers N``): the supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` before it
starts them, which puts prometheus_client in its multiprocess mode (chosen when it is first imported):
each worker keeps its values in memory-mapped files in that directory, and a scrape, whichever worker the
kernel hands it to, adds up the files of all workers. Counters and histograms of workers that have exited
stay in the sum, so they never go backwards when uvicorn replaces a worker. The gauges count live workers
only (``livesum``): a worker removes its gauge files when it shuts down cleanly, and each scrape removes
those of workers that died without a clean-up (SIGKILL, the OOM killer).

Litestar's own Prometheus plugin (``litestar.plugins.prometheus``) is not used: its middleware runs after
routing, so unmatched paths, 405s and CORS preflights would go uncounted, and its fixed labels (raw path
or template, exact ``status_code``, ``app_name``, also on the histogram and the in-progress gauge) are not
these. Requests are counted by :class:`podium.http.middleware.RequestLogMiddleware`, around routing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from podium.processes import pid_alive

log = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"
# Prometheus' text format 0.0.4. Litestar appends "; charset=utf-8" to every text/* media type itself.
MEDIA_TYPE = "text/plain; version=0.0.4"
# Read once, as prometheus_client does when it is imported: the mode cannot change afterwards.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

# No ``*_created`` series beside each counter and histogram (the multiprocess mode has none either).
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "podium_http_requests_total",
    "HTTP requests answered, by route template, method and status class.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
DURATION = Histogram(
    "podium_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ("method", "route"),
    buckets=BUCKETS,
    registry=REGISTRY,
)
ERRORS = Counter(
    "podium_errors_total",
    "Failed requests by cause (database_unavailable → 503, unhandled → 500).",
    ("kind",),
    registry=REGISTRY,
)
IN_PROGRESS = Gauge(
    "podium_http_requests_in_progress",
    "Requests being answered now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
WORKERS = Gauge(
    "podium_workers", "Worker processes serving the API.", registry=REGISTRY, multiprocess_mode="livesum"
)
POOL = tuple(
    Gauge(f"podium_db_pool_{name}", text, ("worker",), registry=REGISTRY, multiprocess_mode="livesum")
    for name, text in (
        ("size", "Connections the pool keeps open."),
        ("checked_out", "Pooled connections in use by a request."),
        ("checked_in", "Idle pooled connections."),
        ("overflow", "Connections opened beyond the pool size."),
    )
)
START_TIME = Gauge(
    "podium_worker_start_time_seconds",
    "When each live worker started (Unix time).",
    ("worker",),
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
# Both kinds are on the page from the start, at 0, so an alert on them has a series to watch.
for _kind in ("database_unavailable", "unhandled"):
    ERRORS.labels(_kind)


class _Pool:
    """The connection pool this worker reports, re-read after every request and on every scrape. Its
    gauges are written only when the state changes, and stay current for other workers' scrapes."""

    pool: Any = None
    gauges: tuple[Any, ...] = ()
    last: tuple[int, ...] = ()


def start_worker(pool: Any) -> None:
    """Called when the app starts: this worker is live, and reports ``pool`` (when it is a QueuePool)."""
    worker = str(os.getpid())
    WORKERS.set(1)
    START_TIME.labels(worker).set(time.time())
    _Pool.pool = pool if hasattr(pool, "checkedout") else None
    _Pool.gauges = tuple(gauge.labels(worker) for gauge in POOL)
    _Pool.last = ()
    refresh_pool()


def stop_worker() -> None:
    """Called when the app stops: this worker's live gauges leave the sum of a multiprocess scrape."""
    if MULTIPROC_DIR is not None:
        mark_process_dead(os.getpid(), MULTIPROC_DIR)  # type: ignore[no-untyped-call]


# Other numbers carried into the metrics at the same moments as the pool's (the replicas').
_REFRESHERS: list[Callable[[], None]] = []


def on_refresh(refresher: Callable[[], None]) -> None:
    if refresher not in _REFRESHERS:
        _REFRESHERS.append(refresher)


def refresh_pool() -> None:
    for refresher in _REFRESHERS:
        refresher()
    pool = _Pool.pool
    if pool is None:
        return
    state = (pool.size(), pool.checkedout(), pool.checkedin(), max(0, pool.overflow()))
    if state != _Pool.last:
        _Pool.last = state
        for gauge, value in zip(_Pool.gauges, state, strict=True):
            gauge.set(value)


# Each (method, route, status class)'s two series, looked up once: ``labels()`` costs more than the update.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status // 100)
    series = _SERIES.get(key)
    if series is None:
        counter = REQUESTS.labels(method, route, f"{status // 100}xx")
        try:
            histogram = DURATION.labels(method, route)
        except FileNotFoundError:
            # The histogram's file is opened with its first series. A worker still draining after a new
            # ``podium serve`` removed its killed supervisor's directory must not fail (nor recreate it).
            histogram = None
        series = _SERIES[key] = (counter, histogram)
    series[0].inc()
    if series[1] is not None:
        series[1].observe(seconds)
    refresh_pool()


def count_error(kind: str) -> None:
    ERRORS.labels(kind).inc()


def exposition() -> bytes:
    """The Prometheus text page: this process's metrics, or the sum over all workers."""
    refresh_pool()
    if MULTIPROC_DIR is None:
        return generate_latest(REGISTRY)
    directory = Path(MULTIPROC_DIR)
    try:
        forget_dead_workers(directory)
        summed = CollectorRegistry()
        MultiProcessCollector(summed, str(directory))  # type: ignore[no-untyped-call]
        return generate_latest(summed)
    except (OSError, ValueError):
        # The directory was removed: the service is shutting down. Answer with this worker's own.
        return generate_latest(REGISTRY)
    except Exception:
        # A worker's file read while it is being created or removed (a worker killed or starting): this
        # scrape gets this worker's own metrics, the next one the sum again; never a 500.
        log.warning("summing the workers' metrics failed: this worker's own are served", exc_info=True)
        return generate_latest(REGISTRY)


def forget_dead_workers(directory: Path) -> None:
    """Remove the live-gauge files of workers that died without their clean-up (files end in _<pid>.db)."""
    pids = {path.stem.rpartition("_")[2] for path in directory.glob("gauge_live*.db")}
    dead = {int(pid) for pid in pids if pid.isdigit() and not pid_alive(int(pid))}
    for pid in dead:
        mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
