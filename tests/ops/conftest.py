"""Operations tests: real ``podium serve`` subprocesses on loopback, and in-process app checks.

Every process a test starts is stopped at teardown, and every embedded server it owns as well.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from bench.faults import Serve, private_postgres, start_serve
from litestar.testing import AsyncTestClient

from podium.adapters.postgres.embedded import EmbeddedPostgres
from podium.cli import EMBEDDED_DATABASE
from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import Person, mint
from tests.conftest import TEST_SECRET, server_folder

StartServe = Callable[..., Serve]


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[StartServe]:
    """Start ``podium serve`` subprocesses; all of them (and their embedded servers) end with the test."""
    started: list[tuple[Serve, Path | None]] = []

    def start(env: Mapping[str, str], *, workers: int = 1, data_dir: Path | None = None) -> Serve:
        full = {
            "PODIUM_JWT_SECRET": TEST_SECRET,
            "PODIUM_DATA_DIR": str(data_dir or tmp_path / "data"),
            **env,
        }
        serve = start_serve(tmp_path / f"serve-{len(started) + 1}.log", full, workers=workers)
        started.append((serve, None if "PODIUM_DATABASE_URL" in env else Path(full["PODIUM_DATA_DIR"])))
        return serve

    yield start
    for serve, data_dir in started:
        workers = children_of(serve.process.pid)
        serve.ensure_stopped()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if data_dir is not None:
            EmbeddedPostgres(data_dir / "postgres").kill()


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="session")
def ops_data_dir() -> Iterator[Path]:
    """A ``PODIUM_DATA_DIR`` whose embedded cluster (``postgres/``) is initialised and migrated once.

    It is not the session's test server: the tests here crash, kill and restart it. Each test leaves
    it stopped. Outside pytest's base folder, which any pytest run starting meanwhile makes private
    again (``tests.conftest.server_folder``).
    """
    with server_folder("podium-ops-") as root:
        data_dir = root / "data"
        with private_postgres(data_dir / "postgres", EMBEDDED_DATABASE):
            pass
        yield data_dir


def app_client(settings: Settings, **changes: Any) -> AsyncTestClient[Any]:
    from dataclasses import replace

    return AsyncTestClient(app=create_app(replace(settings, **changes)))


@pytest.fixture
async def client(settings: Settings, clean_database: object) -> AsyncIterator[AsyncTestClient[Any]]:
    async with app_client(settings) as client:
        yield client


_serial = itertools.count(1)
SignUp = Callable[[], Awaitable[Person]]


async def person(client: AsyncTestClient[Any], email: str | None = None) -> Person:
    """Sign someone up and log them in through a magic link, as the frontend does."""
    email = email or f"ops{next(_serial)}@example.com"
    created = await client.post("/users/", json={"email": email, "first_name": "Ops"})
    assert created.status_code == 200, created.text
    verified = await client.get("/verify", params={"token": mint(email, "magic_link")})
    assert verified.status_code == 200, verified.text
    return Person(created.json()["id"], email, verified.json()["access_token"], "Ops")


@pytest.fixture
def sign_up(client: AsyncTestClient[Any]) -> SignUp:
    return lambda: person(client)
