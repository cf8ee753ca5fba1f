"""Reading an OpenAPI document's operations, as the compatibility and authorization tests compare them."""

from __future__ import annotations

from typing import Any

METHODS = ("get", "put", "post", "delete", "patch")

Doc = dict[str, Any]


def normalise_path(path: str) -> str:
    """Litestar serves ``/users`` and ``/users/`` alike; FastAPI declared the slashed form."""
    return path.rstrip("/") or "/"


def operations_of(document: Doc) -> dict[tuple[str, str], Doc]:
    """Every operation of ``document`` by (METHOD, path without its trailing slash)."""
    return {
        (method.upper(), normalise_path(path)): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }
