"""The CAPTCHA gate of signup and login (issue 25, HEAD's Turnstile): with a provider configured, a
request must carry a token the provider accepts; without one, nothing is checked."""

from __future__ import annotations

from podium.domain.errors import Forbidden, Unavailable
from podium.domain.ports import UpstreamError
from podium.domain.web_services import HumanCheck

CHECK_REQUIRED = "Security check required — please complete the CAPTCHA and try again"
CHECK_FAILED = "Security check failed — please refresh the page and try again"
CHECK_UNAVAILABLE = "Security check is temporarily unavailable — please try again in a moment"
MAX_TOKEN_LENGTH = 2048  # Turnstile's tokens are up to 2048 characters


class HumanGate:
    def __init__(self, check: HumanCheck | None) -> None:
        self._check = check

    async def require(self, token: str | None, client: str | None) -> None:
        """Pass, or raise: 403 without a token or with one the provider refuses, 503 when it can't say."""
        if self._check is None:
            return
        token = (token or "").strip()
        if not token:
            raise Forbidden(CHECK_REQUIRED)
        if len(token) > MAX_TOKEN_LENGTH:
            raise Forbidden(CHECK_FAILED)
        try:
            accepted = await self._check.verify(token, client)
        except UpstreamError as exc:
            raise Unavailable(CHECK_UNAVAILABLE) from exc
        if not accepted:
            raise Forbidden(CHECK_FAILED)
