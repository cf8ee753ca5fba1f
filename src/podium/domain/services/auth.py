"""Passwordless login: magic links (single-use) exchanged for access tokens (legacy §3, PRODUCT §3.4–3.8)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from podium.domain.clients import client_limit_key
from podium.domain.clock import utcnow
from podium.domain.errors import Invalid, NotFound, RateLimited, Unauthenticated, UpstreamFailed
from podium.domain.limits import EMAIL_MAX
from podium.domain.models import User
from podium.domain.ports import (
    BadToken,
    DeliveryFailed,
    DisposableEmails,
    Mailer,
    RateLimiter,
    TokenCodec,
    UnitOfWorkFactory,
)
from podium.domain.rules import DISPOSABLE_EMAIL, normalize_email

MAGIC_LINK = "magic_link"
ACCESS = "access"
INVALID_CREDENTIALS = "Invalid authentication credentials"
TOO_MANY_ATTEMPTS = "Too many login attempts, please try again later"


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    frontend_url: str
    access_token_minutes: int = 2880
    magic_link_minutes: int = 15
    attempts_per_email: int = 5
    attempts_per_client: int = 30
    window_seconds: int = 60


class AuthService:
    """Issues and checks the tokens that identify users."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        tokens: TokenCodec,
        mailer: Mailer,
        limiter: RateLimiter,
        policy: AuthPolicy,
        clock: Callable[[], dt.datetime] = utcnow,
        disposable: DisposableEmails | None = None,
    ) -> None:
        self._uow = uow
        self._tokens = tokens
        self._mailer = mailer
        self._limiter = limiter
        self._policy = policy
        self._clock = clock
        self._disposable = disposable

    async def request_login(self, email: str, redirect: str, client: str) -> None:
        """Send a magic link to an existing user."""
        email = normalize_email(email)
        if self._disposable is not None and self._disposable.is_disposable(email):
            raise Invalid(DISPOSABLE_EMAIL)
        await self._limit("request-login", client=client, email=email)
        async with self._uow(read_only=True) as uow:
            if await uow.users.get_by_email(email) is None:
                raise NotFound("User not found")
        token = self._mint(email, MAGIC_LINK, self._policy.magic_link_minutes)
        link = f"{self._policy.frontend_url}/login?token={token}"
        if redirect:
            # Appended raw, as the legacy backend did: the frontend reads it back verbatim.
            link += f"&redirect={redirect}"
        try:
            await self._mailer.send_magic_link(email, link)
        except DeliveryFailed as exc:
            raise UpstreamFailed("Failed to send auth email") from exc

    async def verify(self, token: str, client: str) -> tuple[str, User]:
        """Exchange a magic link for an access token; each link works once, however it is spelled."""
        await self._limit("verify", client=client)
        claims = self._claims(token)
        email = _subject(claims)
        if claims.get("token_type") != MAGIC_LINK or email is None:
            raise Invalid("Invalid token")
        await self._limit("verify", email=email)
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email)
            if user is None:
                raise NotFound("User not found")
            # Keyed on the signature, not the text: the codec accepts one spelling per token, and a
            # signature stands for exactly one token. Links minted without a ``jti`` are covered alike.
            used = not await uow.magic_links.consume(self._tokens.fingerprint(token), _expiry(claims["exp"]))
            if used:
                raise Invalid("Invalid token")
            await uow.commit()
        return self._mint(email, ACCESS, self._policy.access_token_minutes), user

    def magic_link_token(self, email: str) -> str:
        """A fresh single-use magic link's token for ``email`` (the Hack Club login hands it to the
        frontend's ``/login`` page, which exchanges it like an emailed one)."""
        return self._mint(normalize_email(email), MAGIC_LINK, self._policy.magic_link_minutes)

    async def authenticate(self, token: str) -> User:
        """The user an access token belongs to. A token of the wrong kind is as invalid as a forged one."""
        try:
            claims = self._tokens.decode(token)
        except BadToken as exc:
            raise Unauthenticated(INVALID_CREDENTIALS) from exc
        email = _subject(claims)
        if claims.get("token_type") != ACCESS or email is None:
            raise Unauthenticated(INVALID_CREDENTIALS)
        user = await self._uow.lookups.user_by_email(email)
        if user is None:
            raise Unauthenticated(INVALID_CREDENTIALS)
        return user

    def _claims(self, token: str) -> dict[str, object]:
        try:
            return self._tokens.decode(token)
        except BadToken as exc:
            raise Invalid("Invalid token") from exc

    def _mint(self, email: str, token_type: str, minutes: int) -> str:
        expires = self._clock() + dt.timedelta(minutes=minutes)
        claims: dict[str, object] = {"sub": email, "token_type": token_type, "exp": int(expires.timestamp())}
        if token_type == MAGIC_LINK:
            # Two links asked for within one second are two links, each usable once.
            claims["jti"] = secrets.token_urlsafe(16)
        return self._tokens.encode(claims)

    async def _limit(self, action: str, *, client: str | None = None, email: str | None = None) -> None:
        policy = self._policy
        limits: dict[str, int] = {}
        if client is not None:
            limits[client_limit_key(action, client)] = policy.attempts_per_client
        if email:
            limits[f"{action}:email:{email}"] = policy.attempts_per_email
        if not limits:
            return
        retry_after = await self._limiter.hit_all(limits, policy.window_seconds)
        if retry_after is not None:
            raise RateLimited(TOO_MANY_ATTEMPTS, retry_after)


def _subject(claims: dict[str, object]) -> str | None:
    """The normalised email a token is for; None when ``sub`` could not name any user."""
    subject = claims.get("sub")
    if not isinstance(subject, str):
        return None
    email = normalize_email(subject)
    if not email or len(email) > EMAIL_MAX or "\x00" in email:
        return None
    return email


# The latest instant Python's datetime holds; an ``exp`` beyond it is kept as "forever".
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


def _expiry(exp: object) -> dt.datetime:
    """A token's ``exp`` (an RFC 7519 NumericDate: integer or fractional seconds) as an instant."""
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise Invalid("Invalid token")
    try:
        return dt.datetime.fromtimestamp(exp, dt.UTC)
    except (OverflowError, ValueError, OSError):  # past year 9999 (a past ``exp`` never gets this far)
        return _LATEST
