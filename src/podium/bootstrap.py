"""The composition root: wires adapters into use-cases, for the HTTP app and the CLI alike."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.airtable.snapshot import SnapshotSource, SnapshotWriter
from podium.adapters.airtable.source import AirtableSource
from podium.adapters.airtable.writer import AirtableWriter
from podium.adapters.disposable_emails import MailCheckerList
from podium.adapters.hackclub import HackClubIdentity
from podium.adapters.link_checks.custom import CustomValidator
from podium.adapters.link_checks.github import GithubRepoValidator
from podium.adapters.link_checks.itch import ItchPageValidator
from podium.adapters.link_checks.reachable import ReachableValidator
from podium.adapters.mail.console import ConsoleMailer
from podium.adapters.mail.loops import LoopsMailer
from podium.adapters.postgres.backfill_store import PostgresBackfillStore
from podium.adapters.postgres.database import create_engine
from podium.adapters.postgres.exports import PostgresExports
from podium.adapters.postgres.failures import describe as describe_failure
from podium.adapters.postgres.failures import schema_state
from podium.adapters.postgres.rate_limiter import PostgresRateLimiter
from podium.adapters.postgres.replicas import replica_router
from podium.adapters.postgres.smoke_cleanup import E2eTestData, SmokeCleanup
from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
from podium.adapters.postgres.urls import parse_database_url
from podium.adapters.review_checks import HttpProjectChecks
from podium.adapters.tokens import JwtCodec
from podium.adapters.turnstile import TurnstileSiteverify
from podium.config import Settings
from podium.domain.backfill import SourceTable
from podium.domain.ports import Mailer
from podium.domain.services.auth import AuthPolicy, AuthService
from podium.domain.services.e2e import E2eFixtures
from podium.domain.services.events import EventService
from podium.domain.services.exports import ExportService
from podium.domain.services.human_check import HumanGate
from podium.domain.services.join_codes import JoinCodeGuard, JoinCodePolicy
from podium.domain.services.oauth import OAuthLogin
from podium.domain.services.projects import CheckPolicy, ProjectService
from podium.domain.services.superadmin import SuperadminService
from podium.domain.services.users import UserService
from podium.domain.services.validation import (
    GITHUB,
    ITCH,
    REACHABLE,
    ValidationPolicy,
    ValidationService,
    custom_key,
)
from podium.domain.services.voting import VotingService
from podium.domain.web_services import LinkValidator
from podium.settings_checks import custom_validator_urls

log = logging.getLogger(__name__)


SCHEMA_RECHECK_SECONDS = 1.0


@dataclass
class SchemaGate:
    """Why the database cannot serve yet (None once its schema is current), and when that was checked."""

    problem: str | None = "not checked yet"
    checked_at: float = -float("inf")


@dataclass
class Container:
    """Everything a request or a command needs, built once per process."""

    settings: Settings
    engine: AsyncEngine
    auth: AuthService = field(init=False)
    users: UserService = field(init=False)
    events: EventService = field(init=False)
    projects: ProjectService = field(init=False)
    voting: VotingService = field(init=False)
    superadmin: SuperadminService = field(init=False)
    exports: ExportService = field(init=False)
    validation: ValidationService = field(init=False)
    e2e: E2eFixtures = field(init=False)
    oauth: OAuthLogin = field(init=False)
    human: HumanGate = field(init=False)
    uow: SqlAlchemyUnitOfWorkFactory = field(init=False)
    schema_gate: SchemaGate = field(init=False, default_factory=lambda: SchemaGate())
    engine_url: str = field(init=False, default="")

    def __post_init__(self) -> None:
        settings = self.settings
        self.engine_url = settings.database_url or self.engine.url.render_as_string(hide_password=False)
        self.uow = uow = SqlAlchemyUnitOfWorkFactory(self.engine, replica_router(settings, self.engine))
        limiter = PostgresRateLimiter(self.engine)
        join_guard = JoinCodeGuard(
            limiter,
            JoinCodePolicy(
                attempts_per_user=settings.join_rate_limit,
                attempts_per_client=settings.join_ip_rate_limit,
                window_seconds=settings.join_rate_window_seconds,
            ),
        )
        disposable = MailCheckerList() if settings.blocks_disposable_emails else None
        codec = JwtCodec(settings.jwt_secret, settings.jwt_algorithm)  # logins' tokens and OAuth's state
        self.auth = AuthService(
            uow,
            codec,
            _mailer(settings),
            limiter,
            AuthPolicy(
                frontend_url=settings.production_url.rstrip("/"),
                access_token_minutes=settings.jwt_expire_minutes,
                magic_link_minutes=settings.magic_link_expire_minutes,
                attempts_per_email=settings.login_rate_limit,
                attempts_per_client=settings.login_ip_rate_limit,
                window_seconds=settings.login_rate_window_seconds,
            ),
            disposable=disposable,
        )
        self.users = UserService(uow, disposable)
        self.events = EventService(uow, join_guard=join_guard)
        self.projects = ProjectService(
            uow,
            HttpProjectChecks(settings.review_factory_url, settings.review_factory_token),
            join_guard,
            limiter,
            CheckPolicy(
                starts_per_client=settings.check_rate_limit,
                starts_per_project=settings.check_project_rate_limit,
                window_seconds=settings.check_rate_window_seconds,
            ),
        )
        self.voting = VotingService(uow)
        self.superadmin = SuperadminService(uow)
        self.exports = ExportService(uow, PostgresExports(self.engine))
        # Podium HEAD's client (issue 25).
        self.validation = ValidationService(
            uow,
            link_validators(settings),
            limiter,
            ValidationPolicy(settings.validate_rate_limit, settings.validate_rate_window_seconds),
        )
        self.e2e = E2eFixtures(uow, E2eTestData(self.engine), self.superadmin)
        self.oauth = OAuthLogin(
            uow, _hackclub(settings), codec, self.auth.magic_link_token, disposable=disposable
        )
        self.human = HumanGate(
            TurnstileSiteverify(
                settings.turnstile_siteverify_url,
                settings.turnstile_secret_key,
                timeout=settings.turnstile_timeout_seconds,
            )
            if settings.turnstile_secret_key
            else None
        )

    @classmethod
    def build(cls, settings: Settings) -> Container:
        return cls(settings=settings, engine=create_engine(settings, pooled=settings.transaction_pooler))

    async def database_ok(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not healthy"
            log.warning("health check failed", extra={"error": type(exc).__name__})
            return False
        return True

    async def schema_current(self) -> bool:
        """True once the database's schema is the one this code needs. Until then it is checked again at
        most once a second (requests answer 503 meanwhile), and each new reason is logged once, in one
        line: the database unreachable (naming the setting), or the schema missing or behind ("run
        `podium db upgrade`")."""
        gate = self.schema_gate
        if gate.problem is None:
            return True
        now = time.monotonic()
        if now - gate.checked_at < SCHEMA_RECHECK_SECONDS:
            return False
        gate.checked_at = now
        try:
            problem = (await schema_state(self.engine)).problem() or None
        except Exception as exc:  # unreachable: said in one line; anything else is a bug, logged in full
            url = parse_database_url(self.engine_url, "PODIUM_DATABASE_URL")
            problem = describe_failure(exc, url)
            if problem is None:
                log.exception("the database schema check failed")
                problem = type(exc).__name__
            # Not a verdict on the schema (the database was out of reach, or the pool busy): the next
            # request checks again rather than waiting out the second.
            gate.checked_at = 0.0
        else:
            if problem is not None:
                problem = f"PODIUM_DATABASE_URL: {problem}"
        if problem != gate.problem:
            if problem is None:
                log.info("the database schema is current: serving")
            else:
                log.error("not serving until the database is ready: %s", problem)
        gate.problem = problem
        return problem is None

    async def close(self) -> None:
        if self.uow.replicas is not None:
            await self.uow.replicas.dispose()
        await self.engine.dispose()


def link_validators(settings: Settings) -> dict[str, LinkValidator]:
    """The project validators, by the names the events' settings use (``validation.GITHUB`` …)."""
    timeout = settings.validation_timeout_seconds
    validators: dict[str, LinkValidator] = {
        GITHUB: GithubRepoValidator(settings.github_api_url, settings.github_token, timeout=timeout),
        ITCH: ItchPageValidator(settings.itch_base_url, timeout=timeout),
        REACHABLE: ReachableValidator(timeout=timeout, allow_private=settings.validation_allow_private_hosts),
    }
    for name, url in custom_validator_urls(settings.custom_validators).items():
        validators[custom_key(name)] = CustomValidator(name, url, timeout=timeout)
    return validators


def _hackclub(settings: Settings) -> HackClubIdentity | None:
    if not settings.hackclub_client_id:
        return None
    return HackClubIdentity(
        settings.hackclub_auth_url,
        settings.hackclub_client_id,
        settings.hackclub_client_secret,
        timeout=settings.hackclub_timeout_seconds,
    )


def _mailer(settings: Settings) -> Mailer:
    if settings.logs_magic_links:
        log.warning("magic links are written to the log, not mailed (PODIUM_LOOPS_API_KEY / PODIUM_MAILER)")
        return ConsoleMailer()
    return LoopsMailer(settings.loops_api_key, settings.loops_transactional_id, settings.loops_api_url)


# The cutover commands' adapters: Airtable (read-only), snapshots on disk, and the backfill's store.


def _airtable_table_ids(settings: Settings) -> dict[SourceTable, str]:
    return {
        SourceTable.USERS: settings.airtable_users_table_id,
        SourceTable.EVENTS: settings.airtable_events_table_id,
        SourceTable.PROJECTS: settings.airtable_projects_table_id,
        SourceTable.REFERRALS: settings.airtable_referrals_table_id,
        SourceTable.VOTES: settings.airtable_votes_table_id,
    }


def airtable_source(settings: Settings, notify: Callable[[str], None] | None = None) -> AirtableSource:
    """The v1 base, read; ``notify`` hears of every long wait (a 429's back-off)."""
    return AirtableSource(
        token=settings.airtable_token,
        base_id=settings.airtable_base_id,
        table_ids=_airtable_table_ids(settings),
        endpoint_url=settings.airtable_endpoint_url,
        notify=notify,
    )


def airtable_writer(settings: Settings, notify: Callable[[str], None] | None = None) -> AirtableWriter:
    """The v1 base, written (write-back); a separate adapter from the read-only source."""
    return AirtableWriter(
        token=settings.airtable_token,
        base_id=settings.airtable_base_id,
        table_ids=_airtable_table_ids(settings),
        endpoint_url=settings.airtable_endpoint_url,
        notify=notify,
    )


def snapshot_source(directory: Path) -> SnapshotSource:
    return SnapshotSource(directory)


def snapshot_writer(
    directory: Path, settings: Settings, formats: Sequence[str] = ("json",)
) -> SnapshotWriter:
    return SnapshotWriter(directory, base_id=settings.airtable_base_id, formats=formats)


@asynccontextmanager
async def backfill_store(settings: Settings, database_url: str) -> AsyncIterator[PostgresBackfillStore]:
    """The backfill's PostgreSQL store on its own engine, disposed of when the run ends."""
    engine = create_engine(settings, database_url)
    try:
        yield PostgresBackfillStore(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def smoke_cleanup(settings: Settings, database_url: str, domain: str) -> AsyncIterator[SmokeCleanup]:
    """What removes the smoke test's rows, on its own engine, disposed of afterwards."""
    engine = create_engine(settings, database_url)
    try:
        yield SmokeCleanup(engine, domain)
    finally:
        await engine.dispose()


def token_codec(secret: str, algorithm: str) -> JwtCodec:
    """Tokens as the server signs them (the smoke test logs in with the server's secret)."""
    return JwtCodec(secret, algorithm)


@asynccontextmanager
async def superadmin_service(settings: Settings, database_url: str) -> AsyncIterator[SuperadminService]:
    """The superadmin use-cases on their own engine (``podium admin``), disposed of when the command ends."""
    engine = create_engine(settings, database_url)
    try:
        yield SuperadminService(SqlAlchemyUnitOfWorkFactory(engine))
    finally:
        await engine.dispose()
