"""Engine and session factory for the runtime store, and schema migrations."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import Pool

from podium.adapters.postgres.urls import parse_database_url
from podium.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[4] / "migrations"


# An engine's execution option: its URL leads to a transaction-mode pooler (``create_engine(pooled=True)``).
TRANSACTION_POOLER = "podium_transaction_pooler"


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` for work that needs no transaction: autocommit (no BEGIN/COMMIT round trips), except
    behind a transaction-mode pooler. There a statement parsed outside a transaction could be bound on
    another server connection, so every unit of work runs in a transaction: use ``begin()`` to write."""
    if engine.get_execution_options().get(TRANSACTION_POOLER):
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_engine(
    settings: Settings,
    url: str | None = None,
    *,
    setting: str = "PODIUM_DATABASE_URL",
    pooled: bool = False,
    poolclass: type[Pool] | None = None,
) -> AsyncEngine:
    """An asyncpg engine with a bounded pool and a per-statement time limit, on ``url`` (default
    ``PODIUM_DATABASE_URL``), any URL form :mod:`podium.adapters.postgres.urls` accepts.

    ``pooled``: the URL leads to a transaction-mode pooler, which refuses startup settings and hands each
    transaction to whichever server connection is free. Then nothing but ``application_name`` is sent at
    connect, the statement limit is the driver's (it cancels a statement running longer), and no prepared
    statement is named or cached (every statement is parsed in the transaction that runs it: the
    :class:`~podium.adapters.postgres.uow.SqlAlchemyUnitOfWorkFactory` runs reads in transactions then).
    """
    database_url = url or settings.database_url
    if not database_url:
        raise ValueError("no database URL: set PODIUM_DATABASE_URL or start the embedded server first")
    parsed = parse_database_url(database_url, setting)
    connect_args = parsed.connect_kwargs(
        connect_timeout=settings.db_connect_timeout, application_name="podium"
    )
    statement_limit = settings.db_statement_timeout_ms / 1000
    if pooled:
        connect_args.update(
            command_timeout=statement_limit, statement_cache_size=0, prepared_statement_cache_size=0
        )
    else:
        connect_args["command_timeout"] = statement_limit + 5
        connect_args["server_settings"] |= {
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": str(max(settings.db_statement_timeout_ms * 3, 30_000)),
        }
    pool_options: dict[str, Any] = (
        {"poolclass": poolclass}
        if poolclass is not None
        else {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout,
            "pool_recycle": 1800,
        }
    )
    return create_async_engine(
        parsed.sqlalchemy_url(),
        execution_options={TRANSACTION_POOLER: pooled},
        # No pre-ping: on asyncpg it costs three round trips per checkout. After a server restart the
        # first statement on a dead connection fails (answered 503) and SQLAlchemy then invalidates the
        # whole pool, so the following requests reconnect by themselves.
        pool_pre_ping=False,
        connect_args=connect_args,
        **pool_options,
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
