"""The cutover day at legacy scale, timed step by step, with Airtable's 5 requests/second limit on.

    uv run python bench/cutover_timings.py

A fake Airtable at legacy scale (3365 users, 217 events, 767 projects, 1266 referrals, 2900 votes;
the server enforces 5 requests/second per base) and a throw-away embedded PostgreSQL. Each step runs
the operator's command (docs/cutover.md): export (JSON + CSV) → dry run → backup → backfill → serve →
smoke → a v2 window through the API (sign-ups, new events with projects and votes, edits, deletes) →
re-run (conflicts) → write-back (requests counted) → write-back again (nothing left to write) → a fresh
backfill of Airtable's new state. It prints each step's wall time; it asserts nothing. Bounded: about
two minutes, all on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
from click.testing import CliRunner
from sqlalchemy import text

from bench.pg import free_port
from podium.adapters.postgres.database import create_engine, upgrade
from podium.adapters.postgres.embedded import EmbeddedPostgres
from podium.cli import main as podium_main
from podium.config import Settings
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, LEGACY_SCALE, generate

SECRET = "bench-secret-" + "x" * 40
TIMES: list[tuple[str, float, str]] = []


def step(name: str, action: Callable[[], str]) -> None:
    started = time.perf_counter()
    note = action()
    TIMES.append((name, time.perf_counter() - started, note))
    print(f"{name:<34} {TIMES[-1][1]:7.2f} s  {note}", flush=True)


def cli(env: dict[str, str], *args: str, expect: tuple[int, ...] = (0,)) -> str:
    result = CliRunner().invoke(podium_main, list(args), env=env)
    if result.exit_code not in expect:
        raise SystemExit(f"podium {' '.join(args)} exited {result.exit_code}:\n{result.output}")
    return result.stdout


def token(email: str) -> dict[str, str]:
    claims = {"sub": email, "token_type": "access", "exp": int(time.time()) + 3600}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


def v2_window(base_url: str, url: str) -> str:
    """What a busy v2 window might hold: 40 sign-ups; 4 events, each with 10 attendees (its owner among
    them), of whom 5 submit a project each and the other 5 cast one vote each; 10 backfilled events
    renamed; 5 backfilled projects deleted."""
    requests = 0
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def ok(method: str, path: str, email: str | None = None, **kwargs: Any) -> Any:
            nonlocal requests
            requests += 1
            response = client.request(method, path, headers=token(email) if email else {}, **kwargs)
            if response.status_code != 200:
                raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
            return response.json()

        people = [f"bench{n}@v2.example" for n in range(40)]
        for n, email in enumerate(people):
            ok("POST", "/users/", json={"email": email, "first_name": f"B{n}", "display_name": f"Bench {n}"})
        for e in range(4):
            owner, crowd = people[e * 10], people[e * 10 : e * 10 + 10]
            event = ok("POST", "/events/", owner, json={"name": f"Born in v2 #{e}"})
            ok("PUT", f"/events/{event['id']}", owner, json={"votable": True, "leaderboard_enabled": True})
            for email in crowd:
                ok("POST", "/events/attend", email, params={"join_code": event["join_code"], "referral": ""})
            projects = [
                ok(
                    "POST",
                    "/projects/",
                    email,
                    json={
                        "name": f"P {email}",
                        "repo": "https://r",
                        "image_url": "https://i",
                        "demo": "https://d",
                        "event_id": event["id"],
                    },
                )
                for email in crowd[:5]
            ]
            for n, email in enumerate(crowd[5:]):
                ok(
                    "POST",
                    "/events/vote",
                    email,
                    json={"event": event["id"], "projects": [projects[n]["id"]]},
                )

        async def backfilled() -> tuple[list[Any], list[Any]]:
            engine = create_engine(Settings(), url)
            try:
                async with engine.connect() as connection:
                    events = (await connection.execute(text(
                        "SELECT e.id, u.email FROM events e JOIN users u ON u.id = e.owner_id "
                        "WHERE e.airtable_id IS NOT NULL ORDER BY e.airtable_id LIMIT 10"))).all()  # fmt: skip
                    projects = (await connection.execute(text(
                        "SELECT p.id, u.email FROM projects p JOIN users u ON u.id = p.owner_id "
                        "WHERE p.airtable_id IS NOT NULL ORDER BY p.airtable_id DESC LIMIT 5"))).all()  # fmt: skip
                return list(events), list(projects)
            finally:
                await engine.dispose()

        events, projects = asyncio.run(backfilled())
        for row in events:
            ok("PUT", f"/events/{row.id}", row.email, json={"name": "Renamed in v2", "votable": True})
        for row in projects:
            ok("DELETE", f"/projects/{row.id}", row.email)
    return f"{requests} API requests"


def run(url: str, fresh_url: str, data: Path) -> None:
    base = generate(seed=2024, scale=LEGACY_SCALE)
    with FakeAirtable({DEFAULT_BASE_ID: base.by_table_id()}, rate_limit=5, rate_limit_retry_after=30) as fake:
        env = {
            "PODIUM_DATABASE_URL": url, "PODIUM_DATA_DIR": str(data), "PODIUM_JWT_SECRET": SECRET,
            "PODIUM_LOG_LEVEL": "WARNING", "PODIUM_AIRTABLE_TOKEN": fake.token,
            "PODIUM_AIRTABLE_BASE_ID": DEFAULT_BASE_ID, "PODIUM_AIRTABLE_ENDPOINT_URL": fake.url,
            **{f"PODIUM_AIRTABLE_{str(t).upper()}_TABLE_ID": i for t, i in DEFAULT_TABLE_IDS.items()},
        }  # fmt: skip
        snapshot = data / "snapshot"
        step("1 export JSON + CSV (live read)",
             lambda: cli(env, "airtable", "export", str(snapshot), "--format", "json", "--format", "csv")
             .strip().splitlines()[-1][:60])  # fmt: skip
        step("2 dry run (snapshot)", lambda: cli(env, "backfill", "--from-snapshot", str(snapshot), "--dry-run",
                                                 expect=(0, 3)).splitlines()[-2])  # fmt: skip
        step("3 backup (empty database)", lambda: cli(env, "db", "backup", str(data / "before.dump")).strip())
        step("4 backfill (snapshot)", lambda: cli(env, "backfill", "--from-snapshot", str(snapshot),
                                                  expect=(0, 3)).splitlines()[-2])  # fmt: skip
        port = free_port()
        serve_env = {**os.environ, **env, "PODIUM_PORT": str(port)}
        with (data / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "podium", "serve"], env=serve_env, stdout=log, stderr=log
            )
        base_url = f"http://127.0.0.1:{port}"
        try:

            def wait() -> str:
                for _ in range(300):
                    try:
                        return f"/health {httpx.get(base_url + '/health', timeout=1).status_code}"
                    except httpx.TransportError:
                        time.sleep(0.1)
                raise SystemExit("podium serve did not start")

            step("5 serve (until /health answers)", wait)
            step(
                "6 smoke", lambda: cli(env, "smoke", base_url, "--allow-development").strip().splitlines()[-1]
            )
            step("7 v2 window through the API", lambda: v2_window(base_url, url))
            step("8 re-run backfill (live read)", lambda: next(
                line for line in cli(env, "backfill", expect=(3,)).splitlines() if "left as v2" in line)[:70])  # fmt: skip
            fake.reset_log()
            step("9 write-back", lambda: cli(env, "airtable", "write-back").splitlines()[-3])
            written = [r for r in fake.requests if r.method != "GET"]
            print(f"{'':<34}          write-back requests: {len(written)}, 429 answers: {fake.count(429)}")
            step("10 write-back again (nothing)", lambda: cli(env, "airtable", "write-back").splitlines()[-3])
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        fresh_env = {**env, "PODIUM_DATABASE_URL": fresh_url}
        step(
            "11 fresh backfill of Airtable (live)",
            lambda: cli(fresh_env, "backfill", expect=(0, 3)).splitlines()[-2],
        )
        print(f"{'total':<34} {sum(t for _, t, _ in TIMES):7.2f} s")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="podium-cutover-bench-"))
    server = EmbeddedPostgres(root / "pg")
    server.start()
    try:
        for name in ("cutover", "fresh"):
            server.create_database(name)
            upgrade(server.url(name))
        run(server.url("cutover"), server.url("fresh"), root / "data")
    finally:
        server.stop(mode="immediate")


if __name__ == "__main__":
    main()
