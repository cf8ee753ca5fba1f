"""The Litestar application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from podium.bootstrap import Container
from podium.config import Settings
from podium.http.controllers.health import health
from podium.http.errors import EXCEPTION_HANDLERS
from podium.http.middleware import RequestLogMiddleware

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the app. Without a container, one is built from settings at start-up and closed at shutdown."""
    settings = settings or (container.settings if container else Settings.from_env())
    holder: dict[str, Container] = {}
    if container is not None:
        holder["container"] = container

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        owned = "container" not in holder
        if owned:
            holder["container"] = Container.build(settings)
        if settings.jwt_secret_generated:
            log.warning("PODIUM_JWT_SECRET is not set: using a generated development secret")
        try:
            yield
        finally:
            if owned:
                await holder.pop("container").close()

    def provide_container() -> Container:
        return holder["container"]

    return Litestar(
        route_handlers=[health],
        dependencies={"container": Provide(provide_container, sync_to_thread=False)},
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(RequestLogMiddleware)],
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_allow_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=True,
            max_age=600,
        ),
        openapi_config=OpenAPIConfig(title="Podium", version="2.0.0", path="/schema"),
        request_max_body_size=settings.max_request_body_bytes,
        # Logging is configured once by the process (podium.logging), not by the framework.
        logging_config=None,
        debug=False,
    )
