"""Request and error metrics in the Prometheus text format, served at ``GET /metrics``.

Each process counts its own requests (by route template, method and status class), their latency
(a histogram), the errors mapped to 503/500, and reads its connection pool's state when scraped.

With several workers, a scrape reaches whichever worker the kernel hands the connection to, so
per-process numbers alone would jump between workers. ``podium serve`` therefore gives the workers a
shared directory (``PODIUM_METRICS_DIR``): each worker writes a snapshot of its counters there every
``FLUSH_SECONDS`` (and on every scrape), and ``/metrics`` answers the **sum over all workers**. Snapshots
of workers that have exited stay in the sum, so counters never go backwards; pool gauges come only from
live workers, labelled with ``worker`` (the pid).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from podium.processes import pid_alive

log = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FLUSH_SECONDS = 2.0
UNMATCHED = "<unmatched>"
# Prometheus' text format. Litestar appends "; charset=utf-8" to every text/* media type itself.
MEDIA_TYPE = "text/plain; version=0.0.4"


class Metrics:
    """This process's counters. Not thread-safe by design: one event loop updates them."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.started = time.time()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], list[float]] = {}
        self.errors: dict[str, int] = defaultdict(int)
        self.in_progress = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, f"{status // 100}xx")] += 1
        # Per bucket counts, then the sum and the count of all observations.
        row = self.latency.setdefault((method, route), [0.0] * (len(BUCKETS) + 2))
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                row[i] += 1
        row[-2] += seconds
        row[-1] += 1

    def count_error(self, kind: str) -> None:
        self.errors[kind] += 1

    def snapshot(self, pool: dict[str, int] | None = None) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "started": self.started,
            "requests": [[*key, value] for key, value in self.requests.items()],
            "latency": [[*key, row] for key, row in self.latency.items()],
            "errors": dict(self.errors),
            "in_progress": self.in_progress,
            "pool": pool or {},
        }


METRICS = Metrics()


def write_snapshot(directory: Path, snapshot: dict[str, Any]) -> None:
    """Atomically replace this worker's snapshot file. The directory is made once at start-up, never here:
    a worker still draining after its supervisor removed it must not bring it back (a left-over dir)."""
    target = directory / f"{snapshot['pid']}.json"
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(snapshot))
    partial.replace(target)


def read_snapshots(directory: Path, own: dict[str, Any]) -> list[dict[str, Any]]:
    """Every worker's latest snapshot, this worker's taken fresh."""
    snapshots = [own]
    for path in sorted(directory.glob("*.json")):
        if path.stem == str(own["pid"]):
            continue
        try:
            snapshots.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            # Mid-replace or removed by a shutting-down serve: skip it this time.
            continue
    return snapshots


def _labels(**labels: str) -> str:
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(snapshots: list[dict[str, Any]]) -> str:
    """The Prometheus text exposition of the summed snapshots."""
    requests: dict[tuple[str, ...], int] = defaultdict(int)
    latency: dict[tuple[str, ...], list[float]] = {}
    errors: dict[str, int] = defaultdict(int)
    live = [s for s in snapshots if pid_alive(int(s["pid"]))]
    for snapshot in snapshots:
        for method, route, status, value in snapshot["requests"]:
            requests[(method, route, status)] += value
        for method, route, row in snapshot["latency"]:
            total = latency.setdefault((method, route), [0.0] * len(row))
            for i, value in enumerate(row):
                total[i] += value
        for kind, value in snapshot["errors"].items():
            errors[kind] += value

    lines = [
        "# HELP podium_http_requests_total HTTP requests answered, by route template, method and status class.",
        "# TYPE podium_http_requests_total counter",
    ]
    for (method, route, status), value in sorted(requests.items()):
        lines.append(
            f"podium_http_requests_total{_labels(method=method, route=route, status=status)} {value}"
        )
    lines += [
        "# HELP podium_http_request_duration_seconds Time to answer an HTTP request.",
        "# TYPE podium_http_request_duration_seconds histogram",
    ]
    for (method, route), row in sorted(latency.items()):
        for bound, value in zip(BUCKETS, row, strict=False):
            labels = _labels(method=method, route=route, le=f"{bound:g}")
            lines.append(f"podium_http_request_duration_seconds_bucket{labels} {value:g}")
        labels = _labels(method=method, route=route, le="+Inf")
        lines.append(f"podium_http_request_duration_seconds_bucket{labels} {row[-1]:g}")
        lines.append(
            f"podium_http_request_duration_seconds_sum{_labels(method=method, route=route)} {row[-2]:.6f}"
        )
        lines.append(
            f"podium_http_request_duration_seconds_count{_labels(method=method, route=route)} {row[-1]:g}"
        )
    lines += [
        "# HELP podium_errors_total Failed requests by cause (database_unavailable → 503, unhandled → 500).",
        "# TYPE podium_errors_total counter",
    ]
    for kind in (
        "database_unavailable",
        "unhandled",
        *sorted(set(errors) - {"database_unavailable", "unhandled"}),
    ):
        lines.append(f"podium_errors_total{_labels(kind=kind)} {errors.get(kind, 0)}")
    lines += [
        "# HELP podium_http_requests_in_progress Requests being answered now.",
        "# TYPE podium_http_requests_in_progress gauge",
        f"podium_http_requests_in_progress {sum(int(s['in_progress']) for s in live)}",
        "# HELP podium_workers Worker processes serving the API.",
        "# TYPE podium_workers gauge",
        f"podium_workers {len(live)}",
    ]
    for name, help_text in (
        ("size", "Connections the pool keeps open."),
        ("checked_out", "Pooled connections in use by a request."),
        ("checked_in", "Idle pooled connections."),
        ("overflow", "Connections opened beyond the pool size."),
    ):
        lines += [f"# HELP podium_db_pool_{name} {help_text}", f"# TYPE podium_db_pool_{name} gauge"]
        for snapshot in live:
            if name in snapshot["pool"]:
                lines.append(
                    f"podium_db_pool_{name}{_labels(worker=str(snapshot['pid']))} {snapshot['pool'][name]}"
                )
    lines += [
        "# HELP podium_worker_start_time_seconds When each live worker started (Unix time).",
        "# TYPE podium_worker_start_time_seconds gauge",
    ]
    for snapshot in live:
        lines.append(
            f"podium_worker_start_time_seconds{_labels(worker=str(snapshot['pid']))} {snapshot['started']:.3f}"
        )
    return "\n".join(lines) + "\n"


METRICS_DIR_PREFIX = "podium-metrics-"


def make_metrics_dir() -> Path:
    """A fresh directory for the workers' snapshots, named after this supervisor's pid."""
    return Path(tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{os.getpid()}-"))


def remove_stale_metrics_dirs() -> None:
    """Remove the directories of supervisors that were killed outright (SIGKILL runs no clean-up)."""
    for path in Path(tempfile.gettempdir()).glob(f"{METRICS_DIR_PREFIX}*-*"):
        owner = path.name.removeprefix(METRICS_DIR_PREFIX).partition("-")[0]
        try:
            mine = path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and owner.isdigit() and not pid_alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)
