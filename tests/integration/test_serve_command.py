"""README command 1, for real: `podium serve` on an embedded database answers /health, then stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from podium.adapters.postgres.embedded import EmbeddedPostgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "podium serve exited early"
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("podium serve did not answer in time")


def test_serve_runs_on_an_embedded_database_and_stops_it_on_sigterm(tmp_path: Path, server_tmp: Path) -> None:
    port = _free_port()
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
        response = _wait_healthy(f"http://127.0.0.1:{port}/health", process)
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) in (0, 128 + signal.SIGTERM), log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert not EmbeddedPostgres(data_dir / "postgres").is_running()
