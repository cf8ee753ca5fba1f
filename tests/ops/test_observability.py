"""Issue 5.5: one JSON log line per request (request id, user id, latency, status) and ``GET /metrics``."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from podium.logging import JsonFormatter
from tests.ops.conftest import SignUp


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "podium.request"]


async def test_each_request_logs_one_json_line_with_its_id_user_latency_and_status(
    client: AsyncTestClient[Any], sign_up: SignUp, caplog: pytest.LogCaptureFixture
) -> None:
    person = await sign_up()
    caplog.set_level(logging.INFO, logger="podium.request")
    caplog.clear()
    mine = await client.get("/users/current", headers={**person.headers, "X-Request-ID": "trace-42"})
    anonymous = await client.get("/no/such/route")

    first, second = request_lines(caplog)
    assert mine.headers["x-request-id"] == "trace-42"
    assert first["request_id"] == "trace-42"
    assert first["user_id"] == person.id
    assert first["status"] == 200
    assert first["method"] == "GET"
    assert first["path"] == "/users/current"
    assert first["latency_ms"] >= 0
    assert second["request_id"] == anonymous.headers["x-request-id"]
    assert second["user_id"] is None
    assert second["status"] == 404


def sample(metrics: str, name: str, **labels: str) -> float:
    """One sample's value from a Prometheus text page (0 when absent); labels match in any order."""
    for family in text_string_to_metric_families(metrics):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


async def test_metrics_count_requests_by_route_and_status_with_latency_and_pool_state(
    client: AsyncTestClient[Any], sign_up: SignUp
) -> None:
    person = await sign_up()
    before = (await client.get("/metrics")).text
    for _ in range(3):
        await client.get("/users/current", headers=person.headers)
    await client.get("/users/current")
    await client.get("/no/such/route")
    response = await client.get("/metrics")
    after = response.text

    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    route = {"method": "GET", "route": "/users/current"}

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("podium_http_requests_total", **route, status="2xx") == 3
    assert delta("podium_http_requests_total", **route, status="4xx") == 1
    assert delta("podium_http_requests_total", method="GET", route="<unmatched>", status="4xx") == 1
    assert delta("podium_http_request_duration_seconds_count", **route) == 4
    assert delta("podium_http_request_duration_seconds_bucket", **route, le="+Inf") == 4
    assert 'podium_errors_total{kind="database_unavailable"}' in after
    assert sample(after, "podium_workers") == 1
    assert re.search(r'^podium_db_pool_size\{worker="\d+"\} \d+(\.\d+)?$', after, re.MULTILINE)
    assert re.search(r'^podium_db_pool_checked_out\{worker="\d+"\} \d+(\.\d+)?$', after, re.MULTILINE)


async def test_metrics_sends_prometheus_content_type_exactly_once(client: AsyncTestClient[Any]) -> None:
    """Issue 12.8: it was ``text/plain; version=0.0.4; charset=utf-8; charset=utf-8``."""
    response = await client.get("/metrics")
    assert response.headers.get_list("content-type") == ["text/plain; version=0.0.4; charset=utf-8"]


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/metrics",
        "/schema",
        "/schema/openapi.json",
        "/schema/assets/swagger-ui.css",
        "/schema/assets/swagger-ui-bundle.js",
        "/no/such/route",
        "/users/current",
    ],
)
async def test_no_response_names_its_charset_twice(client: AsyncTestClient[Any], path: str) -> None:
    (content_type,) = (await client.get(path)).headers.get_list("content-type")
    assert content_type.count("charset=") <= 1, content_type
