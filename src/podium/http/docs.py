"""The browsable API documentation at ``/schema``: Swagger UI, served offline by the app itself.

Litestar's documentation pages load their JavaScript and CSS from CDNs, so they are blank without a
network. The Swagger UI files come from the ``swagger-ui-py`` wheel instead (its ``static`` folder, a
swagger-ui-dist build) and are served under ``/schema/assets``; the page is Swagger UI at ``/schema``
(and ``/schema/swagger``), with "Authorize" for the Bearer scheme of the OpenAPI document. No other
documentation UI is registered: a CDN-backed page would render blank offline.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "favicon-32x32.png")


def swagger_ui_dir() -> Path:
    """The swagger-ui-dist files shipped by ``swagger-ui-py`` (found without importing that package)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed (it ships the API docs page)")
    directory = Path(next(iter(spec.submodule_search_locations))) / "static"
    missing = [name for name in ASSETS if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"swagger-ui-py's static folder {directory} lacks {', '.join(missing)}")
    return directory


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [
        SwaggerRenderPlugin(
            path=["/", "/swagger"],
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        )
    ]


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[swagger_ui_dir()],
        include_in_schema=False,
        name="docs-assets",
    )
