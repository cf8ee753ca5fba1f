"""Issue 16.3: the projector page (``GET /live/{slug}``) in a real headless browser.

Debian's chromium driven by Playwright, against the app served by uvicorn on 127.0.0.1; every request
off this machine is refused, so the page must be self-contained. It says the leaderboard is not public
yet, shows it once the organiser opens it, and a vote cast through the API appears within a second.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from litestar.testing import AsyncTestClient
from playwright.async_api import Route, async_playwright, expect

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import SignUp, attend, submit
from tests.ops.test_docs_page import CHROMIUM, CHROMIUM_ARGS
from tests.support.served import served


async def test_the_projector_page_shows_the_leaderboard_once_public_and_each_vote_within_a_second(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    assert os.access(CHROMIUM, os.X_OK), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    )
    owner, alice = await sign_up("Olive"), await sign_up("Alice")
    event = await create_event(owner, "Closing <Ceremony>", votable=True)
    for person in (owner, alice):
        await attend(client, person, event)
    await submit(client, owner, event, "Alpha")
    beta = await submit(client, owner, event, "Beta & Co")
    refused: list[str] = []
    streams: list[str | None] = []

    async def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    async with served(create_app(settings)) as base, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.route("**/*", loopback_only)
            # Chromium's EventSource accepts deflate: the stream it reads is compressed.
            page.on(
                "response",
                lambda r: (
                    streams.append(r.headers.get("content-encoding")) if r.ok and "/live?" in r.url else None
                ),
            )
            await page.goto(f"{base}/live/{event.slug}")
            await expect(page.locator("h1")).to_have_text("Closing <Ceremony>")
            status = page.locator("#status")
            await expect(status).to_contain_text("not public yet", timeout=10_000)
            await expect(page.locator("#board li")).to_have_count(0)

            opened = await client.put(
                f"/events/{event.id}", json={"leaderboard_enabled": True}, headers=owner.headers
            )
            assert opened.status_code == 200
            rows = page.locator("#board li")
            # The page asks again every few seconds while the leaderboard is closed.
            await expect(rows).to_have_count(2, timeout=10_000)
            await expect(status).to_be_empty()
            await expect(status).to_be_hidden()

            voted = await client.post(
                "/events/vote", json={"event": event.id, "projects": [beta["id"]]}, headers=alice.headers
            )
            assert voted.status_code == 200
            await expect(rows.first).to_have_text(re.compile(r"1\s*Beta & Co\s*1"), timeout=1_000)
            assert streams, "no live stream opened"
            assert set(streams) == {"deflate"}, streams
        finally:
            await browser.close()
    assert refused == [], "the projector page asked for something off this machine"


async def test_an_unknown_slug_answers_404(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/live/no-such-event")
    assert (response.status_code, response.json()) == (404, {"detail": "Event not found"})
