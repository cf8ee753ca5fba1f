"""The one place where errors become HTTP responses (PRODUCT §3.1–3.3).

* request validation → 422 ``{"detail": [{"loc", "msg", "type"}]}`` (FastAPI's shape, which the client renders);
* a domain error → its status with ``{"detail": "<message>"}``;
* the database unreachable or overloaded → 503, never a hang or a 500;
* racing requests: a row gone under one → 404, a conflict or a deadlock between them → 409 (retry);
* anything else → 500 ``{"detail": "Internal Server Error"}``, logged with its traceback, never echoed.
"""

from __future__ import annotations

import logging
import re
from enum import Enum
from typing import Any

import msgspec
from advanced_alchemy.exceptions import IntegrityError as AdvancedAlchemyIntegrityError
from advanced_alchemy.exceptions import MultipleResultsFoundError, NotFoundError, RepositoryError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    InternalServerException,
    SerializationException,
    ValidationException,
)
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_502_BAD_GATEWAY,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, MultipleResultsFound, NoResultFound
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from podium.adapters.postgres.failures import is_unavailable as database_unavailable
from podium.domain import errors as domain
from podium.http.bodies import FIELD_REQUIRED, every_field_error
from podium.http.error_tracking import report
from podium.http.metrics import count_error

log = logging.getLogger("podium.http")

UNAVAILABLE = "The service is temporarily unavailable, please retry shortly"
# SQLSTATE class 22: a value the database cannot take. Some arrive as a plain DBAPIError rather than a
# DataError (asyncpg's 22021 for a NUL byte in a query parameter), or wrapped by Advanced Alchemy.
DATA_EXCEPTION = "22"
# SQLSTATE class 40: the database rolled the transaction back (deadlock, serialization failure).
TRANSACTION_ROLLBACK = "40"
CONFLICT = "The request conflicts with the current state; please retry"

_DOMAIN_STATUS: list[tuple[type[domain.DomainError], int]] = [
    (domain.NotFound, HTTP_404_NOT_FOUND),
    (domain.Forbidden, HTTP_403_FORBIDDEN),
    (domain.Invalid, HTTP_400_BAD_REQUEST),
    (domain.Unprocessable, HTTP_422_UNPROCESSABLE_ENTITY),
    (domain.Unauthenticated, HTTP_401_UNAUTHORIZED),
    (domain.RateLimited, HTTP_429_TOO_MANY_REQUESTS),
    (domain.Unavailable, HTTP_503_SERVICE_UNAVAILABLE),
    (domain.UpstreamFailed, HTTP_502_BAD_GATEWAY),
]


def detail(status_code: int, message: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response({"detail": message}, status_code=status_code, headers=headers, media_type=MediaType.JSON)


# Litestar states a missing parameter or field only in its message; FastAPI names it in ``loc``.
_MISSING_PARAMETER = re.compile(r"^Missing required (\w+) parameter '([^']*)'")
_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]*)`")
_KEY_PART = re.compile(r"[^.\[\]]+")
# msgspec's own wording: "<message> - at `$.data.projects[0]`".
_BODY_ERROR = re.compile(r"^(.*?)(?: - at `\$\.data((?:[.\[][^`]*)?)`)$")
UNDECODABLE_BODY = [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]


def validation_items(exc: ValidationException) -> list[dict[str, Any]]:
    """Litestar's validation messages in FastAPI's ``loc``/``msg``/``type`` form."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    items = [_validation_item(error) for error in extra if isinstance(error, dict)]
    if not items:
        missing = _MISSING_PARAMETER.match(exc.detail)
        if missing:
            items.append({"loc": [missing[1], missing[2]], "msg": FIELD_REQUIRED, "type": "missing"})
        else:
            items.append({"loc": ["body"], "msg": _safe_message(exc.detail), "type": "value_error"})
    return items


def _validation_item(error: dict[str, Any]) -> dict[str, Any]:
    source = error.get("source") or "body"
    source = source.value if isinstance(source, Enum) else str(source)
    message = str(error.get("message", "Invalid value"))
    key = str(error.get("key") or "")
    # Litestar names the whole body "data"; its problems belong on ["body"] itself.
    parts = [] if key == "data" else _key_parts(key)
    if missing := _MISSING_FIELD.match(message):
        return {"loc": [source, *parts, missing[1]], "msg": FIELD_REQUIRED, "type": "missing"}
    if key == "data" and message == "'data'":  # no body at all
        return {"loc": [source], "msg": FIELD_REQUIRED, "type": "missing"}
    return {"loc": [source, *parts], "msg": _safe_message(message), "type": "value_error"}


def _key_parts(key: str) -> list[Any]:
    """``projects[0].id`` → ``["projects", 0, "id"]``."""
    return [int(part) if part.isdigit() else part for part in _KEY_PART.findall(key)]


def _body_error(exc: InternalServerException) -> dict[str, Any] | None:
    """Litestar files a body error as a server fault when the field shares its name with a dependency
    (``projects`` in a vote is also the projects service); recover it from msgspec's message."""
    cause = exc.__cause__
    if not isinstance(cause, msgspec.ValidationError):
        return None
    match = _BODY_ERROR.match(str(cause))
    if match is None:
        return None
    error = {"source": "body", "key": match[2] or "data", "message": match[1]}
    return _validation_item(error)


def _safe_message(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return detail(HTTP_422_UNPROCESSABLE_ENTITY, _with_every_body_error(request, validation_items(exc)))


def _with_every_body_error(
    request: Request[Any, Any, Any], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Litestar reports a body's first invalid field only; list them all (the parameters' errors first,
    as FastAPI orders them)."""
    if not any(item["loc"][:1] == ["body"] for item in items):
        return items
    body_items = every_field_error(request)
    if body_items is None:
        return items
    return [item for item in items if item["loc"][:1] != ["body"]] + body_items


def handle_domain(_: Request[Any, Any, Any], exc: domain.DomainError) -> Response[Any]:
    status = next((code for kind, code in _DOMAIN_STATUS if isinstance(exc, kind)), HTTP_400_BAD_REQUEST)
    headers = None
    if isinstance(exc, domain.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, domain.Unauthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    return detail(status, exc.message, headers)


def handle_undecodable(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A body that is not JSON (or not UTF-8, or nested too deeply: ``podium.http.bodies``) is a validation
    error, as FastAPI answered (legacy §0), with the decoder's reason in ``ctx`` as FastAPI gives it."""
    cause = exc.__cause__ if isinstance(exc.__cause__, SerializationException) else None
    if cause is None or not cause.detail:
        return detail(HTTP_422_UNPROCESSABLE_ENTITY, UNDECODABLE_BODY)
    item = {**UNDECODABLE_BODY[0], "ctx": {"error": _safe_message(cause.detail)}}
    return detail(HTTP_422_UNPROCESSABLE_ENTITY, [item])


CLIENT_GONE = "client disconnected prematurely"  # Litestar's words when a request body is cut off


def handle_http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc.__cause__, SerializationException):
        return handle_undecodable(_, exc)
    if isinstance(exc, InternalServerException) and (item := _body_error(exc)):
        return detail(HTTP_422_UNPROCESSABLE_ENTITY, _with_every_body_error(_, [item]))
    if isinstance(exc, InternalServerException) and exc.detail == CLIENT_GONE:
        # The client hung up while sending its body: nothing failed here, and nobody reads the answer.
        log.info("client disconnected before its request body arrived", extra={"path": _.url.path})
        return detail(HTTP_400_BAD_REQUEST, "Client disconnected")
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        return handle_unexpected(_, exc)
    return detail(exc.status_code, exc.detail, exc.headers)


def handle_database(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, DataError) or _sqlstate(exc).startswith(DATA_EXCEPTION):
        # A value the column cannot hold (too long, out of range, NUL byte) that slipped past validation.
        log.warning(
            "database rejected a value", extra={"path": request.url.path, "error": type(exc).__name__}
        )
        return detail(HTTP_422_UNPROCESSABLE_ENTITY, "A value is too long or out of range")
    if isinstance(exc, IntegrityError):
        log.warning("integrity conflict", extra={"path": request.url.path})
        return detail(HTTP_409_CONFLICT, CONFLICT)
    if _sqlstate(exc).startswith(TRANSACTION_ROLLBACK):
        # A deadlock or serialization failure between racing requests: the loser may simply retry.
        log.warning("transaction rolled back", extra={"path": request.url.path, "sqlstate": _sqlstate(exc)})
        return detail(HTTP_409_CONFLICT, CONFLICT, {"Retry-After": "1"})
    if isinstance(exc, PoolTimeoutError) or _is_connection_problem(exc):
        count_error("database_unavailable")
        log.error("database unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
        return detail(HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE, {"Retry-After": "1"})
    return handle_unexpected(request, exc)


def _sqlstate(exc: BaseException) -> str:
    """The PostgreSQL error code behind a driver error, or ``""``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str):
            return code
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return ""


def _is_connection_problem(exc: BaseException) -> bool:
    if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or database_unavailable(exc):
        # Unreachable, refusing (a pooler's refused setting included), schema missing or behind.
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if isinstance(current, ConnectionError | OSError | TimeoutError) or name in {
            "ConnectionDoesNotExistError",
            "CannotConnectNowError",
            "InterfaceError",
            "ConnectionFailureError",
            "AdminShutdownError",
            "CrashShutdownError",
            "TooManyConnectionsError",
            "QueryCanceledError",
        }:
            return True
        current = current.__cause__ or current.__context__
    return False


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Advanced Alchemy re-wraps driver errors in its own exceptions, which are no DBAPIError.
    if _is_connection_problem(exc) or _sqlstate(exc).startswith((DATA_EXCEPTION, TRANSACTION_ROLLBACK)):
        return handle_database(request, exc)
    count_error("unhandled")
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    report(exc)
    return detail(HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error")


def handle_repository(request: Request[Any, Any, Any], exc: RepositoryError) -> Response[Any]:
    """Advanced Alchemy's wrapper: answer for the database error underneath it, or for what it found."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, DBAPIError | PoolTimeoutError):
        return handle_database(request, cause)
    if isinstance(exc, NotFoundError):
        return handle_vanished(request, exc)
    if isinstance(exc, AdvancedAlchemyIntegrityError | MultipleResultsFoundError):
        return handle_conflict(request, exc)
    return handle_unexpected(request, exc)


def handle_vanished(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A row the request relied on is gone (deleted by a racing request): the resource is missing. The
    use-cases lock what they change and answer their route's own status first; this is the backstop."""
    log.warning("row not found", extra={"path": request.url.path, "error": type(exc).__name__})
    return detail(HTTP_404_NOT_FOUND, "Not found")


def handle_conflict(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """More rows than one where one was expected, or a constraint refusing the change: the data moved
    under the request (a retry sees the new state)."""
    log.warning("conflicting state", extra={"path": request.url.path, "error": type(exc).__name__})
    return detail(HTTP_409_CONFLICT, CONFLICT)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ValidationException: handle_validation,
    domain.DomainError: handle_domain,
    HTTPException: handle_http,
    UnicodeDecodeError: handle_undecodable,
    DBAPIError: handle_database,
    PoolTimeoutError: handle_database,
    RepositoryError: handle_repository,
    NoResultFound: handle_vanished,
    ObjectDeletedError: handle_vanished,
    StaleDataError: handle_vanished,
    MultipleResultsFound: handle_conflict,
    Exception: handle_unexpected,
}
