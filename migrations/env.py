"""Alembic environment: runs migrations over the async engine, against the Postgres models' metadata."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from podium.adapters.postgres.models import Base
from podium.adapters.postgres.urls import parse_database_url

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from podium.config import Settings

        url = Settings.from_env().database_url
    if not url:
        raise RuntimeError("no database URL: use `podium db upgrade`, or set PODIUM_DATABASE_URL")
    return str(url)


def _configure(connection: Connection | None = None, **kwargs: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    # Any URL form podium accepts (TLS options included); no statement limit: a migration takes its time.
    url = parse_database_url(_url(), config.attributes.get("setting", "PODIUM_DATABASE_URL"))
    engine = create_async_engine(
        url.sqlalchemy_url(),
        poolclass=pool.NullPool,
        connect_args=url.connect_kwargs(connect_timeout=30, application_name="podium-migrate"),
    )
    async with engine.connect() as async_connection:
        await async_connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
