"""Settings, read once from ``PODIUM_*`` environment variables into a typed, frozen object."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal, get_args, get_type_hints

log = logging.getLogger(__name__)

PREFIX = "PODIUM_"
Environment = Literal["development", "production"]


def _project_root() -> Path | None:
    """The checkout this code runs from (``src/podium/config.py`` under a ``pyproject.toml``), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "podium").is_dir() else None


def settings_base() -> Path:
    """What a relative path in a setting is relative to: never the folder the command was run from.

    The project's checkout when running from one (``uv run``, ``./bin/serve``, the Docker image),
    else a per-user folder (``$XDG_DATA_HOME/podium``, by default ``~/.local/share/podium``).
    """
    root = _project_root()
    if root is not None:
        return root
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share") / "podium"


def resolve_setting_path(path: Path) -> Path:
    """``path`` made absolute: ``~`` expanded, a relative path taken from :func:`settings_base`."""
    path = path.expanduser()
    return path if path.is_absolute() else settings_base() / path


def default_data_dir() -> Path:
    return resolve_setting_path(Path(".data"))


class SettingsError(ValueError):
    """A setting is missing or malformed; raised at start-up, before anything is served."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the service. Field ``x`` is read from ``PODIUM_X``."""

    env: Environment = "development"

    # Database. Without a URL the service runs an embedded PostgreSQL with its data in ``data_dir``
    # (relative paths are taken from the project's checkout, never from the current folder).
    database_url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    db_pool_size: int = 10
    # No overflow: an overflow connection is opened for a burst and closed when it is returned, and that
    # churn (connect, authenticate, fork a backend) costs more than queueing for a pooled connection.
    db_max_overflow: int = 0
    db_pool_timeout: float = 5.0
    db_statement_timeout_ms: int = 10_000
    db_connect_timeout: float = 5.0

    # Authentication.
    jwt_secret: str = ""
    jwt_algorithm: str = "HS256"
    jwt_expire_minutes: int = 2880
    magic_link_expire_minutes: int = 15
    # Login attempts (request-login and verify) per email, and per client address, in one window.
    login_rate_limit: int = 5
    login_ip_rate_limit: int = 600
    login_rate_window_seconds: int = 60
    # Join-code lookups (POST /events/attend, /projects/join) per user, and per client address, in one
    # window: every lookup counts, so once over the limit a right guess is refused like a wrong one.
    # Per-address limits are generous: a whole venue often shares one address at kickoff, and the
    # per-email / per-user limits are what stop guessing and mail floods.
    join_rate_limit: int = 20
    join_ip_rate_limit: int = 3000
    join_rate_window_seconds: int = 600

    # Mail (Loops' transactional API); without a key the magic link is logged.
    loops_api_key: str = ""
    loops_transactional_id: str = "cmg1hjhed4xyi0r0ijvfyyqa1"
    loops_api_url: str = "https://app.loops.so/api/v1/transactional"
    production_url: str = "http://localhost:5173"

    # Project checks (the external review service).
    review_factory_url: str = "https://review-factory-backend.hackclub.com"
    review_factory_token: str = ""

    # HTTP.
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    cors_allow_origins: tuple[str, ...] = ("*",)
    max_request_body_bytes: int = 1_048_576
    # On SIGTERM, in-flight requests get this long to finish before they are cancelled.
    shutdown_timeout_seconds: int = 10
    # Shared by the workers of one ``podium serve`` so ``/metrics`` sums them (set by the CLI).
    metrics_dir: Path | None = None
    leaderboard_cache: bool = True
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    # The Airtable source of the one-time backfill.
    airtable_token: str = ""
    airtable_base_id: str = ""
    airtable_users_table_id: str = ""
    airtable_events_table_id: str = ""
    airtable_projects_table_id: str = ""
    airtable_referrals_table_id: str = ""
    airtable_votes_table_id: str = ""
    airtable_endpoint_url: str = "https://api.airtable.com"

    jwt_secret_generated: bool = field(default=False, compare=False)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; a missing secret in production is an error."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            if raw is None or f.name == "jwt_secret_generated":
                continue
            values[f.name] = _parse(f.name, hints[f.name], raw)
        settings = cls(**values)  # type: ignore[arg-type]
        if not settings.jwt_secret:
            if settings.is_production:
                raise SettingsError(
                    "PODIUM_JWT_SECRET is required when PODIUM_ENV=production "
                    "(it signs every login token; set it to a long random string)."
                )
            settings = _with(settings, jwt_secret=secrets.token_urlsafe(48), jwt_secret_generated=True)
        return settings


def _with(settings: Settings, **changes: object) -> Settings:
    values = {f.name: getattr(settings, f.name) for f in fields(settings)}
    values.update(changes)
    return Settings(**values)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse(name: str, hint: object, raw: str) -> object:
    env_name = PREFIX + name.upper()
    try:
        if hint is bool:
            lowered = raw.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError(f"expected true or false, got {raw!r}")
            return lowered in _TRUE
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        if hint is Path:
            return resolve_setting_path(Path(raw))
        if hint == tuple[str, ...]:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if hint == str | None:
            return raw or None
        if hint == Path | None:
            return resolve_setting_path(Path(raw)) if raw else None
        allowed = get_args(hint)
        if allowed and raw not in allowed:
            raise ValueError(f"expected one of {', '.join(map(str, allowed))}, got {raw!r}")
        return raw
    except ValueError as exc:
        raise SettingsError(f"{env_name}: {exc}") from exc
