"""How request bodies are decoded: whatever arrives, a body the decoder refuses is a client error.

msgspec decodes recursively and gives up on deep nesting (``[`` × 5000, ``{"a":`` × 3000) with Python's
``RecursionError``, which Litestar does not expect from a decoder and lets through as a server fault.
Here it is the ``SerializationException`` of any other malformed JSON, which the error mapper answers
with the same 422 (``podium.http.errors.handle_undecodable``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException

NESTED_TOO_DEEPLY = "JSON is nested too deeply"


class PodiumRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError as exc:
            raise SerializationException(NESTED_TOO_DEEPLY) from exc
