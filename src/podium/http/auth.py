"""Bearer-token authentication before the request is parsed (legacy §0: auth failures take precedence over
validation errors). A route (or controller) asks for it with ``opt={AUTHENTICATE: True}``; the app's one
``before_request`` hook then calls ``authenticate`` — not a Litestar guard, which costs a copy of the route
handler per call (~3 % of a vote's CPU)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from podium.domain.errors import Unauthenticated
from podium.domain.models import User
from podium.domain.services.auth import INVALID_CREDENTIALS
from podium.http.error_tracking import identify

NOT_AUTHENTICATED = "Not authenticated"


async def requires_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: resolve ``Authorization: Bearer <access token>`` to a user, kept on the connection state."""
    header = connection.headers.get("authorization", "")
    scheme, _separator, token = header.strip().partition(" ")
    if not scheme or (scheme.lower() == "bearer" and not token.strip()):
        raise Unauthenticated(NOT_AUTHENTICATED)
    if scheme.lower() != "bearer":
        raise Unauthenticated(INVALID_CREDENTIALS)
    user = await connection.app.state.container.auth.authenticate(token.strip())
    connection.state.user = user
    identify(user.id)
    connection.scope.setdefault("state", {})["user_id"] = str(user.id)


# A route handler's ``opt`` key: authenticate in the app's ``before_request`` hook instead of a guard.
AUTHENTICATE = "podium_authenticate"


async def authenticate(request: Request[Any, Any, Any]) -> None:
    """``requires_user`` for the routes that set ``opt={AUTHENTICATE: True}``, called by the app's
    ``before_request`` hook: before the body is parsed, so a bad token is a 401 before any 422. The
    OpenAPI document marks these routes as needing a token."""
    await requires_user(request, None)  # type: ignore[arg-type]  # the guard never reads its handler


def current_user(request: Request[Any, Any, Any]) -> User:
    """Dependency: the user the guard authenticated."""
    user: User = request.state.user
    return user


async def requires_human(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: with Turnstile configured, an ``X-Turnstile-Token`` its siteverify accepts (HEAD's signup
    and login check); without it, nothing."""
    client = connection.client.host if connection.client else None
    await connection.app.state.container.human.require(connection.headers.get("x-turnstile-token"), client)
