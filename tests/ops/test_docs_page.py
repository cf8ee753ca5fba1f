"""Issue 12.2: the API docs page at ``/schema`` works offline, in a real headless browser.

A real ``podium serve`` on 127.0.0.1 and Debian's chromium driven by Playwright. Every request that
does not go to 127.0.0.1 is refused, so the page must get all it needs (Swagger UI's JavaScript, CSS,
the OpenAPI document) from the service itself. Chromium is a machine prerequisite (``.ci/run``
installs it): without it this test fails, it is not skipped.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar.testing import AsyncTestClient
from playwright.async_api import Route, async_playwright, expect

from tests.api.conftest import mint
from tests.conftest import PostgresForTests
from tests.ops.conftest import StartServe

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def test_the_docs_page_renders_every_operation_offline_with_a_usable_bearer_authorize(
    serve_factory: StartServe, pg_server: PostgresForTests
) -> None:
    assert os.access(CHROMIUM, os.X_OK), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    )
    serve = serve_factory({"PODIUM_DATABASE_URL": pg_server.create_database()})
    await asyncio.to_thread(serve.wait_healthy)

    refused: list[str] = []
    answered: list[str] = []

    async def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            answered.append(route.request.url)
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.route("**/*", loopback_only)
            await page.goto(f"{serve.base_url}/schema")

            # Every operation of the document is listed (Swagger UI renders them once its JS has run).
            await expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
            async with httpx.AsyncClient() as http:
                document = (await http.get(f"{serve.base_url}/schema/openapi.json")).json()
            operations = sum(len(item) for item in document["paths"].values())
            await expect(page.locator(".opblock")).to_have_count(operations)
            await expect(
                page.locator(".opblock-summary-path", has_text="/request-login").first
            ).to_be_visible()

            # "Authorize" takes a Bearer token for the document's scheme.
            token = mint("docs@example.com")
            await page.get_by_role("button", name="Authorize").first.click()
            dialog = page.locator(".dialog-ux .modal-ux")
            await expect(dialog).to_contain_text("HTTPBearer")
            await expect(dialog).to_contain_text("http, Bearer")
            await dialog.locator("input").fill(token)
            await dialog.locator("button.authorize", has_text="Authorize").click()
            await expect(dialog.locator("button", has_text="Logout")).to_be_visible()
            authorized = await page.evaluate("() => ui.authSelectors.authorized().toJS()")
            assert authorized["HTTPBearer"]["value"] == token
        finally:
            await browser.close()

    assert refused == [], "the docs page asked for something off this machine"
    assert f"{serve.base_url}/schema/assets/swagger-ui-bundle.js" in answered


@pytest.mark.parametrize("path", ["/schema/redoc", "/schema/elements", "/schema/rapidoc"])
async def test_no_documentation_page_that_needs_a_cdn_is_served(
    client: AsyncTestClient[Any], path: str
) -> None:
    """Litestar's other UIs (Redoc, Stoplight Elements, RapiDoc) load from CDNs: they are not served."""
    assert (await client.get(path)).status_code == 404


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
async def test_the_docs_page_links_only_to_the_service_itself(
    client: AsyncTestClient[Any], path: str
) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    links = re.findall(r"""(?:src|href)=["']([^"']*)""", page.text)
    assert links, page.text[:500]
    assert all(link.startswith("/schema/assets/") for link in links), links
    assert "//" not in "".join(links)
    for link in links:
        asset = await client.get(link)
        assert asset.status_code == 200, link
