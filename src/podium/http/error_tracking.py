"""Error tracking with Sentry (``PODIUM_SENTRY_DSN``), as the legacy backend had; off without a DSN.

What is sent: the unexpected errors — the requests answered 500, reported by
:func:`podium.http.errors.handle_unexpected`, the one place that decides a 500 — with their stack trace,
the route, the release (``podium@<version>``), the environment and the authenticated user's **id**. What
is never sent: request bodies, cookies, the ``Authorization`` header, query strings (a magic link's token
travels in one), email addresses, IP addresses, log records, local variables. The SDK's
``data_collection`` (its successor of ``send_default_pii=False``) and ``max_request_body_size="never"``
say so, and :func:`scrub` makes sure of it on every event.
Errors the service answers on purpose (4xx, 503 while the database is away) are not sent.
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import version
from typing import Any

from podium.config import Settings

log = logging.getLogger(__name__)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)bearer\s+\S+")
_KEPT_HEADERS = {"content-type", "content-length", "user-agent", "accept", "host"}
_enabled = False


def start_error_tracking(settings: Settings) -> bool:
    """Start sending unexpected errors to ``PODIUM_SENTRY_DSN``; False (and nothing started) without one."""
    global _enabled
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.litestar import LitestarIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment or settings.env,
        release=f"podium@{version('podium')}",
        traces_sample_rate=settings.sentry_traces_sample_rate,
        max_request_body_size="never",
        # The SDK's successor of send_default_pii=False, spelled out: nothing personal is collected.
        data_collection={
            "user_info": False,  # no IP address or user object of its own: identify() sets the id
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(_KEPT_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},  # a magic link's token travels in one
            "database_query_data": False,
            "stack_frame_variables": False,  # a frame's variables hold request bodies, emails, tokens
        },
        # Log records carry emails (a magic link's recipient, in development): neither events nor breadcrumbs.
        integrations=[LitestarIntegration(), LoggingIntegration(level=None, event_level=None)],
        before_send=scrub,
        before_send_transaction=scrub,
    )
    _enabled = True
    log.info("unexpected errors are reported to Sentry", extra={"environment": settings.sentry_environment})
    return True


def stop_error_tracking(timeout: float = 2.0) -> None:
    """Send what is queued (for up to ``timeout`` seconds) and stop."""
    global _enabled
    if not _enabled:
        return
    import sentry_sdk

    client = sentry_sdk.get_client()
    client.flush(timeout=timeout)
    client.close()
    sentry_sdk.get_global_scope().set_client(None)
    _enabled = False


def identify(user_id: object) -> None:
    """Attach the authenticated user's id (and nothing else about them) to this request's events."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.set_user({"id": str(user_id)})


def report(exc: BaseException) -> None:
    """Send ``exc``, an error the service answers with a 500."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)


def scrub(event: Any, hint: Any) -> Any:
    """Keep personal data out of ``event``; drop the framework's own report of an exception (the errors the
    service means to answer are not errors, and the 500s are reported by :func:`report`)."""
    for value in (event.get("exception") or {}).get("values") or []:
        if (value.get("mechanism") or {}).get("type") == "litestar":
            return None
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS}
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    event.pop("breadcrumbs", None)
    return _redact(event)


def _redact(value: Any) -> Any:
    """Email addresses and bearer tokens replaced wherever a string holds one (exception messages too)."""
    if isinstance(value, str):
        return _BEARER.sub("Bearer [redacted]", _EMAIL.sub("[email]", value))
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value
