"""Ports to the web services Podium HEAD's client brings (issue 25): the link checks (GitHub, itch.io, the
demo, an event's own validator), Hack Club's sign-in and Cloudflare Turnstile's human check. Each adapter talks
real HTTP; its failures are ``ports.UpstreamError`` or an ``unknown`` verdict, never a crash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

CheckVerdict = Literal["passed", "failed", "unknown"]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One validator's answer about one link: ``passed``, ``failed`` (the message says what to fix), or
    ``unknown`` when the service could not be asked (slow, down, rate-limiting: the message says so)."""

    verdict: CheckVerdict
    message: str = ""


class LinkValidator(Protocol):
    """A service that judges a project's repository or demo link (GitHub, itch.io, the demo itself, an
    event's custom validator). Never raises for the service's failures: those are ``unknown``."""

    async def check(self, url: str, part: Literal["repo", "demo"]) -> CheckOutcome: ...


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    """Who an identity provider says signed in: a verified email and the names it gave."""

    email: str
    first_name: str = ""
    last_name: str = ""


class IdentityProvider(Protocol):
    """An OAuth 2 authorization-code provider (Hack Club's): where to send the browser, and who came back."""

    def authorization_url(self, state: str, code_challenge: str, redirect_uri: str) -> str: ...

    async def identity(self, code: str, code_verifier: str, redirect_uri: str) -> ProviderIdentity:
        """Exchange the code and fetch the identity; ``UpstreamError`` when the provider refuses or fails."""
        ...


class HumanCheck(Protocol):
    """A CAPTCHA provider's verification of a browser's token (Cloudflare Turnstile's siteverify)."""

    async def verify(self, token: str, client: str | None) -> bool:
        """True when the provider accepts the token; ``UpstreamError`` when it cannot be asked."""
        ...
