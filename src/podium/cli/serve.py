"""``podium serve``: the API under uvicorn, on ``PODIUM_DATABASE_URL`` or an embedded PostgreSQL."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import time

import click

from podium.adapters.private_files import open_private, private_folder
from podium.cli.common import database, load_settings
from podium.cli.metrics_dir import shared_metrics_dir
from podium.config import MAX_WORKERS, Settings
from podium.logging import configure_logging

log = logging.getLogger("podium.cli")


def development_secret(settings: Settings) -> str:
    """A JWT secret kept in the data directory, so development logins survive restarts."""
    path = settings.data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    private_folder(path.parent)
    secret = secrets.token_urlsafe(48)
    with open_private(path, "x") as handle:  # 0600 from its creation, never readable by others
        handle.write(secret)
    return secret


@click.command()
@click.option("--host", default=None, help="Interface to bind (default PODIUM_HOST or 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65_535), default=None, help="Port to bind (default PODIUM_PORT or 8000)."
)
@click.option(
    "--workers", type=click.IntRange(1, MAX_WORKERS), default=None, help="Worker processes (default 1)."
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API; with no PODIUM_DATABASE_URL, on an embedded PostgreSQL (migrated automatically)."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.jwt_secret_generated:
        secret = development_secret(settings)
        os.environ["PODIUM_JWT_SECRET"] = secret
        log.warning("PODIUM_JWT_SECRET is not set: using the development secret in %s", settings.data_dir)
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down; turning them into SystemExit lets the
    # embedded server below stop cleanly instead of being left running.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    workers = workers or settings.workers
    # Lets each worker ask the kernel to stop it if this supervisor dies (even by SIGKILL).
    os.environ["PODIUM_SUPERVISOR_PID"] = str(os.getpid())
    started = time.monotonic()
    try:
        # With several workers, /metrics sums the metric files they keep in a shared directory.
        # An external database is not checked here: the service starts whatever its state, says once why
        # it cannot serve yet, and answers 503 until it can (podium.http.app).
        with shared_metrics_dir(workers), database(settings, migrate=True, check_schema=False) as url:
            if not settings.database_url:
                # The embedded server: workers are separate processes that read their settings from the
                # environment.
                os.environ["PODIUM_DATABASE_URL"] = url
            run_uvicorn(host or settings.host, port or settings.port, workers, settings)
    finally:
        log.info("podium serve stopped", extra={"uptime_s": round(time.monotonic() - started, 2)})


def run_uvicorn(host: str, port: int, workers: int, settings: Settings) -> None:
    """uvicorn serving the app with ``workers`` processes, configured from ``settings``; returns once it stops."""
    import uvicorn

    from podium.http.protocol import HTTP_PROTOCOL

    # On SIGTERM uvicorn stops accepting, lets in-flight requests finish for up to
    # PODIUM_SHUTDOWN_TIMEOUT_SECONDS, cancels the rest, then runs the lifespan shutdown (pool closed).
    uvicorn.run(
        "podium.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        # Only these may name the client (X-Forwarded-For, read right to left past them); uvicorn's own
        # default (FORWARDED_ALLOW_IPS or 127.0.0.1) is never used: the setting is the one place.
        forwarded_allow_ips=list(settings.trusted_proxies),
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        server_header=False,
        # uvicorn's httptools protocol, with a deadline on request headers (slow clients are closed).
        http=HTTP_PROTOCOL,
    )


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
