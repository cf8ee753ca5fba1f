"""The ``podium`` command line: serve, db upgrade|downgrade|current, and the backfill commands."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click

from podium.config import MAX_WORKERS, Settings, SettingsError
from podium.http.metrics import make_metrics_dir, remove_stale_metrics_dirs
from podium.logging import configure_logging

log = logging.getLogger("podium.cli")

EMBEDDED_DATABASE = "podium"


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def database(settings: Settings, *, migrate: bool) -> Iterator[str]:
    """Yield a database URL: ``PODIUM_DATABASE_URL``, or an embedded server started (and stopped) here.

    The embedded default is migrated to head on every start, so ``podium serve`` is one command.
    """
    if settings.database_url:
        yield settings.database_url
        return
    from podium.adapters.postgres.database import upgrade
    from podium.adapters.postgres.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir / "postgres")
    click.echo(f"Starting the embedded PostgreSQL server (data in {server.data_dir})", err=True)
    server.start()
    try:
        server.create_database(EMBEDDED_DATABASE)
        url = server.url(EMBEDDED_DATABASE)
        if migrate:
            upgrade(url)
        yield url
    finally:
        server.stop()


def development_secret(settings: Settings) -> str:
    """A JWT secret kept in the data directory, so development logins survive restarts."""
    path = settings.data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


@click.group()
@click.version_option(package_name="podium")
def main() -> None:
    """Podium v2: the peer-judging backend for hackathons."""


@main.command()
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
    remove_stale_metrics_dirs()
    metrics_dir = None
    if workers > 1 and settings.metrics_dir is None:
        # Each worker counts its own requests; /metrics sums the snapshots they leave here.
        metrics_dir = make_metrics_dir()
        os.environ["PODIUM_METRICS_DIR"] = str(metrics_dir)
    # Lets each worker ask the kernel to stop it if this supervisor dies (even by SIGKILL).
    os.environ["PODIUM_SUPERVISOR_PID"] = str(os.getpid())
    started = time.monotonic()
    try:
        with database(settings, migrate=True) as url:
            # Workers are separate processes that read their settings from the environment.
            os.environ["PODIUM_DATABASE_URL"] = url
            _run_uvicorn(host or settings.host, port or settings.port, workers, settings)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        log.info("podium serve stopped", extra={"uptime_s": round(time.monotonic() - started, 2)})


def _run_uvicorn(host: str, port: int, workers: int, settings: Settings) -> None:
    import uvicorn

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
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        server_header=False,
    )


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@main.group()
def db() -> None:
    """Schema migrations (alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: head)."""
    from podium.adapters.postgres.database import upgrade

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    with database(settings, migrate=False) as url:
        upgrade(url, revision)


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION (``base`` removes every table)."""
    from podium.adapters.postgres.database import downgrade

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    with database(settings, migrate=False) as url:
        downgrade(url, revision)


@db.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    from podium.adapters.postgres.database import current

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    with database(settings, migrate=False) as url:
        click.echo(current(url))


def settings_with_database(settings: Settings, url: str) -> Settings:
    return replace(settings, database_url=url)


# The cutover commands live in their own module (issue 4); registered here so `podium` lists them.
from podium.backfill_cli import airtable, backfill  # noqa: E402

main.add_command(airtable)
main.add_command(backfill)

__all__ = ["Path", "database", "load_settings", "main", "settings_with_database"]
