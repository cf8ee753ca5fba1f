"""Log in with Hack Club (issue 25), at Podium HEAD's routes: the browser goes to Hack Club and comes
back to the callback, which hands HEAD's frontend a magic link's token on its ``/login`` page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect

from podium.domain.errors import Invalid
from podium.domain.services.oauth import INVALID_STATE, OAuthLogin

STATE_COOKIE = "podium_oauth_state"
COOKIE_PATH = "/auth/hackclub"
CALLBACK = "auth/hackclub/callback"
ProviderValue = Annotated[str, QueryParameter(max_length=2048, pattern=r"^[^\x00]*$")]


def _redirect_uri(request: Request[Any, Any, Any], state: State) -> str:
    configured: str = state.container.settings.hackclub_redirect_uri
    return configured or f"{str(request.base_url).rstrip('/')}/{CALLBACK}"


class HackClubController(Controller):
    path = "/auth/hackclub"
    tags = ["auth"]

    @get("/", operation_id="hackclub_login_auth_hackclub_get", status_code=307)
    async def login(
        self, request: Request[Any, Any, Any], state: State, oauth: NamedDependency[OAuthLogin]
    ) -> Redirect:
        """Send the browser to Hack Club's sign-in (404 unless the client id and secret are set). The
        state and PKCE verifier stay in a short-lived, HttpOnly cookie of this browser."""
        start = oauth.begin(_redirect_uri(request, state))
        cookie = Cookie(
            key=STATE_COOKIE,
            value=start.sealed_state,
            path=COOKIE_PATH,
            max_age=600,
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )
        return Redirect(start.authorization_url, status_code=307, cookies=[cookie])

    @get("/callback", operation_id="hackclub_callback_auth_hackclub_callback_get", status_code=307)
    async def callback(
        self,
        request: Request[Any, Any, Any],
        state: State,
        oauth: NamedDependency[OAuthLogin],
        code: ProviderValue = "",
        error: ProviderValue = "",
        oauth_state: Annotated[
            str, QueryParameter(name="state", max_length=2048, pattern=r"^[^\x00]*$")
        ] = "",
    ) -> Redirect:
        """Where Hack Club sends the browser back: the state must be this browser's; the user (found or
        created by their verified email) lands on the frontend's ``/login?token=…`` (HEAD's hand-off)."""
        oauth.ensure_configured()
        if error:
            raise Invalid(f"Hack Club sign-in did not complete: {error}")
        if not code or not oauth_state:
            raise Invalid(INVALID_STATE)
        sealed = request.cookies.get(STATE_COOKIE, "")
        token = await oauth.finish(code, oauth_state, sealed, _redirect_uri(request, state))
        frontend = state.container.settings.production_url.rstrip("/")
        response = Redirect(f"{frontend}/login?token={token}", status_code=307)
        response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
        return response
