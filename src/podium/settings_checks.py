"""The checks every :class:`~podium.config.Settings` passes when built: a malformed or out-of-range value, a
database URL that cannot be honoured, a half-configured integration or a production deployment missing
what it needs stops the start with one message naming the variable."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import fields
from typing import get_type_hints
from urllib.parse import urlsplit

from podium.adapters.postgres.urls import DatabaseUrlError, parse_database_url
from podium.config import (
    LOG_LEVELS,
    RANGES,
    Settings,
    SettingsError,
    env_name,
    parsed_database_url,
)


def check(settings: Settings) -> None:
    """Refuse, before anything is served, settings that cannot work or would leak credentials, naming the
    variable: formats, ranges, production's must-haves."""
    hints = get_type_hints(Settings)
    for f in fields(settings):
        if hints[f.name] in (int, float):
            _check_range(f.name, getattr(settings, f.name))
    if settings.log_level.upper() not in LOG_LEVELS:
        levels = ", ".join(LOG_LEVELS)
        raise SettingsError(f"PODIUM_LOG_LEVEL: expected one of {levels}, got {settings.log_level!r}")
    if not settings.host.strip():
        raise SettingsError("PODIUM_HOST: an interface to bind is required")
    for name in URL_SETTINGS:
        if name in OPTIONAL_URL_SETTINGS and not getattr(settings, name):
            continue
        url = urlsplit(getattr(settings, name))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SettingsError(f"{env_name(name)}: expected an http(s) URL, got {getattr(settings, name)!r}")
    _check_database_urls(settings)
    _check_replicas(settings)
    custom_validator_urls(settings.custom_validators)
    if bool(settings.hackclub_client_id) != bool(settings.hackclub_client_secret):
        raise SettingsError(
            "PODIUM_HACKCLUB_CLIENT_ID and PODIUM_HACKCLUB_CLIENT_SECRET go together: set both to enable "
            "Hack Club login, or neither."
        )
    _check_trusted_proxies(settings.trusted_proxies)
    if settings.sentry_dsn:
        dsn = urlsplit(settings.sentry_dsn)
        if dsn.scheme not in ("http", "https") or not dsn.hostname or not dsn.username:
            raise SettingsError("PODIUM_SENTRY_DSN: expected a Sentry DSN, https://<key>@<host>/<project id>")
    if settings.mailer == "loops" and not settings.loops_api_key:
        raise SettingsError("PODIUM_MAILER=loops needs PODIUM_LOOPS_API_KEY (the Loops transactional key).")
    if settings.is_production:
        _check_production(settings)


def _check_database_urls(settings: Settings) -> None:
    for name in ("database_url", "database_direct_url"):
        if getattr(settings, name):
            parsed_database_url(settings, name)
    if settings.database_direct_url and not settings.database_url:
        raise SettingsError(
            "PODIUM_DATABASE_DIRECT_URL needs PODIUM_DATABASE_URL (the embedded server is always direct)."
        )


def _check_replicas(settings: Settings) -> None:
    if not settings.database_replica_urls:
        return
    if not settings.database_url:
        raise SettingsError(
            "PODIUM_DATABASE_REPLICA_URLS needs PODIUM_DATABASE_URL: the replicas are copies of that primary "
            "(the embedded server has none)."
        )
    for index, url in enumerate(settings.database_replica_urls):
        # The URL may carry a password: the parser's messages never echo it; name the entry too.
        try:
            parse_database_url(url, f"PODIUM_DATABASE_REPLICA_URLS (entry {index + 1})")
        except DatabaseUrlError as exc:
            raise SettingsError(str(exc)) from exc


def _check_trusted_proxies(entries: tuple[str, ...]) -> None:
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                "PODIUM_TRUSTED_PROXIES: expected comma-separated IP addresses or networks (CIDR) of your "
                f"reverse proxies, got {entry!r}"
                + (' ("*" would let any client choose its own address)' if entry == "*" else "")
            ) from None


def custom_validator_urls(pairs: tuple[str, ...]) -> dict[str, str]:
    """``PODIUM_CUSTOM_VALIDATORS`` as ``{name: url}``; a malformed entry is a ``SettingsError``."""
    validators: dict[str, str] = {}
    for pair in pairs:
        name, _, url = (part.strip() for part in pair.partition("="))
        parts = urlsplit(url)
        if not name or parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"PODIUM_CUSTOM_VALIDATORS: expected name=http(s)://url pairs, got {pair!r}")
        validators[name] = url
    return validators


def _check_production(settings: Settings) -> None:
    if settings.enable_test_endpoints:
        raise SettingsError(
            "PODIUM_ENABLE_TEST_ENDPOINTS must not be set when PODIUM_ENV=production: its routes let anyone "
            "make themselves a superadmin and delete users."
        )
    if not settings.jwt_secret:
        raise SettingsError(
            "PODIUM_JWT_SECRET is required when PODIUM_ENV=production "
            "(it signs every login token; set it to a long random string)."
        )
    if settings.mailer == "auto" and not settings.loops_api_key:
        raise SettingsError(
            "PODIUM_LOOPS_API_KEY is required when PODIUM_ENV=production: without it every magic link (a "
            "login credential) is written to the log. Set it, or set PODIUM_MAILER=console to log links "
            "on purpose."
        )
    host = urlsplit(settings.production_url).hostname or ""
    if _is_local(host):
        raise SettingsError(
            "PODIUM_PRODUCTION_URL must be the frontend's public URL when PODIUM_ENV=production (every "
            f"emailed magic link starts with it); got {settings.production_url!r}."
        )


URL_SETTINGS = (
    "production_url",
    "loops_api_url",
    "review_factory_url",
    "airtable_endpoint_url",
    "github_api_url",
    "itch_base_url",
    "hackclub_auth_url",
    "hackclub_redirect_uri",
    "turnstile_siteverify_url",
)
OPTIONAL_URL_SETTINGS = frozenset({"itch_base_url", "hackclub_redirect_uri"})


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _check_range(name: str, value: float) -> None:
    if name not in RANGES:
        raise SettingsError(f"{env_name(name)} has no accepted range; add one to podium.config.RANGES")
    low, high = RANGES[name]
    if not (math.isfinite(value) and low <= value <= high):
        raise SettingsError(f"{env_name(name)}: expected a number from {low:,} to {high:,}, got {value!r}")
