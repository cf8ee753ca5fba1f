"""The composition root: wires adapters into use-cases, for the HTTP app and the CLI alike."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.database import create_engine, create_session_factory
from podium.config import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Everything a request or a command needs, built once per process."""

    settings: Settings
    engine: AsyncEngine

    @classmethod
    def build(cls, settings: Settings) -> Container:
        engine = create_engine(settings)
        return cls(settings=settings, engine=engine)

    @property
    def session_factory(self):  # type: ignore[no-untyped-def]
        return create_session_factory(self.engine)

    async def database_ok(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("health check failed", extra={"error": type(exc).__name__})
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()
