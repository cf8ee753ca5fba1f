"""Hack Club's identity provider (auth.hackclub.com): the ``IdentityProvider`` port over its OAuth 2
endpoints (``/oauth/authorize``, ``/oauth/token``) and its ``/api/v1/me``."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import msgspec

from podium.domain.ports import UpstreamError
from podium.domain.web_services import ProviderIdentity

log = logging.getLogger(__name__)
SCOPES = "email name"


class _Token(msgspec.Struct):
    access_token: str


class _Identity(msgspec.Struct):
    primary_email: str = ""
    first_name: str | None = None
    last_name: str | None = None


class _Me(msgspec.Struct):
    identity: _Identity


class HackClubIdentity:
    def __init__(self, base_url: str, client_id: str, client_secret: str, *, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout

    def authorization_url(self, state: str, code_challenge: str, redirect_uri: str) -> str:
        query = urlencode(
            {
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": SCOPES,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self._base_url}/oauth/authorize?{query}"

    async def identity(self, code: str, code_verifier: str, redirect_uri: str) -> ProviderIdentity:
        import httpx

        form = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "redirect_uri": redirect_uri,
            "code": code,
            "code_verifier": code_verifier,
            "grant_type": "authorization_code",
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                token = _decode(await client.post(f"{self._base_url}/oauth/token", data=form), _Token)
                headers = {"Authorization": f"Bearer {token.access_token}"}
                me = _decode(await client.get(f"{self._base_url}/api/v1/me", headers=headers), _Me)
        except httpx.HTTPError as exc:
            log.warning("Hack Club auth unreachable: %s", type(exc).__name__)
            raise UpstreamError(f"Hack Club auth unreachable: {type(exc).__name__}") from exc
        # Hack Club's token is dropped here: only the identity is kept.
        identity = me.identity
        return ProviderIdentity(identity.primary_email, identity.first_name or "", identity.last_name or "")


def _decode(response: Any, kind: type[Any]) -> Any:
    if not response.is_success:
        log.warning("Hack Club auth answered HTTP %s: %.200s", response.status_code, response.text)
        raise UpstreamError(f"Hack Club auth answered HTTP {response.status_code}")
    try:
        return msgspec.json.decode(response.content, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise UpstreamError("Hack Club auth sent an unexpected answer") from exc
