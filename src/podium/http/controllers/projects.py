from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from podium.domain.errors import UpstreamFailed
from podium.domain.models import User
from podium.domain.services.projects import NewProject, ProjectService
from podium.domain.services.validation import ValidationService
from podium.http.auth import AUTHENTICATE
from podium.http.controllers.auth import client_address
from podium.http.params import IdPath, uuid_param
from podium.http.schemas import (
    CheckStatus,
    Message,
    ProjectCheckRequest,
    ProjectCreate,
    ProjectCreated,
    ProjectPrivate,
    ProjectPublic,
    ProjectUpdate,
    ValidationResult,
)


def _check_status(payload: object) -> CheckStatus:
    try:
        return msgspec.convert(payload, CheckStatus, strict=False)
    except msgspec.ValidationError as exc:
        raise UpstreamFailed("The project check service sent an unexpected answer") from exc


class ProjectsController(Controller):
    path = "/projects"
    tags = ["projects"]

    @get("/mine", operation_id="get_projects_projects_mine_get", opt={AUTHENTICATE: True})
    async def mine(
        self, state: State, user: NamedDependency[User], projects: NamedDependency[ProjectService]
    ) -> list[ProjectPrivate]:
        """Projects the caller owns, then those they collaborate on."""
        frontend = state.container.settings.frontend
        return [ProjectPrivate.of(v, frontend) for v in await projects.mine(user)]

    @post("/", operation_id="create_project_projects__post", status_code=200, opt={AUTHENTICATE: True})
    async def create(
        self,
        data: JSONBody[ProjectCreate],
        user: NamedDependency[User],
        projects: NamedDependency[ProjectService],
    ) -> ProjectCreated:
        """Submit a project to an event the caller attends."""
        project = await projects.create(user, NewProject(**msgspec.structs.asdict(data)))
        return ProjectCreated(id=project.id, join_code=project.join_code)

    @post("/join", operation_id="join_project_projects_join_post", status_code=200, opt={AUTHENTICATE: True})
    async def join(
        self,
        request: Request[Any, Any, Any],
        join_code: Annotated[str, QueryParameter(max_length=100)],
        user: NamedDependency[User],
        projects: NamedDependency[ProjectService],
    ) -> Message:
        """Join a project as a collaborator with its code."""
        await projects.join(user, join_code, client_address(request))
        return Message(message="Successfully joined project")

    @post(
        "/validate",
        operation_id="validate_project_projects_validate_post",
        status_code=200,
        opt={AUTHENTICATE: True},
    )
    async def validate(
        self,
        project_id: Annotated[UUID, QueryParameter(description="Project ID to validate")],
        user: NamedDependency[User],
        validation: NamedDependency[ValidationService],
    ) -> ValidationResult:
        """Check the project (owner or collaborator) against its event's validation settings and keep the
        outcome on it (``validation_status``/``validation_message`` on ``/projects/mine``). A validator
        that is slow, down or rate-limiting gives a "could not check" warning, never an error; a caller
        asking too often gets 429."""
        outcome = await validation.validate(user, project_id)
        return ValidationResult(valid=outcome.valid, message=outcome.message)

    @post("/check/start", operation_id="start_project_check_projects_check_start_post", status_code=200)
    async def start_check(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ProjectCheckRequest],
        projects: NamedDependency[ProjectService],
    ) -> CheckStatus:
        """Start the external quality check of a project (cached results come back at once); starts that
        reach the check service are limited per client and per project (429)."""
        now = dt.datetime.now(dt.UTC)
        return _check_status(await projects.start_check(data.id, now, client_address(request)))

    @get("/check/{check_id:str}", operation_id="poll_project_check_projects_check__check_id__get")
    async def poll_check(
        self, check_id: FromPath[str], projects: NamedDependency[ProjectService]
    ) -> CheckStatus:
        return _check_status(await projects.poll_check(check_id))

    @get("/{project_id:str}", operation_id="get_project_endpoint_projects__project_id__get")
    async def get_project(
        self, project_id: IdPath, state: State, projects: NamedDependency[ProjectService]
    ) -> ProjectPublic:
        view = await projects.get(uuid_param(project_id, "project_id"))
        return ProjectPublic.of(view, state.container.settings.frontend)

    @put(
        "/{project_id:str}", operation_id="update_project_projects__project_id__put", opt={AUTHENTICATE: True}
    )
    async def update(
        self,
        project_id: IdPath,
        data: JSONBody[ProjectUpdate],
        state: State,
        user: NamedDependency[User],
        projects: NamedDependency[ProjectService],
    ) -> ProjectPublic:
        """Change a project (owner only); the demo rule applies to the merged result."""
        changes = {name: getattr(data, name) for name in data.__struct_fields__}
        view = await projects.update(user, uuid_param(project_id, "project_id"), changes)
        return ProjectPublic.of(view, state.container.settings.frontend)

    @delete(
        "/{project_id:str}",
        operation_id="delete_project_projects__project_id__delete",
        status_code=200,
        opt={AUTHENTICATE: True},
    )
    async def delete(
        self,
        project_id: IdPath,
        user: NamedDependency[User],
        projects: NamedDependency[ProjectService],
    ) -> Message:
        """Delete a project with its votes and collaborator links (owner only)."""
        await projects.delete(user, uuid_param(project_id, "project_id"))
        return Message(message="Project deleted")
