"""`podium airtable fake-server`: the documented rehearsal, run as the operator would, end to end."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.domain.backfill import SourceTable

pytestmark = pytest.mark.postgres

READY = "Serving until Ctrl-C."


def podium(*args: str) -> list[str]:
    return [sys.executable, "-m", "podium", *args]


# The fake stops on Ctrl-C as an operator's would: SIGINT at its default, unblocked. A test process may hand a
# child a SIGINT it ignores or blocks (both survive exec: seen once per full suite under load, never alone).
_AS_FROM_A_SHELL = (
    "import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
    "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def _signals(pid: int) -> str:
    """The child's blocked / ignored / caught signal masks, for a failure message."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "gone"
    return " ".join(line for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt", "State")))


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """Start the fake as a subprocess and parse the settings it prints."""
    errors = tmp_path / "fake-server.stderr"
    with (
        errors.open("w") as stderr,
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _AS_FROM_A_SHELL,
                *podium("airtable", "fake-server", "--scale", "small")[1:],
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        ) as server,
    ):
        lines: queue.Queue[str] = queue.Queue()
        assert server.stdout is not None
        stdout = server.stdout
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        settings: dict[str, str] = {}
        try:
            while True:
                try:
                    # A guard against a hang, not a timing assertion.
                    line = lines.get(timeout=120).strip()
                except queue.Empty:
                    pytest.fail(f"the fake server printed no settings: {errors.read_text()}")
                if line == READY:
                    break
                if line.startswith("export "):
                    name, _, value = line.removeprefix("export ").partition("=")
                    settings[name] = value
            yield server, settings
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def test_the_fake_server_prints_every_setting_the_backfill_needs(
    fake_server: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    _, settings = fake_server
    expected = {"PODIUM_AIRTABLE_ENDPOINT_URL", "PODIUM_AIRTABLE_TOKEN", "PODIUM_AIRTABLE_BASE_ID"}
    expected |= {f"PODIUM_AIRTABLE_{str(table).upper()}_TABLE_ID" for table in SourceTable}
    assert set(settings) == expected
    assert settings["PODIUM_AIRTABLE_ENDPOINT_URL"].startswith("http://127.0.0.1:")


def test_the_runbook_rehearsal_runs_against_the_fake_server(
    fake_server: tuple[subprocess.Popen[str], dict[str, str]],
    clean_database: AsyncEngine,
    database_url: str,
    tmp_path: Path,
) -> None:
    server, settings = fake_server
    env = {key: value for key, value in os.environ.items() if not key.startswith("PODIUM_")} | settings
    env |= {"PODIUM_DATABASE_URL": database_url, "PODIUM_DATA_DIR": str(tmp_path / "data")}
    dry = subprocess.run(
        podium("backfill", "--dry-run"), env=env, capture_output=True, text=True, timeout=300, check=False
    )
    # The synthetic base is dirty on purpose: some records cannot be migrated (status 3).
    assert dry.returncode == 3, dry.stderr
    assert "Dry run: nothing was written" in dry.stdout
    assert "orphan_link" in dry.stdout
    assert list((tmp_path / "data" / "backfill-reports").glob("*-dry-run.json"))

    server.send_signal(signal.SIGINT)
    try:
        code = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the fake server did not stop on SIGINT: {_signals(server.pid)}")
    assert code == 0
