from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter

from podium.domain.services.auth import AuthService
from podium.domain.services.users import UserService
from podium.http.schemas import NO_NUL, AuthenticatedUser, UserLoginPayload, UserPrivate

# The frontend path to return to; it is copied into the emailed link, so keep it printable and short.
Redirect = Annotated[str, QueryParameter(max_length=2000, pattern=NO_NUL)]


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/"
    tags = ["auth"]

    @post("/request-login", operation_id="request_login_request_login_post", status_code=200)
    async def request_login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[UserLoginPayload],
        redirect: Redirect,
        auth: NamedDependency[AuthService],
    ) -> Response[bytes]:
        """Send a magic link to an existing user (logged instead of mailed without a Loops key)."""
        await auth.request_login(data.email, redirect, client_address(request))
        return Response(b"null", media_type=MediaType.JSON)

    @get("/verify", operation_id="verify_token_verify_get")
    async def verify(
        self,
        request: Request[Any, Any, Any],
        token: FromQuery[str],
        auth: NamedDependency[AuthService],
        users: NamedDependency[UserService],
    ) -> AuthenticatedUser:
        """Exchange a magic link (once) for an access token."""
        access_token, user = await auth.verify(token, client_address(request))
        _, vote_ids = await users.private(user)
        return AuthenticatedUser(access_token=access_token, user=UserPrivate.of(user, vote_ids))
