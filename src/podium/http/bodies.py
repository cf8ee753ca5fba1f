"""How request bodies are decoded and judged: whatever arrives, a refused body is a client error, and a
422 names every field that is wrong, as FastAPI's did (PRODUCT §5).

* msgspec decodes recursively and gives up on deep nesting (``[`` × 5000, ``{"a":`` × 3000) with Python's
  ``RecursionError``, which Litestar does not expect from a decoder and lets through as a server fault.
  Here it is the ``SerializationException`` of any other malformed JSON, which the error mapper answers
  with the same 422 (``podium.http.errors.handle_undecodable``).
* msgspec stops at a body's first invalid field. When it refuses one, ``every_field_error`` checks the
  decoded body field by field against the request Struct, with the same conversion rules Litestar applied
  (non-strict), so the answer lists each missing or invalid field at once. Valid bodies never pay for it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

NESTED_TOO_DEEPLY = "JSON is nested too deeply"
FIELD_REQUIRED = "Field required"
# msgspec's own wording for a nested problem: "<message> - at `$[0].id`".
_NESTED_AT = re.compile(r"^(.*?)(?: - at `\$((?:[.\[][^`]*)?)`)$")
_KEY_PART = re.compile(r"[^.\[\]]+")
_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]*)`$")


class PodiumRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError as exc:
            raise SerializationException(NESTED_TOO_DEEPLY) from exc


def every_field_error(request: Request[Any, Any, Any]) -> list[dict[str, Any]] | None:
    """Every missing or invalid field of the request's JSON body, in FastAPI's ``loc``/``msg``/``type``
    form and the Struct's field order; ``None`` when that cannot be told field by field (no body, not an
    object, a handler without a Struct body, or nothing wrong with any single field)."""
    body_type = _body_type(request)
    value = ScopeState.from_scope(request.scope).json
    if body_type is None or value is Empty or not isinstance(value, dict):
        return None
    errors: list[dict[str, Any]] = []
    for field in msgspec.structs.fields(body_type):
        name = field.encode_name
        if name not in value:
            if field.required:
                errors.append({"loc": ["body", name], "msg": FIELD_REQUIRED, "type": "missing"})
            continue
        try:
            msgspec.convert(value[name], field.type, strict=False, str_keys=True)
        except msgspec.ValidationError as exc:
            errors.append(_field_error(name, str(exc)))
        except RecursionError:
            errors.append({"loc": ["body", name], "msg": NESTED_TOO_DEEPLY, "type": "value_error"})
    return errors or None


def _body_type(request: Request[Any, Any, Any]) -> type[msgspec.Struct] | None:
    handler = request.scope.get("route_handler")
    data = handler.parsed_fn_signature.parameters.get("data") if handler is not None else None
    annotation = data.annotation if data is not None else None
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    return None


def _field_error(name: str, message: str) -> dict[str, Any]:
    parts: list[Any] = [name]
    if match := _NESTED_AT.match(message):
        message = match[1]
        parts += [int(p) if p.isdigit() else p for p in _KEY_PART.findall(match[2])]
    if missing := _MISSING_FIELD.match(message):
        return {"loc": ["body", *parts, missing[1]], "msg": FIELD_REQUIRED, "type": "missing"}
    if len(message) > 300:
        message = message[:297] + "..."
    return {"loc": ["body", *parts], "msg": message, "type": "value_error"}
