"""SQLAlchemy models of the Postgres store.

Table, column and constraint names follow the legacy schema (legacy-behaviour §1) so that operators' SQL,
the Mathesar views and the backups keep working across the cutover. The schema itself is created only by
the alembic migrations; ``tests/integration/test_migrations.py`` proves the two never drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar
from uuid import UUID, uuid4

from advanced_alchemy.base import CommonTableAttributes
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from podium.domain.limits import (
    AIRTABLE_ID_MAX,
    CUSTOM_VALIDATOR_MAX,
    EMAIL_MAX,
    FEATURE_FLAGS_MAX,
    JOIN_CODE_MAX,
    NAME_MAX,
    SLUG_MAX,
    USER_FIELD_LIMITS,
)

# PostgreSQL's own default names, which the legacy schema used (``votes_voter_id_project_id_key``, …).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class Base(CommonTableAttributes, AsyncAttrs, DeclarativeBase):
    """Declarative base: plain tables, app-generated UUID v4 keys (no sentinel or audit columns)."""

    __abstract__ = True
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        UUID: Uuid(as_uuid=True),
        dt.date: Date,
        dict[str, Any]: JSONB,
    }


def _airtable_id() -> Mapped[str | None]:
    return mapped_column(String(AIRTABLE_ID_MAX), nullable=True, unique=True, index=True)


class UserModel(Base):
    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    airtable_id: Mapped[str | None] = _airtable_id()
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["display_name"]), default="")
    first_name: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["first_name"]))
    last_name: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["last_name"]), default="")
    phone: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["phone"]), default="")
    street_1: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["street_1"]), default="")
    street_2: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["street_2"]), default="")
    city: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["city"]), default="")
    state: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["state"]), default="")
    zip_code: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["zip_code"]), default="")
    country: Mapped[str] = mapped_column(String(USER_FIELD_LIMITS["country"]), default="")
    dob: Mapped[dt.date | None] = mapped_column(nullable=True)
    # Granted and revoked only from the command line (``podium admin``), never over HTTP.
    is_superadmin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class EventModel(Base):
    __tablename__ = "events"
    # Phase and the legacy flags are one state (migration 0008: a trigger derives the side a statement
    # left alone, these checks refuse any disagreement).
    __table_args__ = (
        CheckConstraint("phase IN ('draft', 'submission', 'voting', 'closed')", name="phase_known"),
        CheckConstraint(
            "votable = (phase = 'voting') AND (phase <> 'closed' OR leaderboard_enabled)"
            " AND (NOT leaderboard_enabled OR phase IN ('voting', 'closed'))",
            name="phase_matches_flags",
        ),
        CheckConstraint("repo_validation IN ('none', 'github', 'custom')", name="repo_validation_known"),
        CheckConstraint(
            "demo_validation IN ('none', 'itch', 'reachable', 'custom')", name="demo_validation_known"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    airtable_id: Mapped[str | None] = _airtable_id()
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True, index=True)
    description: Mapped[str] = mapped_column(String, default="")
    join_code: Mapped[str] = mapped_column(String(JOIN_CODE_MAX), unique=True)
    votable: Mapped[bool] = mapped_column(Boolean, default=False)
    leaderboard_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    demo_links_optional: Mapped[bool] = mapped_column(Boolean, default=False)
    ysws_checks_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    feature_flags_csv: Mapped[str] = mapped_column(
        String(FEATURE_FLAGS_MAX), default="", server_default=text("''")
    )
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), index=True)
    # No default: a writer that gives only the legacy flags (the backfill) gets the phase they mean.
    phase: Mapped[str] = mapped_column(String(20))
    require_ysws_pii: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Which checks a submitted project gets (migration 0011).
    repo_validation: Mapped[str] = mapped_column(String(16), default="none", server_default=text("'none'"))
    demo_validation: Mapped[str] = mapped_column(String(16), default="none", server_default=text("'none'"))
    custom_validator: Mapped[str | None] = mapped_column(String(CUSTOM_VALIDATOR_MAX), nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class ProjectModel(Base):
    __tablename__ = "projects"
    __table_args__ = (
        # Target of the votes' composite foreign key: a vote's project must belong to the vote's event.
        UniqueConstraint("id", "event_id"),
        CheckConstraint("legacy_points >= 0", name="legacy_points_non_negative"),
        CheckConstraint(
            "validation_status IN ('pending', 'valid', 'warning')", name="validation_status_known"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    airtable_id: Mapped[str | None] = _airtable_id()
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    repo: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(Text, default="")
    demo: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(String, default="")
    join_code: Mapped[str] = mapped_column(String(JOIN_CODE_MAX), unique=True)
    hours_spent: Mapped[int] = mapped_column(Integer, default=0)
    # Points are count(votes) + legacy_points; legacy_points is written only by the Airtable backfill.
    legacy_points: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cached_auto_quality: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    # The last validation's outcome (migration 0011).
    validation_status: Mapped[str] = mapped_column(
        String(16), default="pending", server_default=text("'pending'")
    )
    validation_message: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), index=True)
    event_id: Mapped[UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)


class VoteModel(Base):
    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("voter_id", "project_id"),
        ForeignKeyConstraint(
            ["project_id", "event_id"], ["projects.id", "projects.event_id"], ondelete="CASCADE"
        ),
        Index("ix_votes_event_id_voter_id", "event_id", "voter_id"),
        # Covers the per-project aggregation of vote ids in the listings (an index-only scan).
        Index("ix_votes_project_id_id", "project_id", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    airtable_id: Mapped[str | None] = _airtable_id()
    voter_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[UUID] = mapped_column()
    event_id: Mapped[UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class ReferralModel(Base):
    __tablename__ = "referrals"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    airtable_id: Mapped[str | None] = _airtable_id()
    content: Mapped[str] = mapped_column(String, default="")
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)


class EventAttendeeModel(Base):
    __tablename__ = "event_attendees"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    # The surrogate key exists for Mathesar, which needs one PK column plus two FKs (legacy §1.6).
    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    event_id: Mapped[UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ProjectCollaboratorModel(Base):
    __tablename__ = "project_collaborators"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    project_id: Mapped[UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class EventListingVersionModel(Base):
    """Counters whose sum is the version of an event's lists (public and organiser's), moved only by the
    triggers of migration 0004, in the writer's own transaction, whoever the writer is.

    A transaction bumps the counter its id picks (``txid % 16``) rather than one per event, so concurrent
    votes in one event do not queue on a single row lock until each commits."""

    __tablename__ = "event_listing_versions"

    event_id: Mapped[UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class ListingMarkModel(Base):
    """What changed in an event's lists, and in which transaction: written only by the triggers of
    migration 0015, in the writer's own transaction, whoever the writer is. ``subject`` is a project (its
    card or votes changed), a fixed id for the event's attendee or referral list, or nil for "anything may
    have changed" (a ``TRUNCATE``); no foreign key, so a deleted project's mark tells readers it is gone.
    ``xact`` is the writer's transaction id (xid8, as bigint); one row per (event, subject, ``txid % 16``)
    slot, so concurrent votes for one project rarely wait on one row lock."""

    __tablename__ = "listing_marks"
    __table_args__ = (Index("ix_listing_marks_event_id_xact", "event_id", "xact"),)

    event_id: Mapped[UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[UUID] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    xact: Mapped[int] = mapped_column(BigInteger)


class ConsumedMagicLinkModel(Base):
    """A magic link that has been exchanged once; kept until it would have expired anyway."""

    __tablename__ = "consumed_magic_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class RateLimitHitModel(Base):
    """One sliding window per bucket key, shared by every worker and instance: the times (seconds since
    the epoch, ascending) of its most recent admitted attempts, at most the limit of them."""

    __tablename__ = "rate_limit_hits"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    hit_times: Mapped[list[float]] = mapped_column(ARRAY(Double))
    # How many attempts of the last statement on this row were admitted: that statement's answer.
    admitted: Mapped[int] = mapped_column(Integer)


class BackfillWrittenModel(Base):
    """What the backfill last wrote to each row it owns (``table_name``, ``row_id`` → the row's columns as
    JSON). A row that differs from it now was changed in v2 since, and a re-run leaves it alone."""

    __tablename__ = "backfill_written"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    row_id: Mapped[UUID] = mapped_column(primary_key=True)
    written: Mapped[dict[str, Any]] = mapped_column(JSONB)
    written_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class BackfillReportedModel(Base):
    """Every record a real backfill run has listed for review (not migrated, a conflict with v2, gone from
    Airtable), by table, record, outcome and reason: a later run's exit status tells new ones (3) from
    only these (4)."""

    __tablename__ = "backfill_reported"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    airtable_id: Mapped[str] = mapped_column(Text, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, primary_key=True)
    first_reported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class AirtablePendingCreateModel(Base):
    """Rows the write-back has asked Airtable to create but not yet recorded the answer for (the fields
    sent): after a kill in between, the next run finds those records in Airtable instead of duplicating."""

    __tablename__ = "airtable_pending_creates"

    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    row_id: Mapped[UUID] = mapped_column(primary_key=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB)
