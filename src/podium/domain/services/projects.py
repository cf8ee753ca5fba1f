"""Projects, collaborators and the external project checks (legacy §2.5, §4.3; PRODUCT §3.11–3.12, §3.20)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from podium.domain.clients import client_limit_key
from podium.domain.errors import (
    BAD_ACCESS,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unavailable,
    Unprocessable,
    UpstreamFailed,
)
from podium.domain.models import Project, ProjectView, User
from podium.domain.ports import (
    LockPurpose,
    ProjectChecks,
    RateLimiter,
    UnitOfWork,
    UnitOfWorkFactory,
    UpstreamError,
)
from podium.domain.rules import normalize_join_code
from podium.domain.services.access import require_open, shown_to
from podium.domain.services.join_codes import JoinCodeGuard, with_fresh_join_code
from podium.domain.services.validation import initial_status

PROJECT_NOT_FOUND = "Project not found"
DEMO_REQUIRED = "Demo URL is required for this event"
PII_REQUIRED = (
    "This event requires your mailing address and date of birth: add your street address, city, country and"
    " date of birth to your profile before submitting a project"
)
UPDATABLE_FIELDS = frozenset({"name", "repo", "image_url", "demo", "description", "hours_spent"})
CACHED_CHECK_ID = "cached"
TOO_MANY_CHECKS = "Too many project checks, please try again later"


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    """Anonymous ``/projects/check/start`` calls that reach the review service (with Podium's own token),
    per client (an IPv6 client is its /64) and per project, in one window."""

    starts_per_client: int = 10
    starts_per_project: int = 5
    window_seconds: int = 60


@dataclass(frozen=True, slots=True)
class NewProject:
    name: str
    repo: str
    image_url: str
    event_id: UUID
    demo: str = ""
    description: str = ""
    hours_spent: int = 0


class ProjectService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        checks: ProjectChecks,
        join_guard: JoinCodeGuard | None = None,
        limiter: RateLimiter | None = None,
        check_policy: CheckPolicy | None = None,
    ) -> None:
        self._uow = uow
        self._checks = checks
        self._join_guard = join_guard or JoinCodeGuard(None)
        self._limiter = limiter
        self._check_policy = check_policy or CheckPolicy()

    async def create(self, owner: User, new: NewProject) -> Project:
        """Submit a project to an event the caller attends; it gets a join code for teammates."""
        async with self._uow() as uow:
            event = await uow.events.lock(new.event_id, "keep")
            if event is None:
                raise NotFound("Event not found")
            require_open(owner, event)
            if not event.demo_links_optional and not new.demo.strip():
                raise Unprocessable(DEMO_REQUIRED)
            if not await uow.attendance.is_attending(event.id, owner.id):
                raise Forbidden("Owner not part of event")
            if event.require_ysws_pii and not owner.has_ysws_pii:
                raise Invalid(PII_REQUIRED)

            async def add(join_code: str) -> Project:
                project = Project(
                    **dataclasses.asdict(new),
                    owner_id=owner.id,
                    join_code=join_code,
                    validation_status=initial_status(event),
                )
                await uow.projects.add(project)
                return project

            project = await with_fresh_join_code(add)
            await uow.commit()
        return project

    async def get(self, project_id: UUID) -> ProjectView:
        """A project as anyone sees it: one in a draft (or deleted) event does not exist for the public."""

        async def read(uow: UnitOfWork) -> ProjectView | None:
            view = await uow.projects.view(project_id)
            if view is None:
                return None
            event = await uow.events.get(view.project.event_id)
            return view if event is not None and shown_to(None, event) else None

        view = await self._uow.read_public(read)
        if view is None:
            raise NotFound(PROJECT_NOT_FOUND)
        return view

    async def mine(self, user: User) -> list[ProjectView]:
        """The caller's projects, but those in an event moved back to draft (unless they organise it)."""
        async with self._uow(read_only=True) as uow:
            views = await uow.projects.mine(user.id)
            states = await uow.events.listing_states({v.project.event_id for v in views})
        return [
            v
            for v in views
            if (state := states.get(v.project.event_id)) is not None and shown_to(user, state)
        ]

    async def join(self, user: User, join_code: str, client: str | None = None) -> None:
        """Become a collaborator of the project with this code (the caller must attend its event).

        Lookups are rate-limited per user and per ``client`` address (join codes must not be guessable).
        """
        await self._join_guard.check("join", user, client)
        async with self._uow() as uow:
            project = await uow.projects.lock_by_join_code(normalize_join_code(join_code))
            if project is None:
                raise NotFound("No project found")
            if project.owner_id == user.id or user.id in await uow.projects.collaborator_ids(project.id):
                raise Invalid("User is already a collaborator or owner")
            if not await uow.attendance.is_attending(project.event_id, user.id):
                raise Forbidden(BAD_ACCESS)
            event = await uow.events.get(project.event_id)
            if event is None:
                raise NotFound("No project found")
            require_open(user, event)
            if not await uow.projects.add_collaborator(project.id, user.id):
                raise Invalid("User is already a collaborator or owner")
            await uow.commit()

    async def update(self, user: User, project_id: UUID, changes: dict[str, Any]) -> ProjectView:
        """Change the project (owner only). The demo rule applies to the merged result (PRODUCT §3.12)."""
        changes = {k: v for k, v in changes.items() if k in UPDATABLE_FIELDS and v is not None}
        async with self._uow() as uow:
            project = await _owned_project(uow, user, project_id, "change")
            event = await uow.events.get(project.event_id)
            if event is None:
                raise NotFound("Event not found")
            require_open(user, event)
            updated = dataclasses.replace(project, **changes)
            if (updated.repo, updated.demo) != (project.repo, project.demo):
                # The links the last check judged are gone: the team checks again (HEAD's wizard does).
                updated.validation_status, updated.validation_message = initial_status(event), ""
            if not event.demo_links_optional and not updated.demo.strip():
                raise Unprocessable(DEMO_REQUIRED)
            if changes:
                await uow.projects.update(updated)
            view = await uow.projects.view(project_id)
            await uow.commit()
        assert view is not None
        return view

    async def delete(self, user: User, project_id: UUID) -> None:
        """Delete the project with its votes and collaborator links (owner only)."""
        async with self._uow() as uow:
            await _owned_project(uow, user, project_id, "delete")
            await uow.projects.delete(project_id)
            await uow.commit()

    async def start_check(
        self, project_id: UUID, now: dt.datetime, client: str | None = None
    ) -> dict[str, Any]:
        """Start an automated quality check, or answer at once from the cached result. Only the calls that
        would reach the review service count against the limits (per client, then per project): a cached
        answer or an unknown project spends nothing; over a limit, ``RateLimited``."""
        self._require_checks()
        async with self._uow(read_only=True) as uow:
            project = await uow.projects.get(project_id)
            event = None if project is None else await uow.events.get(project.event_id)
        if project is None or event is None or not shown_to(None, event):
            raise NotFound(PROJECT_NOT_FOUND)
        if project.cached_auto_quality:
            return {
                "check_id": CACHED_CHECK_ID,
                "status": "completed",
                "created_at": now.isoformat(),
                "result": project.cached_auto_quality,
            }
        await self._limit_check(project_id, client)
        try:
            return await self._checks.start(project.repo, project.image_url, project.demo)
        except UpstreamError as exc:
            raise UpstreamFailed("The project check service failed, please retry later") from exc

    async def poll_check(self, check_id: str) -> dict[str, Any]:
        self._require_checks()
        if check_id == CACHED_CHECK_ID:
            raise NotFound("Cached results should be returned immediately")
        try:
            return await self._checks.poll(check_id)
        except UpstreamError as exc:
            raise UpstreamFailed("The project check service failed, please retry later") from exc

    async def _limit_check(self, project_id: UUID, client: str | None) -> None:
        if self._limiter is None:
            return
        policy = self._check_policy
        limits: dict[str, int] = {}
        if client:
            limits[client_limit_key("check", client)] = policy.starts_per_client
        # The client first: a client over its own limit no longer spends the project's (its team's checks).
        limits[f"check:project:{project_id}"] = policy.starts_per_project
        retry_after = await self._limiter.hit_all(limits, policy.window_seconds)
        if retry_after is not None:
            raise RateLimited(TOO_MANY_CHECKS, retry_after)

    def _require_checks(self) -> None:
        if not self._checks.configured:
            raise Unavailable("Project checks are not configured")


async def _owned_project(uow: UnitOfWork, user: User, project_id: UUID, purpose: LockPurpose) -> Project:
    """The caller's project, locked for the change about to be made (a missing one and someone else's
    alike are BAD_ACCESS, legacy §2.5); a writer that lost a race with its delete sees it missing."""
    project = await uow.projects.lock(project_id, purpose)
    if project is None or project.owner_id != user.id:
        raise Forbidden(BAD_ACCESS)
    return project
