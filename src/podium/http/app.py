"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
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
from podium.http.listing_cache import ProjectListingCache
from podium.http.metrics import CONTENT_TYPE, FLUSH_SECONDS, METRICS, read_snapshots, render, write_snapshot
from podium.http.middleware import RequestLogMiddleware, RequestScopeMiddleware
from podium.http.openapi import document_validation_errors
from podium.logging import configure_logging

log = logging.getLogger(__name__)

SERVICES = ("auth", "users", "events", "projects", "voting")


def _service(name: str) -> Provide:
    def provide(state: State) -> Any:
        if name in ("container", "listings"):
            return getattr(state, name)
        return getattr(state.container, name)

    return Provide(provide, sync_to_thread=False)


def _snapshot(container: Container) -> dict[str, Any]:
    pool: Any = container.engine.pool
    stats = {}
    if hasattr(pool, "checkedout"):
        stats = {
            "size": pool.size(),
            "checked_out": pool.checkedout(),
            "checked_in": pool.checkedin(),
            "overflow": max(0, pool.overflow()),
        }
    return METRICS.snapshot(stats)


@get("/metrics", include_in_schema=False, media_type=CONTENT_TYPE, sync_to_thread=False)
def metrics(request: Request[Any, Any, Any]) -> Response[str]:
    """Prometheus text format: request counts and latency by route, errors, pool state (all workers)."""
    container: Container = request.app.state.container
    own = _snapshot(container)
    directory = container.settings.metrics_dir
    if directory is None:
        return Response(render([own]), media_type=CONTENT_TYPE)
    write_snapshot(directory, own)
    return Response(render(read_snapshots(directory, own)), media_type=CONTENT_TYPE)


def _stop_with_supervisor() -> None:
    """In a worker of ``podium serve --workers N``: be sent SIGTERM when the supervisor dies.

    A SIGKILLed supervisor cannot stop its workers, which would keep serving on the shared socket
    against a database nobody manages any more; the kernel's parent-death signal does it instead.
    """
    supervisor = os.environ.get("PODIUM_SUPERVISOR_PID")
    if not supervisor or int(supervisor) == os.getpid() or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(supervisor):
        # The supervisor died before the request above took effect.
        os.kill(os.getpid(), signal.SIGTERM)


async def _flush_metrics(container: Container) -> None:
    """Keep this worker's snapshot fresh for the scrapes that land on another worker."""
    directory = container.settings.metrics_dir
    assert directory is not None
    while True:
        try:
            write_snapshot(directory, _snapshot(container))
        except OSError:
            log.warning("could not write the metrics snapshot", exc_info=True)
        await asyncio.sleep(FLUSH_SECONDS)


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the app. Without a container, one is built from settings at start-up and closed at shutdown."""
    settings = settings or (container.settings if container else Settings.from_env())
    if not logging.getLogger().handlers:
        # A worker process of ``podium serve --workers N`` starts with logging not yet configured.
        configure_logging(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = container is None
        if owned:
            _stop_with_supervisor()
        app.state.container = Container.build(settings) if owned else container
        app.state.listings = ProjectListingCache(
            app.state.container.events, enabled=settings.leaderboard_cache
        )
        # Everything allocated so far (modules, the framework's and SQLAlchemy's structures) lives as long
        # as the process: moved out of the collector's reach, full collections (triggered by the
        # thousands of objects an uncached listing allocates) no longer traverse it on every request burst.
        gc.freeze()
        if settings.jwt_secret_generated:
            log.warning("PODIUM_JWT_SECRET is not set: using a generated development secret")
        flusher = None
        if settings.metrics_dir is not None:
            flusher = asyncio.create_task(_flush_metrics(app.state.container))
        try:
            yield
        finally:
            if flusher is not None:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
            if owned:
                await app.state.container.close()

    dependencies = {name: _service(name) for name in (*SERVICES, "container", "listings")}
    dependencies["user"] = Provide(current_user, sync_to_thread=False)

    app = Litestar(
        route_handlers=[
            health,
            metrics,
            AuthController,
            UsersController,
            EventsController,
            EventAdminController,
            ProjectsController,
        ],
        dependencies=dependencies,
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
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
    document_validation_errors(app.openapi_schema)
    # Around routing too, so unmatched paths and CORS preflights are logged and counted.
    app.asgi_handler = RequestLogMiddleware(
        RequestScopeMiddleware(app.asgi_handler, lambda: app.state.container.uow.shared_reads())
    )
    return app
