"""HTTP adapter to the external review service that checks a project's repo, demo and image."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from podium.domain.ports import UpstreamError

if TYPE_CHECKING:  # httpx (~0.2 s to import) is loaded on first use: start-up stays fast
    import httpx

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 30.0


class HttpProjectChecks:
    """``ProjectChecks`` over the review service's ``/start-check`` and ``/poll-check/{id}``.

    Not ``configured`` without a token (the API then answers 503, PRODUCT §3.20). With ``client``
    given, the caller owns it; without one, each call uses a short-lived client.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        client: httpx.AsyncClient | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._client = client
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"HttpProjectChecks(base_url={self._base_url!r}, configured={self.configured})"

    @property
    def configured(self) -> bool:
        return bool(self._token)

    async def start(self, repo: str, image_url: str, demo: str) -> dict[str, Any]:
        body = {"repo": repo, "image_url": image_url, "demo": demo}
        return await self._request("POST", f"{self._base_url}/start-check", body)

    async def poll(self, check_id: str) -> dict[str, Any]:
        # Quote everything, dots included: an id of "/x" or ".." must not turn into another path
        # on the service (httpx would resolve a ".." segment).
        segment = quote(check_id, safe="").replace(".", "%2E")
        return await self._request("GET", f"{self._base_url}/poll-check/{segment}", None)

    async def _request(self, method: str, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
        if not self.configured:
            raise UpstreamError("project checks are not configured")
        import httpx

        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            if self._client is not None:
                response = await self._client.request(
                    method, url, json=body, headers=headers, timeout=self._timeout
                )
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            log.error("review service %s %s failed: %s: %s", method, url, type(exc).__name__, exc)
            raise UpstreamError(f"review service unreachable: {type(exc).__name__}") from exc
        if not response.is_success:
            log.error(
                "review service %s %s answered HTTP %s: %.300s",
                method,
                url,
                response.status_code,
                response.text,
            )
            raise UpstreamError(f"review service answered HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise UpstreamError("review service answered with invalid JSON") from exc
        if not isinstance(payload, dict):
            raise UpstreamError("review service answered with JSON that is not an object")
        return payload
