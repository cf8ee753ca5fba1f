"""The Litestar application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from podium.adapters.postgres.uow import release_before_response
from podium.bootstrap import Container
from podium.config import Settings
from podium.http.auth import AUTHENTICATE, authenticate, current_user, requires_user
from podium.http.bodies import PodiumRequest
from podium.http.controllers.admin import EventAdminController, export_router
from podium.http.controllers.auth import AuthController
from podium.http.controllers.e2e import E2eEventsController, E2eUsersController
from podium.http.controllers.events import EventsController
from podium.http.controllers.hackclub import HackClubController
from podium.http.controllers.health import health
from podium.http.controllers.live import live_projects, projector
from podium.http.controllers.metrics import metrics
from podium.http.controllers.projects import ProjectsController
from podium.http.controllers.superadmin import SuperadminController
from podium.http.controllers.users import UsersController
from podium.http.docs import assets_router, render_plugins
from podium.http.error_tracking import start_error_tracking, stop_error_tracking
from podium.http.errors import EXCEPTION_HANDLERS, UNAVAILABLE, detail
from podium.http.listing_cache import ProjectListingCache
from podium.http.live import live_listings
from podium.http.metrics import start_worker, stop_worker
from podium.http.middleware import RequestLogMiddleware, RequestScopeMiddleware
from podium.http.openapi import document_auth_and_errors, document_frontend, document_validation_errors
from podium.http.options import AllowEveryMethod
from podium.http.replica_metrics import watch_replicas
from podium.http.termination import on_termination
from podium.http.workers import stop_with_supervisor
from podium.logging import configure_logging
from podium.mechanisms import enabled

log = logging.getLogger(__name__)

SERVICES = (
    "auth",
    "users",
    "events",
    "projects",
    "voting",
    "superadmin",
    "exports",
    "validation",
    "e2e",
    "oauth",
)


def _service(name: str) -> Provide:
    def provide(state: State) -> Any:
        if name in ("container", "listings", "live"):
            return getattr(state, name)
        return getattr(state.container, name)

    return Provide(provide, sync_to_thread=False)


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the app. Without a container, one is built from settings at start-up and closed at shutdown."""
    settings = settings or (container.settings if container else Settings.from_env())
    if not logging.getLogger().handlers:
        # A worker process of ``podium serve --workers N`` starts with logging not yet configured.
        configure_logging(settings.log_level, settings.log_format)

    # Before the app is built: Sentry's Litestar integration hooks into the application it constructs.
    tracking = start_error_tracking(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = container is None
        if owned:
            stop_with_supervisor()
        app.state.container = Container.build(settings) if owned else container
        # Said once, in one line, if the database is unreachable or its schema missing or behind; the
        # service starts anyway and answers 503 until the database is ready.
        await app.state.container.schema_current()
        app.state.listings = ProjectListingCache(
            app.state.container.events, enabled=settings.leaderboard_cache, frontend=settings.frontend
        )
        app.state.live = live_listings(app.state.container, app.state.listings)
        stop_hearing_signals = on_termination(app.state.live.drain)
        # Everything allocated so far (modules, the framework's and SQLAlchemy's structures) lives as long
        # as the process: moved out of the collector's reach, full collections (triggered by the
        # thousands of objects an uncached listing allocates) no longer traverse it on every request burst.
        if enabled("gc_freeze"):
            gc.freeze()
        if settings.jwt_secret_generated:
            log.warning("PODIUM_JWT_SECRET is not set: using a generated development secret")
        start_worker(app.state.container.engine.pool)
        watch_replicas(app.state.container.uow.replicas)
        try:
            yield
        finally:
            stop_hearing_signals()
            await app.state.live.close()
            stop_worker()
            if owned:
                await app.state.container.close()
            if tracking:
                stop_error_tracking()

    dependencies = {name: _service(name) for name in (*SERVICES, "container", "listings", "live")}
    dependencies["user"] = Provide(current_user, sync_to_thread=False)

    app = Litestar(
        route_handlers=[
            health,
            metrics,
            assets_router(),
            AuthController,
            UsersController,
            EventsController,
            EventAdminController,
            export_router,
            SuperadminController,
            ProjectsController,
            live_projects,
            projector,
            HackClubController,
            *([E2eEventsController, E2eUsersController] if settings.enable_test_endpoints else []),
        ],
        dependencies=dependencies,
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=_before_request,
        request_class=PodiumRequest,
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_allow_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=True,
            max_age=600,
        ),
        openapi_config=OpenAPIConfig(
            title="Podium",
            version="2.0.0",
            path="/schema",
            render_plugins=render_plugins(),
        ),
        request_max_body_size=settings.max_request_body_bytes,
        # Logging is configured once by the process (podium.logging), not by the framework.
        logging_config=None,
        debug=False,
    )
    document_validation_errors(app.openapi_schema)
    document_frontend(app.openapi_schema, settings.frontend)
    document_auth_and_errors(app.openapi_schema, _guarded_operation_ids(app))
    # Around routing too, so unmatched paths and CORS preflights are logged and counted.
    app.asgi_handler = RequestLogMiddleware(
        RequestScopeMiddleware(
            AllowEveryMethod(app.asgi_handler, app.routes),
            lambda: app.state.container.uow.shared_reads(),
            release_before_response,
        )
    )
    return app


# Answer whatever the schema: liveness, metrics and the API's documentation.
UNGATED = ("/health", "/metrics", "/schema")


async def _before_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """The one ``before_request`` hook (a route's own would replace it): the routes that ask for it
    authenticate here (``auth.authenticate``), as a guard would before it; then the schema gate."""
    if request.route_handler.opt.get(AUTHENTICATE):
        await authenticate(request)
    return await _until_schema_current(request)


async def _until_schema_current(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """503 while the database's schema is missing or behind (``Container.schema_current``), never a 500."""
    container: Container = request.app.state.container
    if container.schema_gate.problem is None or request.scope["path"].startswith(UNGATED):
        return None
    if await container.schema_current():
        return None
    return detail(HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE, {"Retry-After": "5"})


def _guarded_operation_ids(app: Litestar) -> set[str]:
    """The operation ids of the handlers that require a bearer token (the ``requires_user`` guard, or
    ``opt={AUTHENTICATE: True}``)."""
    return {
        handler.operation_id
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if (requires_user in handler.resolve_guards() or handler.opt.get(AUTHENTICATE))
        and isinstance(handler.operation_id, str)
    }
