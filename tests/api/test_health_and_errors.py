from __future__ import annotations

from dataclasses import replace

from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app


async def test_health_reports_a_reachable_database(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True}
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
