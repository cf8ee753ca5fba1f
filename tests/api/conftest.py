from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app


@pytest.fixture
async def client(settings: Settings, clean_database: object) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client
