"""Issue 23: unexpected errors go to Sentry (``PODIUM_SENTRY_DSN``) with the user's id and never an email,
a request body or a token; errors answered on purpose are not sent; nothing is sent without a DSN.

The ingest server is a local fake over real HTTP: the SDK's own transport posts its envelopes to it."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import sentry_sdk

from podium.config import Settings
from tests.ops.conftest import app_client, person
from tests.support.fake_http import FakeHttpServer, RecordedRequest

SECRET_EMAIL = "secret.person@example.com"


def _items(request: RecordedRequest) -> list[dict[str, Any]]:
    """The JSON items of one envelope (a header line, then item header / payload line pairs)."""
    body = (
        gzip.decompress(request.body) if request.headers.get("content-encoding") == "gzip" else request.body
    )
    lines = [line for line in body.split(b"\n") if line.strip()]
    return [json.loads(line) for line in lines[2::2]]


async def test_an_unexpected_error_is_sent_with_the_user_id_and_no_personal_data(
    settings: Settings, clean_database: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeHttpServer() as ingest:
        host = ingest.url.removeprefix("http://")
        dsn = f"http://publickey@{host}/42"
        async with app_client(settings, sentry_dsn=dsn, sentry_environment="staging") as client:
            user = await person(client, SECRET_EMAIL)

            async def explode(*_: Any, **__: Any) -> Any:
                raise RuntimeError(f"the profile of {SECRET_EMAIL} broke")

            monkeypatch.setattr(client.app.state.container.users, "update", explode)
            body = {"first_name": "Body-only-text", "display_name": "Do not send me"}
            headers = {**user.headers, "Cookie": "session=cookie-value"}
            failed = await client.put("/users/current", json=body, headers=headers)
            assert failed.status_code == 500
            # Answered on purpose: never sent.
            assert (await client.get("/events/00000000-0000-0000-0000-000000000000")).status_code == 404
            assert (
                await client.put("/users/current", json={"first_name": 5}, headers=user.headers)
            ).status_code == 422
        # The app's shutdown sends what is queued.
        envelopes = [request for request in ingest.requests if request.path == "/api/42/envelope/"]

    events = [item for request in envelopes for item in _items(request) if "exception" in item]
    assert len(events) == 1
    (event,) = events
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "the profile of [email] broke"
    assert event["user"] == {"id": user.id}
    assert event["environment"] == "staging"
    assert event["release"].startswith("podium@")
    assert event["request"]["method"] == "PUT"
    # The source lines around each frame are this test's own code, which spells the private values out.
    for value in event["exception"]["values"]:
        for frame in (value.get("stacktrace") or {}).get("frames", []):
            for key in ("pre_context", "context_line", "post_context"):
                frame.pop(key, None)
    sent = json.dumps(event)
    for private in (SECRET_EMAIL, "Body-only-text", "Do not send me", "cookie-value", user.token):
        assert private not in sent
    assert not sentry_sdk.get_client().is_active()  # stopped with the app


async def test_without_a_dsn_nothing_is_started(settings: Settings, clean_database: object) -> None:
    async with app_client(settings) as client:
        assert (await client.get("/health")).status_code == 200
        assert not sentry_sdk.get_client().is_active()
