"""The workers' shared metrics directory (prometheus_client's multiprocess mode): what one scrape sums
when workers come and go, and the directory never outliving ``podium serve`` — a draining worker does not
bring it back after it was removed, and directories of supervisors killed outright go at the next start.

Each "worker" here is a Python process started with ``PROMETHEUS_MULTIPROC_DIR`` set, as ``podium serve``
starts its workers."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from podium.cli.metrics_dir import make_metrics_dir, remove_stale_metrics_dirs
from tests.ops.test_observability import sample

DEAD_PID = 999_999_999  # above Linux's pid_max: never a live process


def worker(directory: Path, script: str) -> str:
    """Run ``script`` in a fresh process that records into ``directory``; its stdout."""
    code = f"import sys\nfrom podium.http import metrics as m\n{script}"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_one_scrape_sums_every_worker_keeps_exited_ones_counters_and_counts_only_live_workers(
    tmp_path: Path,
) -> None:
    one_request = "m.start_worker(None)\nm.observe_request('GET', '/x', 200, 0.01)\n"
    worker(tmp_path, one_request + "m.stop_worker()\n")  # exited cleanly
    worker(tmp_path, one_request)  # died without its clean-up, as under SIGKILL
    page = worker(
        tmp_path,
        one_request + "m.count_error('unhandled')\nsys.stdout.write(m.exposition().decode())\n",
    )

    route = {"method": "GET", "route": "/x"}
    assert sample(page, "podium_http_requests_total", **route, status="2xx") == 3
    assert sample(page, "podium_http_request_duration_seconds_bucket", **route, le="0.01") == 3
    assert sample(page, "podium_http_request_duration_seconds_count", **route) == 3
    assert sample(page, "podium_errors_total", kind="unhandled") == 1
    assert 'podium_errors_total{kind="database_unavailable"} 0.0' in page
    # Only the scraping worker is alive: the gauges of both exited ones are gone.
    assert sample(page, "podium_workers") == 1
    assert page.count("podium_worker_start_time_seconds{") == 1
    assert sample(page, "podium_http_requests_in_progress") == 0


def test_a_worker_draining_after_its_directory_was_removed_neither_fails_nor_recreates_it(
    tmp_path: Path,
) -> None:
    gone = tmp_path / "podium-metrics-removed"
    gone.mkdir()
    page = worker(
        gone,
        "import shutil\nshutil.rmtree(m.MULTIPROC_DIR)\nm.start_worker(None)\n"
        "m.observe_request('GET', '/x', 200, 0.01)\nsys.stdout.write(m.exposition().decode())\n",
    )
    assert not gone.exists()
    # The scrape answers with this worker's own numbers.
    assert sample(page, "podium_http_requests_total", method="GET", route="/x", status="2xx") == 1


def test_a_new_directory_is_named_after_its_supervisor_and_stale_ones_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"podium-metrics-{DEAD_PID}-abc"
    live = tmp_path / f"podium-metrics-{os.getppid()}-def"
    unrelated = tmp_path / "podium-metrics-xyz"
    for path in (stale, live, unrelated):
        path.mkdir()
        (path / "left-over").write_text("")
    remove_stale_metrics_dirs()
    fresh = make_metrics_dir()
    assert fresh.name.startswith(f"podium-metrics-{os.getpid()}-")
    assert fresh.is_dir()
    assert not stale.exists()
    assert live.exists()
    assert unrelated.exists()
