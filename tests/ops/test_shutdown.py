"""Issue 5.2: SIGTERM drains in-flight requests (bounded) and stops the pool and the embedded server;
after a SIGKILL nothing is left running for long, and the next start recovers the data directory."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from bench.faults import Serve

from podium.adapters.postgres.embedded import EmbeddedPostgres
from podium.cli import EMBEDDED_DATABASE
from tests.ops.conftest import StartServe, children_of

SHUTDOWN_EXIT_CODES = (0, 128 + signal.SIGTERM)


@contextlib.asynccontextmanager
async def users_table_locked(server: EmbeddedPostgres) -> AsyncIterator[asyncpg.Connection]:
    """Hold an exclusive lock on ``users``: a sign-up then waits inside the service until released."""
    connection = await asyncpg.connect(
        host=str(server.socket_dir), user="postgres", database=EMBEDDED_DATABASE
    )
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
    try:
        yield connection
    finally:
        with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            await transaction.rollback()
        with contextlib.suppress(Exception):
            await connection.close(timeout=2)


async def wait_for_blocked_request(connection: asyncpg.Connection) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'podium' AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the request never reached the database")


async def logged(serve: Serve, line: str, seconds: float = 30.0) -> None:
    """Wait until ``serve`` has logged ``line`` (a guard against a hang, not a timing check)."""
    deadline = time.monotonic() + seconds
    while line not in serve.log():
        if time.monotonic() > deadline:
            raise AssertionError(f"podium serve never logged {line!r}:\n{serve.log()}")
        await asyncio.sleep(0.05)


def all_exited(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def server_log_since(server: EmbeddedPostgres, offset: int) -> str:
    return (server.data_dir / "server.log").read_bytes()[offset:].decode(errors="replace")


async def test_sigterm_finishes_the_in_flight_request_then_closes_the_pool_and_the_database(
    ops_data_dir: Path, serve_factory: StartServe
) -> None:
    server = EmbeddedPostgres(ops_data_dir / "postgres")
    serve = serve_factory({"PODIUM_SHUTDOWN_TIMEOUT_SECONDS": "10"}, data_dir=ops_data_dir)
    await asyncio.to_thread(serve.wait_healthy)
    log_offset = (server.data_dir / "server.log").stat().st_size
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=15) as client:
        async with users_table_locked(server) as locker:
            in_flight = asyncio.create_task(
                client.post("/users/", json={"email": "draining@example.com", "first_name": "Drain"})
            )
            await wait_for_blocked_request(locker)
            started = time.monotonic()
            serve.process.send_signal(signal.SIGTERM)
            # uvicorn logs this, then closes its listening socket before it next yields: from then on no
            # new connection is answered (a fixed wait could end before a busy box ran the handler).
            await logged(serve, "Shutting down")
            await asyncio.sleep(1.0)
            # Still draining: the process waits for the request, but takes no new connections.
            assert serve.process.poll() is None
            with pytest.raises(httpx.TransportError):
                await client.get("/health", timeout=1)
        response = await in_flight
        exit_code = await asyncio.to_thread(serve.process.wait, 20)
    shutdown_seconds = time.monotonic() - started
    print(f"\nshutdown with one in-flight request (held 1 s): {shutdown_seconds:.2f} s")

    assert response.status_code == 200, response.text
    assert exit_code in SHUTDOWN_EXIT_CODES, serve.log()
    assert not server.is_running()
    log = server_log_since(server, log_offset)
    assert "database system is shut down" in log
    # The pool was closed before the server stopped: no session had to be cut off by the shutdown.
    assert "terminating connection due to administrator command" not in log


async def test_sigterm_cancels_a_request_that_outlives_the_shutdown_timeout(
    ops_data_dir: Path, serve_factory: StartServe
) -> None:
    server = EmbeddedPostgres(ops_data_dir / "postgres")
    serve = serve_factory({"PODIUM_SHUTDOWN_TIMEOUT_SECONDS": "1"}, data_dir=ops_data_dir)
    await asyncio.to_thread(serve.wait_healthy)
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=15) as client:
        async with users_table_locked(server) as locker:
            stuck = asyncio.create_task(
                client.post("/users/", json={"email": "stuck@example.com", "first_name": "S"})
            )
            await wait_for_blocked_request(locker)
            started = time.monotonic()
            serve.process.send_signal(signal.SIGTERM)
            exit_code = await asyncio.to_thread(serve.process.wait, 20)
            shutdown_seconds = time.monotonic() - started
        with contextlib.suppress(httpx.TransportError):
            await stuck
    print(f"\nshutdown with a request stuck past the 1 s timeout: {shutdown_seconds:.2f} s")

    assert exit_code in SHUTDOWN_EXIT_CODES, serve.log()
    assert not server.is_running()


async def test_after_a_sigkill_the_workers_exit_and_the_next_start_takes_over_the_database(
    ops_data_dir: Path, serve_factory: StartServe
) -> None:
    server = EmbeddedPostgres(ops_data_dir / "postgres")
    killed = serve_factory({}, data_dir=ops_data_dir, workers=2)
    await asyncio.to_thread(killed.wait_healthy)
    # Two workers (and multiprocessing's resource tracker).
    workers = children_of(killed.process.pid)
    assert len(workers) >= 2

    killed.process.kill()
    killed.process.wait(timeout=10)
    assert await asyncio.to_thread(all_exited, workers, 15), "orphaned child processes"
    # The postmaster outlives a SIGKILLed service; its owner is gone, so the next start replaces it.
    assert server.is_running()
    assert server.owner() is None
    assert await asyncio.to_thread(_metrics_dirs_of, killed.process.pid), "the killed supervisor's"

    restarted = serve_factory({}, data_dir=ops_data_dir)
    await asyncio.to_thread(restarted.wait_healthy)
    assert server.owner() == restarted.process.pid
    assert not await asyncio.to_thread(_metrics_dirs_of, killed.process.pid)  # removed by the next start
    async with httpx.AsyncClient(base_url=restarted.base_url, timeout=10) as client:
        response = await client.post("/users/", json={"email": "after-kill@example.com", "first_name": "K"})
    assert response.status_code == 200, response.text
    stop_seconds = await asyncio.to_thread(restarted.terminate, 60)
    print(f"\nthe next start, stopped by SIGTERM: {stop_seconds:.2f} s")
    assert restarted.process.returncode in SHUTDOWN_EXIT_CODES, restarted.log()
    assert "stopping a leftover embedded PostgreSQL" in restarted.log()
    assert not server.is_running()


def _metrics_dirs_of(supervisor_pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"podium-metrics-{supervisor_pid}-*"))


@pytest.mark.parametrize(
    ("workers", "signum", "status"),
    [(1, signal.SIGINT, 130), (1, signal.SIGTERM, 143), (2, signal.SIGINT, 0), (2, signal.SIGTERM, 0)],
)
async def test_the_exit_status_after_a_stop_signal_is_the_documented_one(
    ops_data_dir: Path, serve_factory: StartServe, workers: int, signum: signal.Signals, status: int
) -> None:
    """docs/operations.md: with one worker 128 + the signal (Ctrl-C 130, not "0 or 143" as it said:
    issue 12.8); with several, uvicorn's supervisor handles the signal and exits 0."""
    server = EmbeddedPostgres(ops_data_dir / "postgres")
    serve = serve_factory({}, data_dir=ops_data_dir, workers=workers)
    await asyncio.to_thread(serve.wait_healthy)
    serve.process.send_signal(signum)
    assert await asyncio.to_thread(serve.process.wait, 20) == status, serve.log()
    assert not server.is_running()
