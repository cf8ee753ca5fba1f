"""The OpenAPI document says what the API really answers to invalid input: 422 with FastAPI's body.

Litestar documents request-validation failures as a 400 with its own body; our error mapper answers them
with the legacy 422 ``{"detail": [{"loc", "msg", "type"}]}`` (PRODUCT §3.1), and a client generated from
the document must know that. The 400 entries Litestar adds for validation are replaced accordingly.

It also says how to authenticate (the legacy ``HTTPBearer`` scheme, on every operation whose handler is
marked ``opt={AUTHENTICATE: True}``, see ``http/auth.py``) and what every other error looks like: ``{"detail": "<message>"}``, the
body of each 4xx/5xx the error mapper writes (401, 403, 404, 409, 429, 503 …), as the ``default``
response. A domain 422 (a rule, not a field's shape) has a string ``detail``: the 422 schema says so.
"""

from __future__ import annotations

from collections.abc import Collection

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityScheme,
)

VALIDATION_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    title="ValidationError",
    required=["loc", "msg", "type"],
    properties={
        "loc": Schema(
            type=OpenAPIType.ARRAY,
            title="Location",
            items=Schema(one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.INTEGER)]),
        ),
        "msg": Schema(type=OpenAPIType.STRING, title="Message"),
        "type": Schema(type=OpenAPIType.STRING, title="Error Type"),
    },
)
HTTP_VALIDATION_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    title="HTTPValidationError",
    properties={
        # Field errors, or the message of a rule a well-formed body broke (a domain 422).
        "detail": Schema(
            title="Detail",
            any_of=[
                Schema(type=OpenAPIType.ARRAY, items=Reference("#/components/schemas/ValidationError")),
                Schema(type=OpenAPIType.STRING),
            ],
        )
    },
)
HTTP_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    title="HTTPError",
    required=["detail"],
    properties={"detail": Schema(type=OpenAPIType.STRING, title="Detail")},
)
BEARER = "HTTPBearer"
_LITESTAR_VALIDATION = "Validation Exception"


def document_auth_and_errors(document: OpenAPI, authenticated: Collection[str]) -> None:
    """Declare the bearer scheme, require it on the ``authenticated`` operation ids, and document the
    ``{"detail": ...}`` body of every other error (in place)."""
    components = document.components if isinstance(document.components, Components) else Components()
    document.components = components
    components.schemas = {**(components.schemas or {}), "HTTPError": HTTP_ERROR}
    components.security_schemes = {
        **(components.security_schemes or {}),
        BEARER: SecurityScheme(type="http", scheme="bearer"),
    }
    error = Reference("#/components/schemas/HTTPError")
    default = OpenAPIResponse(
        description="Error", content={"application/json": OpenAPIMediaType(schema=error)}
    )
    for operation in _operations(document):
        if operation.operation_id in authenticated:
            operation.security = [{BEARER: []}]
        responses = operation.responses = operation.responses or {}
        responses.setdefault("default", default)


def document_validation_errors(document: OpenAPI) -> None:
    """Replace Litestar's validation 400s by the 422 the API answers (in place)."""
    components = document.components if isinstance(document.components, Components) else Components()
    document.components = components
    components.schemas = {
        **(components.schemas or {}),
        "ValidationError": VALIDATION_ERROR,
        "HTTPValidationError": HTTP_VALIDATION_ERROR,
    }
    response = OpenAPIResponse(
        description="Validation Error",
        content={
            "application/json": OpenAPIMediaType(schema=Reference("#/components/schemas/HTTPValidationError"))
        },
    )
    for operation in _operations(document):
        if not operation.responses:
            continue
        bad_request = operation.responses.get("400")
        if _is_litestar_validation(bad_request):
            del operation.responses["400"]
            operation.responses["422"] = response


def _operations(document: OpenAPI) -> list[Operation]:
    return [
        operation
        for path_item in (document.paths or {}).values()
        for operation in (path_item.get, path_item.put, path_item.post, path_item.delete, path_item.patch)
        if operation is not None
    ]


def _is_litestar_validation(response: object) -> bool:
    if not isinstance(response, OpenAPIResponse) or not response.content:
        return False
    schema = response.content.get("application/json")
    inner = schema.schema if schema is not None else None
    return isinstance(inner, Schema) and inner.description == _LITESTAR_VALIDATION


def document_frontend(document: OpenAPI, frontend: str) -> None:
    """Show ``owner_display_name`` in the one shape this deployment's frontend gets (``PODIUM_FRONTEND``):
    a one-element list for ``legacy``, a string for ``head`` (in place)."""
    shape = (
        Schema(type=OpenAPIType.STRING, title="Owner Display Name", default="")
        if frontend == "head"
        else Schema(
            type=OpenAPIType.ARRAY,
            title="Owner Display Name",
            items=Schema(type=OpenAPIType.STRING),
            default=[],
        )
    )
    components = document.components if isinstance(document.components, Components) else Components()
    for schema in (components.schemas or {}).values():
        properties = schema.properties if isinstance(schema, Schema) else None
        if properties and "owner_display_name" in properties and "collaborator_display_names" in properties:
            properties["owner_display_name"] = shape
