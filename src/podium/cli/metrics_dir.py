"""The directory ``podium serve --workers N`` gives prometheus_client's multiprocess mode.

The workers read ``PROMETHEUS_MULTIPROC_DIR`` when they import prometheus_client, so it is set before they
start: a fresh ``/tmp/podium-metrics-<supervisor pid>-*``, removed on shutdown. A supervisor killed
outright (SIGKILL runs no clean-up) leaves its directory behind; every start removes those of supervisors
that no longer exist. One worker needs none: its metrics stay in its own memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from podium.processes import pid_alive

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR_PREFIX = "podium-metrics-"


@contextmanager
def shared_metrics_dir(workers: int) -> Iterator[None]:
    """Give the workers a metrics directory for as long as they run (when they need one)."""
    remove_stale_metrics_dirs()
    chosen = os.environ.get(MULTIPROC_ENV)
    if chosen:
        # Set by hand: kept, but emptied of a previous run's files, as prometheus_client requires.
        for path in Path(chosen).glob("*.db"):
            path.unlink(missing_ok=True)
        yield
        return
    if workers == 1:
        yield
        return
    directory = make_metrics_dir()
    os.environ[MULTIPROC_ENV] = str(directory)
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def make_metrics_dir() -> Path:
    """A fresh directory for the workers' metric files, named after this supervisor's pid."""
    return Path(tempfile.mkdtemp(prefix=f"{METRICS_DIR_PREFIX}{os.getpid()}-"))


def remove_stale_metrics_dirs() -> None:
    """Remove the directories of supervisors that were killed outright."""
    for path in Path(tempfile.gettempdir()).glob(f"{METRICS_DIR_PREFIX}*-*"):
        owner = path.name.removeprefix(METRICS_DIR_PREFIX).partition("-")[0]
        try:
            mine = path.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and owner.isdigit() and not pid_alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)
