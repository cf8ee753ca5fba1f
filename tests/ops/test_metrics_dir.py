"""The workers' metrics directory never outlives ``podium serve``: a draining worker does not bring it back
after the supervisor removed it, and directories of supervisors killed outright are removed at the next
start."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from podium.http.metrics import make_metrics_dir, remove_stale_metrics_dirs, write_snapshot

DEAD_PID = 999_999_999  # above Linux's pid_max: never a live process


def test_a_snapshot_is_not_written_into_a_removed_directory(tmp_path: Path) -> None:
    gone = tmp_path / "podium-metrics-removed"
    with pytest.raises(FileNotFoundError):
        write_snapshot(gone, {"pid": os.getpid()})
    assert not gone.exists()


def test_a_new_directory_is_named_after_its_supervisor_and_stale_ones_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"podium-metrics-{DEAD_PID}-abc"
    live = tmp_path / f"podium-metrics-{os.getppid()}-def"
    unrelated = tmp_path / "podium-metrics-xyz"
    for path in (stale, live, unrelated):
        path.mkdir()
        (path / "1.json").write_text("{}")
    remove_stale_metrics_dirs()
    fresh = make_metrics_dir()
    assert fresh.name.startswith(f"podium-metrics-{os.getpid()}-")
    assert fresh.is_dir()
    assert not stale.exists()
    assert live.exists()
    assert unrelated.exists()
