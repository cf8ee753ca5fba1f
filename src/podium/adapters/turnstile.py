"""Cloudflare Turnstile's siteverify: the ``HumanCheck`` port."""

from __future__ import annotations

import logging

import msgspec

from podium.domain.ports import UpstreamError

log = logging.getLogger(__name__)


class _Verdict(msgspec.Struct):
    success: bool


class TurnstileSiteverify:
    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self._url = url
        self._secret = secret
        self._timeout = timeout

    async def verify(self, token: str, client: str | None) -> bool:
        import httpx

        form = {"secret": self._secret, "response": token}
        if client:
            form["remoteip"] = client
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(self._url, data=form)
        except httpx.HTTPError as exc:
            log.warning("Turnstile unreachable: %s", type(exc).__name__)
            raise UpstreamError("Turnstile unreachable") from exc
        if not response.is_success:
            raise UpstreamError(f"Turnstile answered HTTP {response.status_code}")
        try:
            return msgspec.json.decode(response.content, type=_Verdict).success
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise UpstreamError("Turnstile sent an unexpected answer") from exc
