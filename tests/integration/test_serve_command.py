"""README command 1, for real: `podium serve` on an embedded database answers /health, then stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.pg import free_port

from podium.adapters.postgres.embedded import EmbeddedPostgres
from tests.support.served import wait_healthy


def test_serve_runs_on_an_embedded_database_and_stops_it_on_sigterm(tmp_path: Path, server_tmp: Path) -> None:
    port = free_port()
    data_dir = server_tmp / "data"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")},
        "PODIUM_DATA_DIR": str(data_dir),
        "PODIUM_PORT": str(port),
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "podium", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        response = wait_healthy(f"http://127.0.0.1:{port}/health", process)
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) in (0, 128 + signal.SIGTERM), log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert not EmbeddedPostgres(data_dir / "postgres").is_running()
