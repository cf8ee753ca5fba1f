"""Issue 5.1: PostgreSQL crashes and comes back while users sign up → 503s, then recovery, no lost write."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench.faults import outage, private_postgres

from tests.conftest import TEST_SECRET
from tests.ops.conftest import StartServe


async def test_a_database_crash_answers_503_then_heals_without_losing_an_acknowledged_write(
    ops_data_dir: Path, serve_factory: StartServe
) -> None:
    with private_postgres(ops_data_dir / "postgres") as server:
        serve = serve_factory(
            {
                "PODIUM_DATABASE_URL": server.url("podium"),
                "PODIUM_DB_CONNECT_TIMEOUT": "1",
                "PODIUM_DB_POOL_TIMEOUT": "2",
            }
        )
        await asyncio.to_thread(serve.wait_healthy)
        report = await outage(serve.base_url, server, down_seconds=0.5, deadline_seconds=15)
        alive_after = serve.process.poll() is None
    print(f"\n{report.summary()}")

    assert alive_after, serve.log()
    # During the outage: 503 (never a 500, never a hang or a dropped connection).
    assert set(report.statuses) <= {200, 503}, report.summary()
    assert report.failed_during_outage > 0
    assert report.failure_example is not None
    assert report.failure_example["retry_after"] == "1"
    assert json.loads(str(report.failure_example["body"])) == {
        "detail": "The service is temporarily unavailable, please retry shortly"
    }
    # Afterwards: healed by itself, and every acknowledged sign-up is stored.
    assert report.recovery_seconds is not None, report.summary()
    assert report.missing == []
    assert "Traceback" not in serve.log()
    assert TEST_SECRET not in serve.log()
