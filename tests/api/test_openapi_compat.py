"""Compatibility of our OpenAPI document with the legacy one (issue 3): a client regenerated from ours keeps
every path, method, parameter, operation id, request field and response field the frontend uses."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import attend, mint, submit
from tests.support.openapi import Doc, operations_of

# The legacy backend's /openapi.json at b91dcd2 (the compatibility baseline), vendored unchanged.
LEGACY_OPENAPI = Path(__file__).parent / "data" / "legacy-openapi.json"


def _legacy_document() -> Doc:
    document: Doc = json.loads(LEGACY_OPENAPI.read_text())
    return document


LEGACY = operations_of(_legacy_document())
OPERATIONS = sorted(LEGACY)


@pytest.fixture(scope="module")
async def ours(settings: Settings) -> Doc:
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    document: Doc = response.json()
    return document


@pytest.fixture(scope="module")
def our_operations(ours: Doc) -> dict[tuple[str, str], Doc]:
    return operations_of(ours)


def _resolve(schema: Doc, document: Doc) -> Doc:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _field_paths(schema: Doc, document: Doc, prefix: str = "", depth: int = 0) -> tuple[set[str], set[str]]:
    """Every field reachable in a schema as a dotted path (``[]`` marks array items), and the paths of
    free-form objects (which may hold any field)."""
    schema = _resolve(schema, document)
    fields: set[str] = set()
    open_objects: set[str] = set()
    if depth > 6:
        return fields, open_objects
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            more, more_open = _field_paths(branch, document, prefix, depth + 1)
            fields |= more
            open_objects |= more_open
    if schema.get("type") == "array" and "items" in schema:
        more, more_open = _field_paths(schema["items"], document, prefix + "[]", depth + 1)
        fields |= more
        open_objects |= more_open
    properties = schema.get("properties")
    if properties:
        for name, sub in properties.items():
            path = f"{prefix}.{name}" if prefix else name
            fields.add(path)
            more, more_open = _field_paths(sub, document, path, depth + 1)
            fields |= more
            open_objects |= more_open
    elif schema.get("type") == "object" or "additionalProperties" in schema:
        open_objects.add(prefix)
    return fields, open_objects


def _covered(path: str, fields: set[str], open_objects: set[str]) -> bool:
    if path in fields:
        return True
    return any(path.startswith(f"{open_path}.") for open_path in open_objects)


def _json_schema(content_holder: Doc | None) -> Doc | None:
    if not content_holder:
        return None
    schema: Doc | None = content_holder.get("content", {}).get("application/json", {}).get("schema")
    return schema


def _parameters(operation: Doc) -> set[tuple[str, str, bool]]:
    return {
        (p["name"], p["in"], bool(p.get("required")))
        for p in operation.get("parameters", [])
        if p["in"] in ("query", "path")
    }


def _id(operation: tuple[str, str]) -> str:
    return f"{operation[0]} {operation[1]}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_every_legacy_operation_exists(operation: tuple[str, str], our_operations: dict[Any, Doc]) -> None:
    assert operation in our_operations


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_operation_ids_are_kept(operation: tuple[str, str], our_operations: dict[Any, Doc]) -> None:
    assert our_operations[operation].get("operationId") == LEGACY[operation]["operationId"]


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_parameters_keep_their_names_locations_and_requiredness(
    operation: tuple[str, str], our_operations: dict[Any, Doc]
) -> None:
    assert _parameters(our_operations[operation]) == _parameters(LEGACY[operation])


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if "requestBody" in LEGACY[op]], ids=_id)
def test_request_bodies_accept_every_legacy_field(
    operation: tuple[str, str], ours: Doc, our_operations: dict[Any, Doc]
) -> None:
    legacy_fields, _ = _field_paths(_json_schema(LEGACY[operation]["requestBody"]) or {}, _legacy_document())
    our_schema = _json_schema(our_operations[operation].get("requestBody"))
    assert our_schema is not None, "the operation lost its JSON body"
    our_fields, open_objects = _field_paths(our_schema, ours)
    missing = sorted(f for f in legacy_fields if not _covered(f, our_fields, open_objects))
    assert missing == []


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_responses_keep_every_legacy_field(
    operation: tuple[str, str], ours: Doc, our_operations: dict[Any, Doc]
) -> None:
    legacy_fields, _ = _field_paths(
        _json_schema(LEGACY[operation]["responses"]["200"]) or {}, _legacy_document()
    )
    our_schema = _json_schema(our_operations[operation]["responses"].get("200")) or {}
    our_fields, open_objects = _field_paths(our_schema, ours)
    missing = sorted(f for f in legacy_fields if not _covered(f, our_fields, open_objects))
    assert missing == []


def test_the_field_walk_sees_nested_legacy_fields() -> None:
    """Guard against a vacuous comparison: the walk reaches into arrays, refs and nullable unions."""
    legacy = _legacy_document()
    events, _ = _field_paths(_json_schema(LEGACY[("GET", "/events")]["responses"]["200"]) or {}, legacy)
    assert {"owned_events[].join_code", "attending_events[].max_votes_per_user"} <= events
    check, _ = _field_paths(_json_schema(LEGACY[("GET", "/projects/check/{check_id}")]["responses"]["200"]) or {}, legacy)  # fmt: skip
    assert "result.readme_result" in check


@pytest.mark.parametrize("path", ["/users/", "/users"])
async def test_sign_up_answers_with_and_without_the_trailing_slash(
    client: AsyncTestClient[Any], path: str
) -> None:
    email = f"slash{len(path)}@example.com"
    response = await client.post(path, json={"email": email, "first_name": "Sam"})
    assert response.status_code == 200, response.text
    verified = await client.get("/verify", params={"token": mint(email, "magic_link")})
    assert verified.json()["user"]["id"] == response.json()["id"]


@pytest.mark.parametrize("path", ["/events/", "/events", "/projects/mine", "/projects/mine/"])
async def test_collection_routes_answer_with_and_without_the_trailing_slash(
    client: AsyncTestClient[Any], sign_up: Any, path: str
) -> None:
    person = await sign_up()
    response = await client.get(path, headers=person.headers)
    assert response.status_code == 200, response.text


# The project card (PRODUCT §3.15): the legacy frontend spreads both name fields as arrays of strings.

PROJECT_SCHEMAS = ["ProjectPublic", "ProjectPrivate"]


@pytest.mark.parametrize("name", PROJECT_SCHEMAS)
def test_the_document_declares_both_team_name_fields_as_arrays_of_strings(ours: Doc, name: str) -> None:
    properties = ours["components"]["schemas"][name]["properties"]
    for field in ("owner_display_name", "collaborator_display_names"):
        assert properties[field]["type"] == "array", (field, properties[field])
        assert properties[field]["items"] == {"type": "string"}, (field, properties[field])


async def test_every_project_payload_carries_the_team_names_as_lists(
    settings: Settings, client: AsyncTestClient[Any], sign_up: Any, create_event: Any
) -> None:
    owner = await sign_up("Olive", display_name="Olive O.")
    mate = await sign_up("Max", display_name="Max M.")
    event = await create_event(owner, leaderboard_enabled=True)
    await attend(client, owner, event)
    await attend(client, mate, event)
    project = await submit(client, owner, event, "Alpha")
    joined = await client.post(
        "/projects/join", params={"join_code": project["join_code"]}, headers=mate.headers
    )
    assert joined.status_code == 200, joined.text

    path = f"/projects/{project['id']}"
    listings = f"/events/{event.id}/projects"
    updated = await client.put(path, json={"name": "Alpha"}, headers=owner.headers)
    admin = await client.get(f"/events/admin/{event.id}/leaderboard", headers=owner.headers)
    payloads = {
        "get project": [(await client.get(path)).json()],
        "update project": [updated.json()],
        "mine (owner)": (await client.get("/projects/mine", headers=owner.headers)).json(),
        "mine (collaborator)": (await client.get("/projects/mine", headers=mate.headers)).json(),
        "leaderboard": (await client.get(listings, params={"leaderboard": "true"})).json(),
        "listing": (await client.get(listings, params={"leaderboard": "false"})).json(),
        "admin leaderboard": admin.json(),
    }
    async with AsyncTestClient(app=create_app(replace(settings, leaderboard_cache=False))) as uncached:
        for leaderboard in ("true", "false"):
            response = await uncached.get(listings, params={"leaderboard": leaderboard})
            payloads[f"uncached listing, leaderboard={leaderboard}"] = response.json()
    for route, projects in payloads.items():
        assert len(projects) == 1, (route, projects)
        assert projects[0]["owner_display_name"] == ["Olive O."], route
        assert projects[0]["collaborator_display_names"] == ["Max M."], route
