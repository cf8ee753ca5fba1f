from __future__ import annotations

from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app


async def test_health_reports_a_reachable_database(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "environment": "development"}
    assert response.headers["x-request-id"]


async def test_health_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = replace(
        settings,
        database_url="postgresql+asyncpg://postgres@/nowhere?host=/nonexistent-socket-dir",
        db_connect_timeout=1.0,
    )
    async with AsyncTestClient(app=create_app(unreachable)) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] is False


async def test_the_openapi_document_is_served(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Podium"


async def test_unknown_routes_answer_404_with_a_detail(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


async def test_cors_echoes_any_origin_with_credentials(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.options(
        "/health",
        headers={"Origin": "https://podium.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] in ("*", "https://podium.example")
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_the_document_declares_422_validation_errors_where_the_legacy_one_did(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    import json
    from pathlib import Path

    legacy = json.loads((Path(__file__).parent / "data" / "legacy-openapi.json").read_text())
    ours = (await client.get("/schema/openapi.json")).json()
    expected = {
        (path.rstrip("/") or "/", method)
        for path, item in legacy["paths"].items()
        for method, operation in item.items()
        if "422" in operation.get("responses", {})
    }
    declared = {
        (path, method)
        for path, item in ours["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and operation.get("responses", {})
        .get("422", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
        == {"$ref": "#/components/schemas/HTTPValidationError"}
    }
    assert expected <= declared
    assert "ValidationError" in ours["components"]["schemas"]


class _DriverError(Exception):
    """A driver exception as asyncpg's carry their SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _exceptions_from_racing_requests() -> dict[str, tuple[Exception, int]]:
    from advanced_alchemy import exceptions as aa
    from sqlalchemy import exc as sa
    from sqlalchemy.orm.exc import StaleDataError

    return {
        "aa-not-found": (aa.NotFoundError("No item found when one was expected"), 404),
        "sa-no-result": (sa.NoResultFound("No row was found when one was required"), 404),
        "stale-data": (StaleDataError("DELETE statement on table 'projects' expected 1 row; 0 matched"), 404),
        "aa-multiple": (aa.MultipleResultsFoundError("Multiple rows"), 409),
        "sa-multiple": (sa.MultipleResultsFound("Multiple rows"), 409),
        "aa-integrity": (aa.IntegrityError("conflict"), 409),
        "aa-duplicate": (aa.DuplicateKeyError("duplicate"), 409),
        "aa-foreign-key": (aa.ForeignKeyError("missing parent"), 409),
        "deadlock": (sa.OperationalError("UPDATE …", {}, _DriverError("40P01")), 409),
        "serialization": (sa.DBAPIError("UPDATE …", {}, _DriverError("40001")), 409),
    }


@pytest.mark.parametrize("name", list(_exceptions_from_racing_requests()))
async def test_what_a_racing_request_can_meet_in_the_database_is_a_4xx(name: str) -> None:
    """The error mapper's backstop: rows gone under a request are a 404, conflicts and deadlocks a 409
    (retry), never a 500 — whichever layer (SQLAlchemy, Advanced Alchemy) raises them."""
    from litestar import Litestar, get

    from podium.http.errors import EXCEPTION_HANDLERS

    error, status = _exceptions_from_racing_requests()[name]

    @get("/raise")
    async def raising() -> None:
        raise error

    app = Litestar(route_handlers=[raising], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/raise")
    assert response.status_code == status, response.text
    assert isinstance(response.json()["detail"], str)
