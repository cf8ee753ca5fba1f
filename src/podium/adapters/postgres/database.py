"""Engine and session factory for the runtime store, and schema migrations."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from podium.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[4] / "migrations"


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """An asyncpg engine with a bounded pool, connection checks and a per-statement time limit."""
    database_url = url or settings.database_url
    if not database_url:
        raise ValueError("no database URL: set PODIUM_DATABASE_URL or start the embedded server first")
    return create_async_engine(
        database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        # No pre-ping: on asyncpg it costs three round trips per checkout. After a server restart the
        # first statement on a dead connection fails (answered 503) and SQLAlchemy then invalidates the
        # whole pool, so the following requests reconnect by themselves.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={
            "timeout": settings.db_connect_timeout,
            "command_timeout": settings.db_statement_timeout_ms / 1000 + 5,
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "idle_in_transaction_session_timeout": str(max(settings.db_statement_timeout_ms * 3, 30_000)),
                "application_name": "podium",
            },
        },
    )


def alembic_config(database_url: str, stdout: io.StringIO | None = None):  # type: ignore[no-untyped-def]
    """An alembic ``Config`` for the project's migrations, pointed at ``database_url``."""
    from alembic.config import Config

    config = Config() if stdout is None else Config(stdout=stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["database_url"] = database_url
    return config


def _run_alembic(
    name: str, database_url: str, *args: object, stdout: io.StringIO | None = None, **kwargs: object
) -> None:
    """Run an alembic command; from inside a running event loop it runs on a helper thread, since the
    migration environment drives its own loop. What it prints goes to ``stdout`` when given."""
    from alembic import command

    def run() -> None:
        getattr(command, name)(alembic_config(database_url, stdout), *args, **kwargs)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        run()
        return
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            run()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=guarded, name="alembic")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    _run_alembic("upgrade", database_url, revision)


def downgrade(database_url: str, revision: str) -> None:
    _run_alembic("downgrade", database_url, revision)


NOT_MIGRATED = "(no revision: the database is not migrated; run `uv run podium db upgrade`)"


def current(database_url: str) -> str:
    """The revision the database is at as alembic says it (``0003 (head)``), or :data:`NOT_MIGRATED`
    (alembic itself prints nothing for a database it never migrated)."""
    output = io.StringIO()
    _run_alembic("current", database_url, verbose=False, stdout=output)
    return output.getvalue().strip() or NOT_MIGRATED
