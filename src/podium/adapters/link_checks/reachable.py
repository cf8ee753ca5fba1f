"""Any demo: the link opens (answers with a page, after redirects), on a public address."""

from __future__ import annotations

from typing import Literal

from podium.adapters.link_checks.http import NotChecked, Resolver, request, system_resolver
from podium.domain.web_services import CheckOutcome


class ReachableValidator:
    """``LinkValidator`` that fetches the link itself. Only public addresses are fetched unless
    ``allow_private`` (tests, an intranet deployment): a user's link must not probe the server's network."""

    def __init__(
        self, *, timeout: float = 10.0, allow_private: bool = False, resolver: Resolver = system_resolver
    ) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        self._resolver = resolver

    async def check(self, url: str, part: Literal["repo", "demo"]) -> CheckOutcome:
        if not url.lower().startswith(("http://", "https://")):
            url = f"https://{url}"
        try:
            response = await request(
                "GET",
                url,
                part=part,
                service="the site",
                timeout=self._timeout,
                allow_private=self._allow_private,
                follow_redirects=True,
                max_body_bytes=0,  # the status is the answer
                resolver=self._resolver,
            )
        except NotChecked as exc:
            return exc.outcome
        if response.status_code < 400:
            return CheckOutcome("passed")
        return CheckOutcome(
            "failed", f"The {part} link does not open: it answered HTTP {response.status_code}."
        )
