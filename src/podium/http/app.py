"""The Litestar application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig

from podium.bootstrap import Container
from podium.config import Settings
from podium.http.auth import current_user
from podium.http.controllers.admin import EventAdminController
from podium.http.controllers.auth import AuthController
from podium.http.controllers.events import EventsController
from podium.http.controllers.health import health
from podium.http.controllers.projects import ProjectsController
from podium.http.controllers.users import UsersController
from podium.http.errors import EXCEPTION_HANDLERS
from podium.http.middleware import RequestLogMiddleware

log = logging.getLogger(__name__)

SERVICES = ("auth", "users", "events", "projects", "voting")


def _service(name: str) -> Provide:
    def provide(state: State) -> Any:
        container = state.container
        return container if name == "container" else getattr(container, name)

    return Provide(provide, sync_to_thread=False)


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the app. Without a container, one is built from settings at start-up and closed at shutdown."""
    settings = settings or (container.settings if container else Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = Container.build(settings) if owned else container
        if settings.jwt_secret_generated:
            log.warning("PODIUM_JWT_SECRET is not set: using a generated development secret")
        try:
            yield
        finally:
            if owned:
                await app.state.container.close()

    dependencies = {name: _service(name) for name in (*SERVICES, "container")}
    dependencies["user"] = Provide(current_user, sync_to_thread=False)

    return Litestar(
        route_handlers=[
            health,
            AuthController,
            UsersController,
            EventsController,
            EventAdminController,
            ProjectsController,
        ],
        dependencies=dependencies,
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
