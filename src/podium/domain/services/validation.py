"""Project validation as Podium HEAD has it (issue 25): each event says which checks its projects get
(``repo_validation``: none/github/custom, ``demo_validation``: none/itch/reachable/custom, and the name of
a custom validator); a project's team asks for a check and the outcome is kept on the project
(``validation_status``: pending/valid/warning, ``validation_message``). A check never blocks a submission.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from podium.domain.errors import BAD_ACCESS, Forbidden, NotFound, RateLimited
from podium.domain.models import Event, Project, User
from podium.domain.ports import RateLimiter, UnitOfWorkFactory
from podium.domain.web_services import CheckOutcome, LinkValidator

PROJECT_NOT_FOUND = "Project not found"
TOO_MANY_VALIDATIONS = "Too many validation requests, please try again later"
# The validators a deployment wires, by the names the event settings use; custom ones are "custom:NAME".
GITHUB, ITCH, REACHABLE = "github", "itch", "reachable"


def custom_key(name: str) -> str:
    return f"custom:{name}"


def initial_status(event: Event) -> str:
    """A new or changed project's status: nothing to check is ``valid`` at once, else ``pending``."""
    return "valid" if event.repo_validation == "none" and event.demo_validation == "none" else "pending"


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    requests_per_user: int = 10
    window_seconds: int = 60


@dataclass(frozen=True, slots=True)
class Validation:
    """A check's outcome: ``valid`` when every configured check passed; else the messages, joined."""

    valid: bool
    message: str

    @property
    def status(self) -> str:
        return "valid" if self.valid else "warning"


class ValidationService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        validators: Mapping[str, LinkValidator],
        limiter: RateLimiter | None,
        policy: ValidationPolicy | None = None,
    ) -> None:
        self._uow = uow
        self._validators = validators
        self._limiter = limiter
        self._policy = policy or ValidationPolicy()

    async def validate(self, user: User, project_id: UUID) -> Validation:
        """Check a project the caller owns or collaborates on against its event's settings, keep the
        outcome on the project and return it. Rate-limited per user; no transaction is open while the
        services are asked, and an outcome is kept only if the links are still the ones checked."""
        await self._limit(user)
        async with self._uow(read_only=True) as uow:
            project = await uow.projects.get(project_id)
            if project is None:
                raise NotFound(PROJECT_NOT_FOUND)
            if project.owner_id != user.id and user.id not in await uow.projects.collaborator_ids(project.id):
                raise Forbidden(BAD_ACCESS)
            event = await uow.events.get(project.event_id)
            if event is None:
                raise NotFound(PROJECT_NOT_FOUND)
        outcome = await self.run(event, project)
        async with self._uow() as uow:
            current = await uow.projects.lock(project_id, "change")
            if current is not None and (current.repo, current.demo) == (project.repo, project.demo):
                await uow.projects.update(
                    dataclasses.replace(
                        current, validation_status=outcome.status, validation_message=outcome.message
                    )
                )
                await uow.commit()
        return outcome

    async def run(self, event: Event, project: Project) -> Validation:
        """The event's checks of the project's links, asked at the same time."""
        checks = [
            self._check(event.repo_validation, event.custom_validator, project.repo, "repo"),
            self._check(event.demo_validation, event.custom_validator, project.demo, "demo"),
        ]
        outcomes = [outcome for outcome in await asyncio.gather(*checks) if outcome is not None]
        messages = [o.message for o in outcomes if o.verdict != "passed" and o.message]
        valid = all(o.verdict == "passed" for o in outcomes)
        return Validation(valid, " | ".join(messages))

    async def _check(
        self, kind: str, custom: str | None, url: str, part: Literal["repo", "demo"]
    ) -> CheckOutcome | None:
        if kind == "none" or not url.strip():
            return None
        key = custom_key(custom or "") if kind == "custom" else kind
        validator = self._validators.get(key)
        if validator is None:
            what = f"custom validator {custom!r}" if kind == "custom" else f"{kind} validator"
            return CheckOutcome("unknown", f"Could not check the {part}: no {what} is configured")
        return await validator.check(url.strip(), part)

    async def _limit(self, user: User) -> None:
        if self._limiter is None:
            return
        policy = self._policy
        retry_after = await self._limiter.hit(
            f"validate:user:{user.id}", policy.requests_per_user, policy.window_seconds
        )
        if retry_after is not None:
            raise RateLimited(TOO_MANY_VALIDATIONS, retry_after)
