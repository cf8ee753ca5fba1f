"""Settings, read once from ``PODIUM_*`` environment variables into a typed, frozen object."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal, get_args, get_type_hints

from podium.adapters.postgres.urls import DatabaseUrl, DatabaseUrlError, parse_database_url

log = logging.getLogger(__name__)

PREFIX = "PODIUM_"
Environment = Literal["development", "production"]
# Who delivers magic links: Loops when a key is set (``auto``), or the log. In production the log is
# chosen only explicitly (``console``): a logged link is a login credential in the log.
MailerChoice = Literal["auto", "loops", "console"]
Frontend = Literal["legacy", "head"]
JwtAlgorithm = Literal["HS256", "HS384", "HS512"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_PRODUCTION_URL = "http://localhost:5173"
# The longest rate-limit window: the limiter keeps its counters one day (longer windows would be reset).
MAX_RATE_WINDOW_SECONDS = 86_400
MAX_WORKERS = 256

# The accepted range (inclusive) of every numeric setting; a setting missing here is a start-up error,
# so a new knob cannot skip its check. Each bound is where the setting stops making sense or starts
# failing at run time (a window past the limiter's retention, a lifetime past what a date can hold...).
RANGES: dict[str, tuple[float, float]] = {
    "db_pool_size": (1, 1000),
    "db_max_overflow": (0, 1000),
    "db_pool_timeout": (0.001, 600),
    "db_statement_timeout_ms": (1, 3_600_000),
    "db_connect_timeout": (0.001, 600),
    "replica_max_lag_ms": (1, 3_600_000),
    "sentry_traces_sample_rate": (0, 1),
    "jwt_expire_minutes": (1, 525_600),  # a year
    "magic_link_expire_minutes": (1, 1440),  # a day
    "login_rate_limit": (1, 1_000_000),
    "login_ip_rate_limit": (1, 1_000_000),
    "login_rate_window_seconds": (1, MAX_RATE_WINDOW_SECONDS),
    "join_rate_limit": (1, 1_000_000),
    "join_ip_rate_limit": (1, 1_000_000),
    "join_rate_window_seconds": (1, MAX_RATE_WINDOW_SECONDS),
    "port": (1, 65_535),
    "workers": (1, MAX_WORKERS),
    "max_request_body_bytes": (1024, 1 << 30),
    "shutdown_timeout_seconds": (0, 3600),
    "worker_healthcheck_seconds": (1, 3600),
    "live_min_interval_ms": (0, 60_000),
    "live_max_streams": (1, 1_000_000),
    "live_max_streams_per_client": (1, 1_000_000),
    "header_timeout_seconds": (0.1, 3600),
    "live_idle_timeout_seconds": (1, 86_400),
    "live_heartbeat_seconds": (0.01, 3600),
    "validation_timeout_seconds": (0.1, 120),
    "validate_rate_limit": (1, 1_000_000),
    "validate_rate_window_seconds": (1, MAX_RATE_WINDOW_SECONDS),
    "check_rate_limit": (1, 1_000_000),
    "check_project_rate_limit": (1, 1_000_000),
    "check_rate_window_seconds": (1, MAX_RATE_WINDOW_SECONDS),
    "turnstile_timeout_seconds": (0.1, 120),
    "hackclub_timeout_seconds": (0.1, 120),
}


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


DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0


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
    # Streaming replicas of the primary for public reads (docs/scaling.md): a replica answers only when
    # it has replayed every change acknowledged before the read began, else the primary does. One lagging
    # further behind than ``replica_max_lag_ms`` is left alone for a while.
    database_replica_urls: tuple[str, ...] = ()
    replica_max_lag_ms: int = 1000
    # What needs a session of its own (LISTEN, migrations, backups, the CLI's commands) connects here
    # when the service's URL is a transaction-mode pooler (docs/operations.md); defaults to database_url.
    database_direct_url: str | None = None
    # ``transaction``: database_url is a transaction-mode pooler (PgBouncer, Supavisor, Neon's pooled
    # host): no startup settings, no prepared statement outliving its transaction. ``auto``: that when
    # database_direct_url differs from database_url, or the host name says "pooler"; else ``none``.
    database_pooler: Literal["auto", "none", "transaction"] = "auto"

    # Authentication.
    jwt_secret: str = ""
    jwt_algorithm: JwtAlgorithm = "HS256"
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

    # Mail (Loops' transactional API); without a key the magic link is logged (development only, unless
    # ``mailer`` is ``console``).
    mailer: MailerChoice = "auto"
    loops_api_key: str = ""
    loops_transactional_id: str = "cmg1hjhed4xyi0r0ijvfyyqa1"
    loops_api_url: str = "https://app.loops.so/api/v1/transactional"
    production_url: str = DEFAULT_PRODUCTION_URL

    # Project checks (the external review service).
    review_factory_url: str = "https://review-factory-backend.hackclub.com"
    review_factory_token: str = ""
    # Anonymous check starts that reach the review service (not cached answers) per client address, and
    # per project, in one window: one client looping must not get the service token throttled.
    check_rate_limit: int = 10
    check_project_rate_limit: int = 5
    check_rate_window_seconds: int = 60

    # Organiser tools (issue 15). The official events are those whose feature flags name this series.
    active_event_series: str = ""
    # Signup and login refuse throwaway-mail domains: ``auto`` is on in production, off in development
    # (so local ``.local`` addresses keep working).
    disposable_email_check: Literal["auto", "on", "off"] = "auto"

    # Which frontend this deployment serves (PRODUCT §7): they disagree on one shape only,
    # ``owner_display_name`` (a one-element list for ``legacy``, b91's client; a string for ``head``).
    frontend: Frontend = "legacy"
    # Podium HEAD's test-only routes (``/events/test/*``, ``/users/test/*``) for its E2E suite; refused
    # in production.
    enable_test_endpoints: bool = False

    # Project validation (HEAD's ``/projects/validate``): each service is asked with this timeout, and a
    # slow, failing or rate-limiting one gives "could not check", never an error.
    validation_timeout_seconds: float = 10.0
    validate_rate_limit: int = 10
    validate_rate_window_seconds: int = 60
    github_api_url: str = "https://api.github.com"
    github_token: str = ""
    # Empty: itch.io pages are fetched from their own address; set, ``https://USER.itch.io/GAME`` is
    # fetched from ``{itch_base_url}/USER/GAME`` (a mirror, or a test's fake).
    itch_base_url: str = ""
    # Custom validators an event can name (``custom_validator``): ``name=url`` pairs; each is POSTed
    # ``{"url": ..., "type": "repo"|"demo"}`` and answers ``{"valid": bool, "message": str}``.
    custom_validators: tuple[str, ...] = ()
    # Demo URLs are fetched only on public addresses, unless this allows private ones (tests, intranets).
    validation_allow_private_hosts: bool = False

    # Hack Club OAuth ("Log in with Hack Club"): off (404) unless the client id and secret are set.
    hackclub_client_id: str = ""
    hackclub_client_secret: str = ""
    hackclub_auth_url: str = "https://auth.hackclub.com"
    # Empty: ``{this server's URL}/auth/hackclub/callback`` (what HEAD registers).
    hackclub_redirect_uri: str = ""
    hackclub_timeout_seconds: float = 10.0

    # Cloudflare Turnstile: with a secret, signup and the login's account check need a valid
    # ``X-Turnstile-Token``; without one, no check.
    turnstile_secret_key: str = ""
    turnstile_siteverify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    turnstile_timeout_seconds: float = 10.0

    # HTTP.
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    cors_allow_origins: tuple[str, ...] = ("*",)
    # Addresses or networks of the reverse proxies in front (HAProxy, nginx, a cloud balancer): only a
    # connection from one of them may name the client in X-Forwarded-For; every per-client limit (logins,
    # join codes, live streams) counts that client. Empty: trust no header.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    # A request whose headers have not all arrived this long after its first byte is closed (slowloris):
    # one client must not hold connections open for free.
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    max_request_body_bytes: int = 1_048_576
    # On SIGTERM, in-flight requests get this long to finish before they are cancelled.
    shutdown_timeout_seconds: int = 10
    # With --workers N > 1: how long a worker may take to answer its supervisor's ping (while it starts or
    # while the box is saturated) before it is killed and replaced. uvicorn's own 5 s crash-looped workers
    # on a loaded 2-core box (they never finished importing in time).
    worker_healthcheck_seconds: int = 30
    leaderboard_cache: bool = True
    # Live lists (GET /events/{id}/projects/live): at most one message per event per interval, at most
    # this many open streams per worker, a stream with no new list for this long ends (the browser
    # reconnects if it is still there), and a comment line this often keeps proxies from closing it.
    live_min_interval_ms: int = 100
    live_max_streams: int = 5000
    # Open live streams per client address and worker: one client cannot take every stream of a worker.
    # A client is an IPv4 address or an IPv6 /64 (domain.clients.client_key), as for every per-client limit.
    live_max_streams_per_client: int = 20
    live_idle_timeout_seconds: int = 3600
    live_heartbeat_seconds: float = 15.0
    log_level: str = "INFO"
    # auto: readable lines when stderr is a terminal, JSON otherwise (podium.logging).
    log_format: Literal["auto", "json", "console"] = "auto"

    # The Airtable source of the one-time backfill.
    airtable_token: str = ""
    airtable_base_id: str = ""
    airtable_users_table_id: str = ""
    airtable_events_table_id: str = ""
    airtable_projects_table_id: str = ""
    airtable_referrals_table_id: str = ""
    airtable_votes_table_id: str = ""
    airtable_endpoint_url: str = "https://api.airtable.com"

    # Error tracking (Sentry): off without a DSN. Events carry the user's id, never an email, a request
    # body or other personal data.
    sentry_dsn: str = ""
    sentry_environment: str = ""
    sentry_traces_sample_rate: float = 0.0

    jwt_secret_generated: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        from podium.settings_checks import check  # it reads Settings' fields: imported once built

        check(self)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def blocks_disposable_emails(self) -> bool:
        return self.disposable_email_check == "on" or (
            self.disposable_email_check == "auto" and self.is_production
        )

    @property
    def direct_database_url(self) -> str | None:
        """The URL of a real session: ``database_direct_url``, else ``database_url``."""
        return self.database_direct_url or self.database_url

    @property
    def transaction_pooler(self) -> bool:
        """True when ``database_url`` leads to a transaction-mode pooler (``database_pooler``)."""
        if self.database_pooler != "auto":
            return self.database_pooler == "transaction"
        if not self.database_url:
            return False
        if self.database_direct_url and self.database_direct_url != self.database_url:
            return True
        return any("pooler" in host for host in parsed_database_url(self, "database_url").hosts)

    @property
    def logs_magic_links(self) -> bool:
        """True when magic links go to the log instead of a mail provider."""
        return self.mailer == "console" or (self.mailer == "auto" and not self.loops_api_key)

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
        if not values.get("jwt_secret") and values.get("env") != "production":
            values.update(jwt_secret=secrets.token_urlsafe(48), jwt_secret_generated=True)
        return cls(**values)  # type: ignore[arg-type]


def parsed_database_url(settings: Settings, name: str, url: str | None = None) -> DatabaseUrl:
    """The setting ``name`` (or ``url``, one of its entries) parsed; a :class:`SettingsError` names it."""
    value = url if url is not None else getattr(settings, name)
    try:
        return parse_database_url(value, env_name(name))
    except DatabaseUrlError as exc:
        raise SettingsError(str(exc)) from exc


def env_name(name: str) -> str:
    """The environment variable of the setting ``name``."""
    return PREFIX + name.upper()


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse(name: str, hint: object, raw: str) -> object:
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
        raise SettingsError(f"{env_name(name)}: {exc}") from exc
