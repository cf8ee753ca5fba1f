"""Production mail: Loops' transactional API delivers the magic link."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from podium.domain.ports import DeliveryFailed

if TYPE_CHECKING:  # httpx (~0.2 s to import) is loaded on first use: start-up stays fast
    import httpx

log = logging.getLogger("podium.mail")

DEFAULT_TIMEOUT_SECONDS = 10.0


class LoopsMailer:
    """``Mailer`` that POSTs to Loops' transactional endpoint.

    With ``client`` given, the caller owns it (and closes it); without one, each send uses a short-lived
    client. Logins are rate-limited, so a connection per mail costs nothing that matters and leaves no
    pool to close at shutdown.
    """

    def __init__(
        self,
        api_key: str,
        transactional_id: str,
        api_url: str,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not api_key:
            raise ValueError("a Loops API key is required")
        self._api_key = api_key
        self._transactional_id = transactional_id
        self._api_url = api_url
        self._client = client
        self._timeout = timeout

    def __repr__(self) -> str:
        # Never let the key reach a log or a traceback through repr().
        return f"LoopsMailer(api_url={self._api_url!r}, transactional_id={self._transactional_id!r})"

    async def send_magic_link(self, email: str, link: str) -> None:
        payload = {
            "email": email,
            "transactionalId": self._transactional_id,
            "dataVariables": {"auth_link": link},
        }
        import httpx

        headers = {"Authorization": f"Bearer {self._api_key}"}
        try:
            if self._client is not None:
                response = await self._client.post(
                    self._api_url, json=payload, headers=headers, timeout=self._timeout
                )
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.post(self._api_url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            # The exception text names the URL and the error class, never the request headers.
            log.error("Loops send failed: %s: %s", type(exc).__name__, exc)
            raise DeliveryFailed(f"Loops request failed: {type(exc).__name__}") from exc
        if not response.is_success:
            log.error("Loops send rejected with HTTP %s: %.300s", response.status_code, response.text)
            raise DeliveryFailed(f"Loops answered HTTP {response.status_code}")
