"""Kill PostgreSQL under write traffic and bring it back: what clients see, and how fast it heals.

    uv run python -m bench.faults                    # 1 worker, 4 writers, 2 s outage
    uv run python -m bench.faults --workers 2 --writers 8 --down 3

A private embedded PostgreSQL (its own temp data directory) is migrated and ``podium serve`` pointed at
it with ``PODIUM_DATABASE_URL``. Writers sign users up in a loop; the server is stopped with
``pg_ctl stop -m immediate`` (a crash: no checkpoint, clients cut off), left down, started again (crash
recovery), and traffic goes on until writes succeed again. Printed: the answers by status; how many
requests sent after the kill failed; the slowest answer; whether every acknowledged sign-up is in the
database; and two times, both ending at the first acknowledged write (a 200) *among requests sent after
the restart* (a request sent during the outage and acknowledged after the restart does not count):

* outage: from the moment the first of the requests sent after the kill failed (an error status came
  back, or none did);
* recovery: from the restart (``pg_ctl start`` returned: PostgreSQL accepts connections again, its crash
  recovery done).

``tests/ops/test_faults.py`` runs the same scenario and asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench.pg import free_port
from podium.adapters.postgres.database import upgrade
from podium.adapters.postgres.embedded import EmbeddedPostgres

JWT_SECRET = "podium-faults-secret-not-for-production-0123456789"
TRANSPORT_ERROR = 0  # the status recorded when no HTTP answer came back (timeout, reset, refused)


@dataclass
class Serve:
    """A ``podium serve`` subprocess on a free loopback port, its output in ``log_path``."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"podium serve exited early:\n{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"podium serve did not become healthy in {timeout}s:\n{self.log()}")

    def terminate(self, timeout: float = 30.0) -> float:
        """SIGTERM, then the seconds until the process exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started

    def ensure_stopped(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_serve(
    log_path: Path, env: Mapping[str, str], *, workers: int = 1, port: int | None = None
) -> Serve:
    """Start ``podium serve`` with ``PODIUM_*`` taken only from ``env`` (never from the caller's)."""
    port = port or free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    command = [sys.executable, "-m", "podium", "serve", "--port", str(port), "--workers", str(workers)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, env={**clean, **env}, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return Serve(process, port, log_path)


@contextlib.contextmanager
def private_postgres(data_dir: Path, database: str = "podium") -> Iterator[EmbeddedPostgres]:
    """An embedded server of our own in ``data_dir``, with ``database`` migrated; stopped on exit."""
    server = EmbeddedPostgres(data_dir)
    server.start()
    try:
        server.create_database(database)
        upgrade(server.url(database))
        yield server
    finally:
        server.stop()
        server.kill()


@dataclass
class OutageReport:
    answers: list[tuple[float, float, int]] = field(default_factory=list)  # (sent, received, status)
    acknowledged: list[str] = field(default_factory=list)  # emails whose sign-up answered 2xx
    killed_at: float = 0.0
    restarted_at: float = 0.0
    missing: list[str] = field(default_factory=list)
    # The first HTTP error answer: status, body and Retry-After, to check what clients are told.
    failure_example: dict[str, object] | None = None

    @property
    def statuses(self) -> Counter[int]:
        return Counter(status for _, _, status in self.answers)

    @property
    def failed_during_outage(self) -> int:
        return sum(1 for sent, _, status in self.answers if sent >= self.killed_at and status // 100 != 2)

    @property
    def first_success_after_restart(self) -> float | None:
        after = [
            received for sent, received, status in self.answers if sent >= self.restarted_at and status == 200
        ]
        return min(after) if after else None

    @property
    def recovery_seconds(self) -> float | None:
        """From the restart returning to the first acknowledged write among requests sent after it."""
        first = self.first_success_after_restart
        return None if first is None else first - self.restarted_at

    @property
    def outage_seconds(self) -> float | None:
        """From the first failure among requests sent after the kill (an error status, or no answer) to
        the first acknowledged write among requests sent after the restart."""
        failures = [
            received for sent, received, s in self.answers if sent >= self.killed_at and s // 100 != 2
        ]
        first = self.first_success_after_restart
        return None if first is None or not failures else first - min(failures)

    @property
    def slowest_answer(self) -> float:
        return max((received - sent for sent, received, _ in self.answers), default=0.0)

    def summary(self) -> str:
        statuses = ", ".join(
            f"{'no answer' if code == TRANSPORT_ERROR else code}: {n}"
            for code, n in sorted(self.statuses.items())
        )
        recovery = "never" if self.recovery_seconds is None else f"{self.recovery_seconds:.2f} s"
        outage = "n/a" if self.outage_seconds is None else f"{self.outage_seconds:.2f} s"
        return "\n".join(
            [
                f"requests                 {len(self.answers)} ({statuses})",
                f"failed during the outage {self.failed_during_outage}  (requests sent after the kill)",
                f"outage seen by clients   {outage}  (first failed request sent after the kill"
                " → first 200 to a request sent after the restart)",
                f"recovery after restart   {recovery}  (PostgreSQL accepting connections again"
                " → first 200 to a request sent after that)",
                f"slowest answer           {self.slowest_answer:.2f} s",
                f"acknowledged sign-ups    {len(self.acknowledged)}, missing from the database: {len(self.missing)}",
            ]
        )


async def outage(
    base_url: str,
    server: EmbeddedPostgres,
    database: str = "podium",
    *,
    writers: int = 4,
    warmup_writes: int = 20,
    down_seconds: float = 2.0,
    after_recovery_seconds: float = 0.5,
    deadline_seconds: float = 15.0,
    request_timeout: float = 5.0,
) -> OutageReport:
    """Sign users up continuously; crash and restart ``server`` in the middle; check every 2xx is stored."""
    report = OutageReport()
    serial = itertools.count(1)
    stop = asyncio.Event()
    warmed_up = asyncio.Event()
    tag = f"{os.getpid()}-{int(time.time())}"

    async def writer(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            email = f"fault-{tag}-{next(serial)}@example.com"
            sent = time.monotonic()
            try:
                response = await client.post("/users/", json={"email": email, "first_name": "Fault"})
                status = response.status_code
                if status // 100 != 2 and report.failure_example is None:
                    report.failure_example = {
                        "status": status,
                        "body": response.text,
                        "retry_after": response.headers.get("retry-after"),
                    }
            except httpx.TransportError:
                status = TRANSPORT_ERROR
            report.answers.append((sent, time.monotonic(), status))
            if status // 100 == 2:
                report.acknowledged.append(email)
                if len(report.acknowledged) >= warmup_writes:
                    warmed_up.set()
            else:
                # A client backs off a little on errors; without it the loop only measures itself.
                await asyncio.sleep(0.02)

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=request_timeout) as client:
        tasks = [asyncio.create_task(writer(client)) for _ in range(writers)]
        try:
            await asyncio.wait_for(warmed_up.wait(), deadline_seconds)
            report.killed_at = time.monotonic()
            await asyncio.to_thread(server.kill)
            await asyncio.sleep(down_seconds)
            await asyncio.to_thread(server.start)
            report.restarted_at = time.monotonic()
            while time.monotonic() - started < deadline_seconds:
                first = report.first_success_after_restart
                if first is not None and time.monotonic() - first >= after_recovery_seconds:
                    break
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    connection = await asyncpg.connect(host=str(server.socket_dir), user="postgres", database=database)
    try:
        rows = await connection.fetch(
            "SELECT email FROM users WHERE email = ANY($1::text[])", report.acknowledged
        )
    finally:
        await connection.close()
    stored = {row["email"] for row in rows}
    report.missing = [email for email in report.acknowledged if email not in stored]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--writers", type=int, default=4, help="concurrent clients signing users up")
    parser.add_argument("--down", type=float, default=2.0, help="seconds the database stays down")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="podium-faults-") as tmp,
        private_postgres(Path(tmp) / "pg") as server,
    ):
        env = {
            "PODIUM_DATABASE_URL": server.url("podium"),
            "PODIUM_JWT_SECRET": JWT_SECRET,
            "PODIUM_DATA_DIR": str(Path(tmp) / "data"),
            "PODIUM_LOG_LEVEL": "WARNING",
            "PODIUM_DB_CONNECT_TIMEOUT": "1",
            "PODIUM_DB_POOL_TIMEOUT": "2",
        }
        serve = start_serve(Path(tmp) / "serve.log", env, workers=args.workers)
        try:
            serve.wait_healthy()
            report = asyncio.run(
                outage(
                    serve.base_url, server, writers=args.writers, down_seconds=args.down, deadline_seconds=30
                )
            )
            shutdown = serve.terminate()
        finally:
            serve.ensure_stopped()
    print(f"podium serve --workers {args.workers}, {args.writers} writers, database down {args.down:.1f} s")
    print(report.summary())
    print(f"shutdown after SIGTERM   {shutdown:.2f} s")


if __name__ == "__main__":
    main()
