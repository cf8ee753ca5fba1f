"""The OpenAPI document says what the API really answers to invalid input: 422 with FastAPI's body.

Litestar documents request-validation failures as a 400 with its own body; our error mapper answers them
with the legacy 422 ``{"detail": [{"loc", "msg", "type"}]}`` (PRODUCT §3.1), and a client generated from
the document must know that. The 400 entries Litestar adds for validation are replaced accordingly.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
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
        "detail": Schema(
            type=OpenAPIType.ARRAY, title="Detail", items=Reference("#/components/schemas/ValidationError")
        )
    },
)
_LITESTAR_VALIDATION = "Validation Exception"


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
    for path_item in (document.paths or {}).values():
        for operation in (path_item.get, path_item.put, path_item.post, path_item.delete, path_item.patch):
            if operation is None or not operation.responses:
                continue
            bad_request = operation.responses.get("400")
            if _is_litestar_validation(bad_request):
                del operation.responses["400"]
                operation.responses["422"] = response


def _is_litestar_validation(response: object) -> bool:
    if not isinstance(response, OpenAPIResponse) or not response.content:
        return False
    schema = response.content.get("application/json")
    inner = schema.schema if schema is not None else None
    return isinstance(inner, Schema) and inner.description == _LITESTAR_VALIDATION
