"""Log in with Hack Club (issue 25): the OAuth 2 authorization-code flow with ``state`` and PKCE.

``begin`` makes a fresh ``state`` and PKCE verifier, sealed (signed, short-lived) into a value the HTTP
layer keeps in the browser's cookie; the provider gets the state and the verifier's challenge. ``finish``
accepts the provider's answer only with that browser's sealed value and the same state (a forged or
replayed callback is refused), exchanges the code with the verifier, finds or creates the user by the
verified email, and answers what HEAD's frontend expects: a magic link's token for its ``/login`` page.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from podium.domain.clock import utcnow
from podium.domain.errors import Invalid, NotFound, UpstreamFailed
from podium.domain.limits import USER_FIELD_LIMITS
from podium.domain.models import User
from podium.domain.ports import BadToken, DisposableEmails, TokenCodec, UnitOfWorkFactory, UpstreamError
from podium.domain.rules import DISPOSABLE_EMAIL, is_valid_email, normalize_email
from podium.domain.web_services import IdentityProvider

OAUTH_STATE = "oauth_state"
STATE_MINUTES = 10
NOT_CONFIGURED = "Hack Club login is not configured"
INVALID_STATE = "Invalid OAuth state"
PROVIDER_FAILED = "Failed to authenticate with Hack Club"
NO_EMAIL = "No email returned from Hack Club"


@dataclass(frozen=True, slots=True)
class OAuthStart:
    """Where to send the browser, and the sealed state to keep in its cookie until it comes back."""

    authorization_url: str
    sealed_state: str


def pkce_challenge(verifier: str) -> str:
    """RFC 7636's S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def default_display_name(first_name: str, last_name: str) -> str:
    """ "Ada L." from the names a provider gave (HEAD's default for a new account)."""
    initial = f" {last_name[0]}." if last_name else ""
    return f"{first_name}{initial}".strip()


class OAuthLogin:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        provider: IdentityProvider | None,
        tokens: TokenCodec,
        magic_link_token: Callable[[str], str],
        *,
        disposable: DisposableEmails | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._provider = provider
        self._tokens = tokens
        self._magic_link_token = magic_link_token
        self._disposable = disposable
        self._clock = clock

    def ensure_configured(self) -> None:
        """404 unless the provider is configured (the routes do not exist otherwise)."""
        self._require()

    def begin(self, redirect_uri: str) -> OAuthStart:
        provider = self._require()
        state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        expires = self._clock() + dt.timedelta(minutes=STATE_MINUTES)
        sealed = self._tokens.encode(
            {"token_type": OAUTH_STATE, "state": state, "verifier": verifier, "exp": int(expires.timestamp())}
        )
        return OAuthStart(provider.authorization_url(state, pkce_challenge(verifier), redirect_uri), sealed)

    async def finish(self, code: str, state: str, sealed_state: str, redirect_uri: str) -> str:
        """The magic-link token of the user the provider vouches for (created on first login)."""
        provider = self._require()
        try:
            claims = self._tokens.decode(sealed_state)
        except BadToken as exc:
            raise Invalid(INVALID_STATE) from exc
        expected, verifier = claims.get("state"), claims.get("verifier")
        if (
            claims.get("token_type") != OAUTH_STATE
            or not isinstance(expected, str)
            or not isinstance(verifier, str)
            or not hmac.compare_digest(expected.encode(), state.encode())
        ):
            raise Invalid(INVALID_STATE)
        try:
            identity = await provider.identity(code, verifier, redirect_uri)
        except UpstreamError as exc:
            raise UpstreamFailed(PROVIDER_FAILED) from exc
        email = normalize_email(identity.email)
        if not email or not is_valid_email(email):
            raise Invalid(NO_EMAIL)
        if self._disposable is not None and self._disposable.is_disposable(email):
            raise Invalid(DISPOSABLE_EMAIL)
        await self._find_or_create(email, identity.first_name.strip(), identity.last_name.strip())
        return self._magic_link_token(email)

    async def _find_or_create(self, email: str, first_name: str, last_name: str) -> None:
        first_name = first_name[: USER_FIELD_LIMITS["first_name"]]
        last_name = last_name[: USER_FIELD_LIMITS["last_name"]]
        async with self._uow() as uow:
            if await uow.users.get_by_email(email) is not None:
                return
            user = User(
                email=email,
                first_name=first_name,
                last_name=last_name,
                display_name=default_display_name(first_name, last_name),
            )
            # False: someone signed up with this email meanwhile; theirs is the account.
            if await uow.users.add(user):
                await uow.commit()

    def _require(self) -> IdentityProvider:
        if self._provider is None:
            raise NotFound(NOT_CONFIGURED)
        return self._provider
