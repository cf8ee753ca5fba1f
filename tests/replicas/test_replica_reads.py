"""Public reads on a streaming replica, only when it provably holds every acknowledged change (issue 17)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
from bench.pg import free_port, start_replica, stop_replica
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import Person, SignUp, attend, mint, submit
from tests.replicas.conftest import Replicated, on_replica, stats


async def _vote(client: AsyncTestClient[Any], voter: Person, event_id: str, project_id: str) -> None:
    response = await client.post(
        "/events/vote", json={"event": event_id, "projects": [project_id]}, headers=voter.headers
    )
    assert response.status_code == 200, response.text


async def _board(client: AsyncTestClient[Any], event_id: str) -> list[tuple[str, int]]:
    response = await client.get(f"/events/{event_id}/projects", params={"leaderboard": "true"})
    assert response.status_code == 200, response.text
    return [(p["name"], p["points"]) for p in response.json()]


async def _get(client: AsyncTestClient[Any], path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_public_reads_are_answered_by_a_replica_that_has_caught_up(
    client: AsyncTestClient[Any], replicated: Replicated, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner, "Replica Jam", leaderboard_enabled=True)
    await attend(client, owner, event)
    project = await submit(client, owner, event, "Alpha")
    await replicated.caught_up()
    before = Counter(stats(client).reads)

    # Each public read is answered by the replica once it has caught up (on_replica: what may send one
    # to the primary meanwhile, and asks it again).
    assert (await on_replica(client, replicated, f"/events/{event.id}"))["name"] == "Replica Jam"
    assert await on_replica(client, replicated, f"/events/id/{event.slug}") == event.id
    assert (await on_replica(client, replicated, f"/projects/{project['id']}"))["name"] == "Alpha"
    assert (await on_replica(client, replicated, f"/users/{owner.id}"))["display_name"] == owner.display_name
    board = await on_replica(client, replicated, f"/events/{event.id}/projects", {"leaderboard": "true"})
    assert [(p["name"], p["points"]) for p in board] == [("Alpha", 0)]
    assert (Counter(stats(client).reads) - before)[replicated_name(client)] >= 4
    after = Counter(stats(client).reads)
    # The caller's own profile and a login stay on the primary: no public read is counted for them.
    assert (await client.get("/users/current", headers=owner.headers)).status_code == 200
    link = mint(owner.email, "magic_link", minutes=20)
    assert (await client.get("/verify", params={"token": link})).status_code == 200
    assert (await client.get("/verify", params={"token": link})).status_code == 400  # consumed at once
    assert Counter(stats(client).reads) == after


def _samples(page: str) -> dict[tuple[str, str], float]:
    """The replica counters of a /metrics page, by (sample name, its one label's value)."""
    out = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name.startswith("podium_db_") and len(sample.labels) == 1:
                out[(sample.name, next(iter(sample.labels.values())))] = sample.value
    return out


def replicated_name(client: AsyncTestClient[Any]) -> str:
    router = client.app.state.container.uow.replicas
    return str(router.replicas[0].name)


async def test_reads_stay_exact_while_the_replica_replays_nothing(
    client: AsyncTestClient[Any], replicated: Replicated, sign_up: SignUp, create_event: Any
) -> None:
    # The metrics registry lives as long as the test process: this test's counts are what it adds.
    baseline = _samples((await client.get("/metrics")).text)
    owner, alice = await sign_up("Olive"), await sign_up("Alice")
    event = await create_event(owner, "Before", votable=True, leaderboard_enabled=True)
    for person in (owner, alice):
        await attend(client, person, event)
    alpha = await submit(client, owner, event, "Alpha")
    # Cached, from the replica; which is then not skipped: the first read below probes it.
    board = await on_replica(client, replicated, f"/events/{event.id}/projects", {"leaderboard": "true"})
    assert [(p["name"], p["points"]) for p in board] == [("Alpha", 0)]

    await replicated.replica_sql("SELECT pg_wal_replay_pause()")
    try:
        await _vote(client, alice, event.id, alpha["id"])
        renamed = await client.put(f"/events/{event.id}", json={"name": "After"}, headers=owner.headers)
        assert renamed.status_code == 200
        edited = await client.put(f"/projects/{alpha['id']}", json={"name": "Aleph"}, headers=owner.headers)
        assert edited.status_code == 200
        profile = await client.put(
            "/users/current", json={"display_name": "Olive Two"}, headers=owner.headers
        )
        assert profile.status_code == 200
        # The replica really is behind: a read there would be stale.
        assert await replicated.replica_sql(f"SELECT name FROM events WHERE id = '{event.id}'") == "Before"
        before = Counter(stats(client).reads)

        assert await _board(client, event.id) == [("Aleph", 1)]
        assert (await _get(client, f"/events/{event.id}"))["name"] == "After"
        assert (await _get(client, f"/projects/{alpha['id']}"))["name"] == "Aleph"
        assert (await _get(client, f"/users/{owner.id}"))["display_name"] == "Olive Two"

        assert Counter(stats(client).reads) - before == {"primary": 4}
        assert stats(client).fallbacks["behind"] >= 1
        # Past PODIUM_REPLICA_MAX_LAG_MS (500 ms here) the replica is skipped without asking it each time:
        # the read that probes it finds it lagging, the reads after it (for LAG_RECHECK_SECONDS) skip it.
        # On a busy box a read may take longer than that recheck and probe again: reads go on until one
        # is counted as lagging.
        await asyncio.sleep(0.6)
        for _ in range(20):
            assert (await _get(client, f"/events/{event.id}"))["name"] == "After"
            if stats(client).fallbacks["lagging"]:
                break
        assert stats(client).fallbacks["lagging"] >= 1
        assert set(Counter(stats(client).reads) - before) == {"primary"}
    finally:
        await replicated.replica_sql("SELECT pg_wal_replay_resume()")

    # Caught up again, and once its recheck is due, the replica answers again.
    assert (await on_replica(client, replicated, f"/events/{event.id}", cache=False))["name"] == "After"

    metrics = (await client.get("/metrics")).text
    added = {key: value - baseline.get(key, 0.0) for key, value in _samples(metrics).items()}
    reads = stats(client).reads
    assert added[("podium_db_public_reads_total", "primary")] == reads["primary"]
    assert added[("podium_db_public_reads_total", replicated_name(client))] == reads[replicated_name(client)]
    assert added[("podium_db_replica_fallbacks_total", "behind")] == stats(client).fallbacks["behind"]
    assert re.search(r'podium_db_replica_lag_milliseconds\{replica="[^"]+",worker="\d+"\} [\d.]+', metrics)
    assert re.search(r'podium_db_replica_up\{replica="[^"]+",worker="\d+"\} 1\.0', metrics)


async def test_a_replica_that_refuses_connections_is_skipped_and_tried_again_later(
    replica_settings: Settings, clean_primary: None
) -> None:
    refusing = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/podium"
    settings = replace(replica_settings, database_replica_urls=(refusing,))
    async with AsyncTestClient(app=create_app(settings)) as client:
        created = await client.post("/users/", json={"email": "r@example.com", "first_name": "R"})
        assert created.status_code == 200
        user_id = created.json()["id"]
        statuses = Counter()
        started = time.monotonic()
        while time.monotonic() - started < 1.5:
            answers = await asyncio.gather(*(client.get(f"/users/{user_id}") for _ in range(10)))
            statuses.update(answer.status_code for answer in answers)
        assert set(statuses) == {200}
        replica_stats = stats(client)
        assert replica_stats.reads == {"primary": sum(statuses.values())}
        # Backoff: a handful of attempts (0.5 s, then 1 s...), not one per read.
        assert 1 <= replica_stats.probes <= 4
        assert replica_stats.fallbacks["down"] >= sum(statuses.values()) - 10 * replica_stats.probes


async def test_a_replica_stopped_mid_load_fails_no_request_and_serves_again_once_back(
    live: tuple[str, Litestar], replicated: Replicated
) -> None:
    base, app = live
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        owner = await sign_up_over_http(client)
        created = await client.post("/events/", json={"name": "Outage"}, headers=owner)
        event = created.json()
        joined = await client.post(
            "/events/attend", params={"join_code": event["join_code"], "referral": ""}, headers=owner
        )
        assert joined.status_code == 200, joined.text
        body = {"name": "Alpha", "repo": "https://g/x", "image_url": "https://i/x.png", "demo": "https://d",
                "event_id": event["id"]}  # fmt: skip
        project = (await client.post("/projects/", json=body, headers=owner)).json()
        await replicated.caught_up()
        paths = [f"/events/{event['id']}", f"/events/id/{event['slug']}", f"/projects/{project['id']}"]
        statuses: Counter[int] = Counter()
        stop = asyncio.Event()

        async def reader(n: int) -> None:
            while not stop.is_set():
                response = await client.get(paths[n % len(paths)])
                statuses[response.status_code] += 1
                n += 1

        async def writer() -> None:
            for n in range(2_000):
                if stop.is_set():
                    return
                changed = await client.put(
                    f"/events/{event['id']}", json={"description": f"d{n}"}, headers=owner
                )
                statuses[changed.status_code] += 1
                await asyncio.sleep(0.02)

        name = app.state.container.uow.replicas.replicas[0].name

        def failed_over() -> int:
            return stats(app).fallbacks["error"] + stats(app).fallbacks["down"]

        tasks = [asyncio.create_task(reader(n)) for n in range(8)] + [asyncio.create_task(writer())]
        try:
            # Reads go on until the replica has answered some (on a busy box it may lag at first), then
            # until it has been found stopped, then until it answers again once back: the backoff in
            # force when it came back, then a probe. Each wait is bounded (20 s), not a timing check.
            await eventually(lambda: stats(app).reads[name] > 0)
            served_before_stop = stats(app).reads[name]
            await asyncio.to_thread(stop_replica, replicated.replica)
            await eventually(lambda: failed_over() > 0)
            failed_over_while_down = failed_over()
            await asyncio.to_thread(start_replica, replicated.replica)
            served_after_restart = stats(app).reads[name]
            await eventually(lambda: stats(app).reads[name] > served_after_restart)
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    assert set(statuses) == {200}, statuses
    assert served_before_stop > 0
    assert failed_over_while_down > 0
    assert stats(app).reads[name] > served_after_restart, "the replica was not used again once back"


async def eventually(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Wait until ``condition`` holds, at most ``seconds`` (the caller asserts it afterwards)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


async def sign_up_over_http(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"live{time.monotonic_ns()}@example.com"
    created = await client.post("/users/", json={"email": email, "first_name": "Live"})
    assert created.status_code == 200, created.text
    return {"Authorization": f"Bearer {mint(email)}"}
