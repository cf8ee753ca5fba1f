"""itch.io: a demo link is a game page that runs in the browser (its page has a ``game_frame``)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal

from podium.adapters.link_checks.http import NotChecked, Resolver, request, system_resolver
from podium.domain.web_services import CheckOutcome

ITCH_PAGE = re.compile(
    r"^(?:https?://)?(?P<user>[A-Za-z0-9_-]+)\.itch\.io/(?P<game>[A-Za-z0-9_-]+)", re.IGNORECASE
)
NOT_ITCH = "Demo URL must be an itch.io game page (e.g. username.itch.io/game-name)."
NOT_PLAYABLE = 'Game is not browser-playable. Enable "Run game in browser" in your itch.io project settings.'


class _GameFrameFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "class" and value and "game_frame" in value.split():
                self.found = True


def has_game_frame(html: str) -> bool:
    finder = _GameFrameFinder()
    finder.feed(html)
    return finder.found


class ItchPageValidator:
    """``LinkValidator`` that fetches the itch.io page; with ``base_url``, ``https://USER.itch.io/GAME``
    is fetched from ``{base_url}/USER/GAME`` instead (a mirror, or a test's fake). Without ``base_url`` only
    public addresses are fetched, redirects too; the mirror the deployment configured may be private."""

    def __init__(
        self, base_url: str = "", *, timeout: float = 10.0, resolver: Resolver = system_resolver
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._resolver = resolver

    async def check(self, url: str, part: Literal["repo", "demo"]) -> CheckOutcome:
        match = ITCH_PAGE.match(url)
        if match is None:
            return CheckOutcome("failed", NOT_ITCH)
        user, game = match["user"].lower(), match["game"]
        page = f"{self._base_url}/{user}/{game}" if self._base_url else f"https://{user}.itch.io/{game}"
        try:
            response = await request(
                "GET",
                page,
                part=part,
                service="itch.io",
                timeout=self._timeout,
                allow_private=bool(self._base_url),
                follow_redirects=True,
                resolver=self._resolver,
            )
        except NotChecked as exc:
            return exc.outcome
        if response.status_code == 404:
            return CheckOutcome("failed", f"The itch.io page {user}.itch.io/{game} does not exist.")
        if response.status_code != 200:
            return CheckOutcome(
                "unknown", f"Could not check the {part}: itch.io answered HTTP {response.status_code}"
            )
        return (
            CheckOutcome("passed") if has_game_frame(response.text) else CheckOutcome("failed", NOT_PLAYABLE)
        )
