"""msgspec structs of the organiser tools (issue 15), shaped as Podium HEAD's where it has them
(``shared/reference/head-openapi.json``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from podium.domain.models import EventView, User
from podium.domain.services.superadmin import Page
from podium.http.schemas import (
    Base,
    CustomValidatorName,
    DemoValidation,
    Description,
    Email,
    EventPrivate,
    Name,
    RepoValidation,
)

Phase = Literal["draft", "submission", "voting", "closed"]
FlagsCsv = Annotated[str, Meta(max_length=500, pattern=r"^[^\x00]*$")]


class EventAdminUpdate(Base):
    """The organiser's PATCH (HEAD's ``EventUpdate``): only the fields given change; unknown ones are
    ignored. A phase sets the legacy flags ``votable``/``leaderboard_enabled`` the v2 client reads."""

    phase: Phase | None = None
    name: Name | None = None
    description: Description | None = None
    demo_links_optional: bool | None = None
    require_ysws_pii: bool | None = None
    feature_flags_csv: FlagsCsv | None = None
    # HEAD's project validation settings (issue 25).
    repo_validation: RepoValidation | None = None
    demo_validation: DemoValidation | None = None
    custom_validator: CustomValidatorName | None = None


class SuperadminEventUpdate(EventAdminUpdate, kw_only=True):
    """The admin PATCH fields plus ``owner_email``: hand the event over to that (existing) user."""

    owner_email: Email | None = None


class SuperadminEventCreate(Base):
    """HEAD's ``EventCreate``; a new event starts in ``submission`` (joinable) unless a phase is given."""

    name: Name
    description: Description = ""
    phase: Phase = "submission"
    demo_links_optional: bool = False
    require_ysws_pii: bool = False
    feature_flags_csv: FlagsCsv = ""
    repo_validation: RepoValidation = "none"
    demo_validation: DemoValidation = "none"
    custom_validator: CustomValidatorName | None = None


class UserSummary(Base):
    id: UUID
    email: str
    display_name: str
    is_superadmin: bool

    @classmethod
    def of(cls, user: User) -> UserSummary:
        return cls(
            id=user.id, email=user.email, display_name=user.display_name, is_superadmin=user.is_superadmin
        )


class EventPage(Base):
    """HEAD's ``Page[EventPrivate]``."""

    items: list[EventPrivate]
    total: int
    page: int
    size: int
    pages: int


class UserPage(Base):
    """HEAD's ``Page[UserSummary]``."""

    items: list[UserSummary]
    total: int
    page: int
    size: int
    pages: int


def event_page(page: Page[EventView]) -> EventPage:
    items = [EventPrivate.of(view) for view in page.items]
    return EventPage(items=items, total=page.total, page=page.page, size=page.size, pages=page.pages)


def user_page(page: Page[User]) -> UserPage:
    items = [UserSummary.of(user) for user in page.items]
    return UserPage(items=items, total=page.total, page=page.page, size=page.size, pages=page.pages)
