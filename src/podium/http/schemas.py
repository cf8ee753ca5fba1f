"""msgspec structs for every request and response. Names and fields follow the legacy API (legacy §1.7)
plus PRODUCT §3.15's additive fields; lengths are the columns' sizes, so oversize input is a 422."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import KwargDefinition
from msgspec import Meta, Struct

from podium.config import Frontend
from podium.domain.limits import (
    CUSTOM_VALIDATOR_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    INT_MAX,
    INT_MIN,
    NAME_MAX,
    URL_MAX,
    USER_FIELD_LIMITS,
)
from podium.domain.models import EventView, ProjectView, Referral, User, Vote

# PostgreSQL text cannot hold NUL characters; refuse them at the door like any other invalid value.
NO_NUL = r"^[^\x00]*$"
INT32 = Meta(ge=INT_MIN, le=INT_MAX)
MAX_VOTES_PER_REQUEST = 50
TOO_MANY_PROJECTS = f"At most {MAX_VOTES_PER_REQUEST} different projects can be voted for in one request"


Text = Annotated[str, Meta(pattern=NO_NUL)]
# Each sized field is as long as its column (podium.domain.limits), no more.
Email = Annotated[str, Meta(max_length=EMAIL_MAX, pattern=NO_NUL)]
Name = Annotated[str, Meta(max_length=NAME_MAX, pattern=NO_NUL)]
Description = Annotated[str, Meta(max_length=DESCRIPTION_MAX, pattern=NO_NUL)]
Url = Annotated[str, Meta(max_length=URL_MAX, pattern=NO_NUL)]
DisplayName = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["display_name"], pattern=NO_NUL)]
FirstName = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["first_name"], pattern=NO_NUL)]
LastName = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["last_name"], pattern=NO_NUL)]
Phone = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["phone"], pattern=NO_NUL)]
Street = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["street_1"], pattern=NO_NUL)]
City = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["city"], pattern=NO_NUL)]
State = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["state"], pattern=NO_NUL)]
ZipCode = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["zip_code"], pattern=NO_NUL)]
Country = Annotated[str, Meta(max_length=USER_FIELD_LIMITS["country"], pattern=NO_NUL)]
# A login may name any address a mail server accepts (RFC 5321's 320); one longer than the column
# simply has no account.
LOGIN_EMAIL_MAX = 320


RepoValidation = Literal["none", "github", "custom"]
DemoValidation = Literal["none", "itch", "reachable", "custom"]
# The name of a configured custom validator (``PODIUM_CUSTOM_VALIDATORS``); empty clears it.
CustomValidatorName = Annotated[str, Meta(max_length=CUSTOM_VALIDATOR_MAX, pattern=r"^[A-Za-z0-9_.-]*$")]

# A vote's id as the listings carry it: its canonical text (``ProjectView.vote_ids``), documented as a UUID.
ListedVoteId = Annotated[str, KwargDefinition(format=OpenAPIFormat.UUID)]


class Base(Struct, kw_only=True):
    """Unknown request fields are ignored (the frontend posts whole objects back)."""


# Users and auth.


class UserUpdate(Base):
    """The profile fields; absent or null ones are left as they are."""

    display_name: DisplayName | None = None
    first_name: FirstName | None = None
    last_name: LastName | None = None
    phone: Phone | None = None
    street_1: Street | None = None
    street_2: Street | None = None
    city: City | None = None
    state: State | None = None
    zip_code: ZipCode | None = None
    country: Country | None = None
    dob: dt.date | None = None


class UserSignup(UserUpdate, kw_only=True):
    """Sign-up: the profile fields, with the email and first name required."""

    email: Email
    first_name: FirstName


class UserLoginPayload(Base):
    email: Annotated[str, Meta(max_length=LOGIN_EMAIL_MAX, pattern=NO_NUL)]


class UserPublic(Base):
    id: UUID
    display_name: str

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(id=user.id, display_name=user.display_name)


class UserPrivate(Base):
    id: UUID
    display_name: str
    email: str
    first_name: str
    last_name: str
    phone: str = ""
    votes: list[UUID] = msgspec.field(default_factory=list)
    # Podium HEAD's fields (issue 15): ``vote_ids`` is ``votes`` under HEAD's name.
    vote_ids: list[UUID] = msgspec.field(default_factory=list)
    has_ysws_pii: bool = False
    is_superadmin: bool = False

    @classmethod
    def of(cls, user: User, vote_ids: list[UUID]) -> UserPrivate:
        return cls(
            id=user.id,
            display_name=user.display_name,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            phone=user.phone,
            votes=vote_ids,
            vote_ids=vote_ids,
            has_ysws_pii=user.has_ysws_pii,
            is_superadmin=user.is_superadmin,
        )


class UserExistsResponse(Base):
    exists: bool


class UserCreated(Base):
    id: UUID


class AuthenticatedUser(Base):
    access_token: str
    user: UserPrivate
    token_type: str = "access"


class UserAttendee(Base):
    id: UUID
    email: str
    display_name: str
    first_name: str
    last_name: str

    @classmethod
    def of(cls, user: User) -> UserAttendee:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            first_name=user.first_name,
            last_name=user.last_name,
        )


# Events.


class EventCreate(Base):
    name: Name
    description: Description = ""
    demo_links_optional: bool = False
    ysws_checks_enabled: bool = False


class EventUpdate(Base):
    name: Name | None = None
    description: Description | None = None
    votable: bool | None = None
    leaderboard_enabled: bool | None = None
    demo_links_optional: bool | None = None
    ysws_checks_enabled: bool | None = None


class EventPublic(Base):
    id: UUID
    name: str
    slug: str
    description: str
    votable: bool
    leaderboard_enabled: bool
    demo_links_optional: bool
    max_votes_per_user: int
    feature_flags_list: list[str]
    # Podium HEAD's (issue 15); ``phase`` and the two legacy flags above are one state.
    phase: Literal["draft", "submission", "voting", "closed"]
    require_ysws_pii: bool
    # HEAD's project validation settings (issue 25).
    repo_validation: RepoValidation = "none"
    demo_validation: DemoValidation = "none"

    @classmethod
    def of(cls, view: EventView) -> EventPublic:
        return cls(**_event_fields(view))


def _event_fields(view: EventView) -> dict[str, Any]:
    e = view.event
    return {
        "id": e.id,
        "name": e.name,
        "slug": e.slug,
        "description": e.description,
        "votable": e.votable,
        "leaderboard_enabled": e.leaderboard_enabled,
        "demo_links_optional": e.demo_links_optional,
        "max_votes_per_user": view.max_votes_per_user,
        "feature_flags_list": view.feature_flags_list,
        "phase": e.phase,
        "require_ysws_pii": e.require_ysws_pii,
        "repo_validation": e.repo_validation,
        "demo_validation": e.demo_validation,
    }


class EventPrivate(EventPublic, kw_only=True):
    join_code: str
    owner_id: UUID
    ysws_checks_enabled: bool
    feature_flags_csv: str = ""
    deleted_at: dt.datetime | None = None  # set when a superadmin soft-deleted it
    custom_validator: str | None = None

    @classmethod
    def of(cls, view: EventView) -> EventPrivate:
        e = view.event
        return cls(
            **_event_fields(view),
            join_code=e.join_code,
            owner_id=e.owner_id,
            ysws_checks_enabled=e.ysws_checks_enabled,
            feature_flags_csv=e.feature_flags_csv,
            deleted_at=e.deleted_at,
            custom_validator=e.custom_validator,
        )


class UserEvents(Base):
    owned_events: list[EventPrivate]
    attending_events: list[EventPublic]


class EventCreated(Base):
    id: UUID
    slug: str
    join_code: str


class Attended(Base):
    message: str
    event_id: UUID


class CreateVotes(Base):
    # Repeats count once (legacy deduplicated), so the bound is on distinct ids: ``distinct_projects``.
    projects: Annotated[
        list[UUID],
        Meta(description=f"Up to {MAX_VOTES_PER_REQUEST} different project ids; a repeated id counts once"),
    ]
    event: UUID

    def distinct_projects(self) -> list[UUID]:
        """The projects voted for, each once in first-seen order; more than the bound is a 422 on
        ``projects``."""
        distinct = list(dict.fromkeys(self.projects))
        if len(distinct) > MAX_VOTES_PER_REQUEST:
            raise ValidationException(
                extra=[{"key": "projects", "source": "body", "message": TOO_MANY_PROJECTS}]
            )
        return distinct


class VoteResponse(Base):
    id: UUID
    voter_id: UUID
    project_id: UUID
    event_id: UUID

    @classmethod
    def of(cls, vote: Vote) -> VoteResponse:
        return cls(id=vote.id, voter_id=vote.voter_id, project_id=vote.project_id, event_id=vote.event_id)


class ReferralResponse(Base):
    id: UUID
    content: str
    user_id: UUID
    event_id: UUID

    @classmethod
    def of(cls, referral: Referral) -> ReferralResponse:
        return cls(
            id=referral.id, content=referral.content, user_id=referral.user_id, event_id=referral.event_id
        )


class RemoveAttendee(Base):
    user_id: UUID


# Projects.


class ProjectCreate(Base):
    name: Name
    repo: Url
    image_url: Url
    event_id: UUID
    demo: Url = ""
    description: Description = ""
    hours_spent: Annotated[int, INT32] = 0


class ProjectUpdate(Base):
    name: Name | None = None
    repo: Url | None = None
    image_url: Url | None = None
    demo: Url | None = None
    description: Description | None = None
    hours_spent: Annotated[int, INT32] | None = None


class ProjectPublic(Base):
    id: UUID
    name: str
    repo: str
    image_url: str
    demo: str
    description: str
    points: int
    # HEAD's (issue 25): its rank page keeps an owner from voting for their own project.
    owner_id: UUID
    votes: list[ListedVoteId] = msgspec.field(default_factory=list)
    # The one shape the two frontends disagree on (PRODUCT §7): b91's card spreads a one-element list,
    # HEAD's formats a string. ``PODIUM_FRONTEND`` picks one; the OpenAPI document shows only that one.
    owner_display_name: list[str] | str = msgspec.field(default_factory=list)
    collaborator_display_names: list[str] = msgspec.field(default_factory=list)

    @classmethod
    def of(cls, view: ProjectView, frontend: Frontend = "legacy") -> ProjectPublic:
        return cls(*_public_values(view, frontend))


def _public_values(view: ProjectView, frontend: Frontend) -> tuple[Any, ...]:
    """``ProjectPublic``'s fields in order: positional, with no intermediate dict, since this runs for every
    project of an uncached listing."""
    p = view.project
    return (
        p.id,
        p.name,
        p.repo,
        p.image_url,
        p.demo,
        p.description,
        view.points,
        p.owner_id,
        view.vote_ids,
        view.owner_display_name if frontend == "head" else [view.owner_display_name],
        view.collaborator_display_names,
    )


class ProjectPrivate(ProjectPublic, kw_only=True):
    join_code: str
    hours_spent: int
    event_id: UUID
    cached_auto_quality: dict[str, Any] | None
    # HEAD's project validation (issue 25): pending until checked, then valid or warning (with why).
    validation_status: Literal["pending", "valid", "warning"] = "pending"
    validation_message: str = ""

    @classmethod
    def of(cls, view: ProjectView, frontend: Frontend = "legacy") -> ProjectPrivate:
        p = view.project
        return cls(
            *_public_values(view, frontend),
            join_code=p.join_code,
            hours_spent=p.hours_spent,
            event_id=p.event_id,
            cached_auto_quality=p.cached_auto_quality,
            validation_status=p.validation_status,  # type: ignore[arg-type]
            validation_message=p.validation_message,
        )


class ValidationResult(Base):
    """HEAD's answer of ``POST /projects/validate``: whether every configured check passed, and why not."""

    valid: bool
    message: str


class ProjectCreated(Base):
    id: UUID
    join_code: str


class ProjectCheckRequest(Base):
    """The legacy body of ``/projects/check/start``: a whole ProjectPublic, of which only ``id`` is used."""

    id: UUID
    name: str
    repo: str
    image_url: str
    demo: str
    description: str
    points: int


class CheckStatus(Base):
    check_id: str
    status: Literal["pending", "running", "completed", "failed"]
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


class Message(Base):
    message: str
