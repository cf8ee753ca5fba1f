"""What went wrong reaching the database, in one line an operator can act on, and whether the schema is the
one this code needs.

:func:`describe` turns a failure to connect — server down, connection refused, unknown host, wrong
password, TLS refused or unverifiable, database missing, a pooler refusing a setting — into one line that
names the setting and the server, never the password. :func:`is_unavailable` says whether a failure
means "the database cannot serve now" (the HTTP layer answers 503 for those, never 500).
:class:`SchemaCheck` compares the database's alembic revision with the code's.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.urls import DatabaseUrl

UPGRADE = "run `podium db upgrade`"
# SQLSTATE classes that mean "this database cannot serve now", whatever the statement: connection
# exceptions, refused logins, a missing database, exhausted resources, an administrator's shutdown.
UNAVAILABLE_SQLSTATES = ("08", "28", "3D", "53", "57P")
# The schema is missing or older than the code: relation or column unknown.
SCHEMA_SQLSTATES = ("42P01", "42703")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and the members of exception groups, each once."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                stack.append(linked)


def sqlstate(exc: BaseException) -> str:
    """The PostgreSQL error code behind a driver error, or ``""``."""
    for current in _chain(exc):
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str) and code:
            return code
    return ""


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot serve now (unreachable, refusing, shutting down), not
    that the request was wrong. (A schema missing or behind is kept from requests by the service's schema
    gate; an unknown table or column past it is a bug, answered 500 and reported.)"""
    code = sqlstate(exc)
    if code.startswith(UNAVAILABLE_SQLSTATES):
        return True
    return any(
        isinstance(current, OSError | TimeoutError | ssl.SSLError | asyncpg.InterfaceError)
        for current in _chain(exc)
    )


# What a failure of the database itself arrives as: the driver's, SQLAlchemy's, the socket's or TLS's own
# exceptions (or a group of them, from a task group).
_DATABASE_FAILURES = (
    OSError,
    TimeoutError,
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    BaseExceptionGroup,
)


def describe(exc: BaseException, url: DatabaseUrl) -> str | None:
    """One line for a failure to reach or use the database at ``url``, or None if ``exc`` is not one."""
    if not isinstance(exc, _DATABASE_FAILURES):
        # Another service's failure (Airtable's, say) carries its own message, even when a refused
        # connection lies underneath it: never told as the database's.
        return None
    where = f"{url.setting}: {url.describe()}"
    for current in _chain(exc):
        line = _describe_one(current, url, where)
        if line is not None:
            return line
    code = sqlstate(exc)
    if code in SCHEMA_SQLSTATES:
        return f"{where}: the schema is missing or older than this version of Podium: {UPGRADE}"
    return None


def _describe_one(exc: BaseException, url: DatabaseUrl, where: str) -> str | None:
    message = _server_message(exc)
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return f"{where}: the server refused the password of {url.user or 'the user'!r} ({message})"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        hint = ""
        if "no encryption" in message:
            hint = ": the server requires TLS (set sslmode=require or stronger in the URL)"
        return f"{where}: the server refused the login ({message}){hint}"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{where}: {message}: create it, or fix the database name in the URL"
    if isinstance(exc, asyncpg.ProtocolViolationError) and "startup parameter" in message:
        return (
            f"{where}: the server refused a connection setting ({message}): is it a transaction-mode "
            "pooler? Set PODIUM_DATABASE_POOLER=transaction (docs/operations.md)"
        )
    if isinstance(exc, asyncpg.TooManyConnectionsError | asyncpg.CannotConnectNowError):
        return f"{where}: the server turned the connection away ({message}); retry shortly"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"{where}: the server's TLS certificate could not be verified ({exc.verify_message}): check "
            "sslrootcert (the CA that signed it) and that the URL's host is a name the certificate holds"
        )
    if isinstance(exc, ssl.SSLError):
        return f"{where}: the TLS handshake failed ({exc.reason or exc})"
    if isinstance(exc, ConnectionError) and "rejected SSL upgrade" in str(exc):
        return f"{where}: the server does not accept TLS, but the URL requires it (sslmode={url.sslmode})"
    if isinstance(exc, socket.gaierror):
        return f"{where}: unknown host ({exc.strerror}): check the host name in the URL"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused: is the server running, and listening on that port?"
    if isinstance(exc, TimeoutError):
        return f"{where}: no answer in time: is the host reachable (firewall, allowed IP addresses)?"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{where}: cannot connect ({exc.strerror})"
    if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
        return f"{where}: the connection failed ({message or type(exc).__name__})"
    return None


def _server_message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message if isinstance(message, str) else exc).splitlines()[0] if str(exc) else ""


@cache
def head_revisions() -> frozenset[str]:
    """The revisions the code's migrations end at (one, unless branches are left unmerged)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from podium.adapters.postgres.database import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@dataclass
class SchemaState:
    revisions: frozenset[str]  # the database's
    heads: frozenset[str]  # the code's

    @property
    def current(self) -> bool:
        return self.revisions == self.heads

    def problem(self) -> str:
        """Why the schema cannot serve, for the operator (empty when it is current)."""
        if self.current:
            return ""
        if not self.revisions:
            return f"the database has no Podium schema: {UPGRADE}"
        have, need = ", ".join(sorted(self.revisions)), ", ".join(sorted(self.heads))
        if self.revisions - self.heads and not (self.heads - self.revisions):
            return f"the database's schema ({have}) is newer than this version of Podium ({need}): upgrade Podium"
        return f"the database's schema is at {have}, this version of Podium needs {need}: {UPGRADE}"


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """The database's alembic revisions against the code's heads (connection failures propagate)."""
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except ProgrammingError as exc:
        if sqlstate(exc) != "42P01":
            raise
        rows = []  # no alembic_version table: never migrated
    return SchemaState(frozenset(rows), head_revisions())
