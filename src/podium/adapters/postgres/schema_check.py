"""Whether a database is reachable and migrated to the code's head revision, as one line an operator can
act on (for commands that check before they start, e.g. the write-back's dry run)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from podium.adapters.postgres.database import alembic_config, create_engine
from podium.config import Settings


def head_revisions(url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def schema_problem(settings: Settings, url: str) -> str | None:
    """``None`` when the database answers and is at head; else what is wrong and what to run."""
    engine = create_engine(settings, url)
    try:
        async with engine.connect() as connection:
            exists = (await connection.execute(text("SELECT to_regclass('alembic_version')"))).scalar()
            revisions = (
                set((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())
                if exists
                else set()
            )
    except (OSError, SQLAlchemyError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        return f"cannot reach the database (PODIUM_DATABASE_URL): {str(cause).splitlines()[0]}"
    finally:
        await engine.dispose()
    heads = head_revisions(url)
    if revisions == heads:
        return None
    at = ", ".join(sorted(revisions)) or "no revision"
    return (
        f"the database is not migrated (at {at}, the code needs {', '.join(sorted(heads))}): run "
        "`uv run podium db upgrade`"
    )
