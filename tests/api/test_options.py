"""``OPTIONS`` on a resource lists every method it serves (Litestar 2 listed only some: litestar#4169)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

EVENT = "/events/3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/users/current", "GET, OPTIONS, PUT"),
        ("/events", "GET, OPTIONS, POST"),
        (EVENT, "DELETE, GET, OPTIONS, PUT"),
        ("/projects/3fa85f64-5717-4562-b3fc-2c963f66afa6", "DELETE, GET, OPTIONS, PUT"),
        ("/health", "GET, OPTIONS"),
    ],
)
async def test_options_allows_every_method_of_the_resource(
    client: AsyncTestClient[Any], path: str, allow: str
) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == allow


async def test_a_405_names_the_same_methods(client: AsyncTestClient[Any]) -> None:
    response = await client.patch(EVENT)
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["DELETE", "GET", "OPTIONS", "PUT"]
