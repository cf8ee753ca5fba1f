"""Test data builders (polyfactory) for the domain's entities."""

from __future__ import annotations

import itertools

from polyfactory import Use
from polyfactory.factories import DataclassFactory

from podium.domain.models import Event, Project, User
from podium.domain.rules import new_join_code

_serial = itertools.count(1)


class UserFactory(DataclassFactory[User]):
    email = Use(lambda: f"person{next(_serial)}@example.com")
    first_name = Use(lambda: "Ada")
    last_name = Use(lambda: "Lovelace")
    display_name = Use(lambda: f"Ada L. {next(_serial)}")
    phone = Use(lambda: "")
    street_1 = Use(lambda: "1 Main St")
    street_2 = Use(lambda: "")
    city = Use(lambda: "London")
    state = Use(lambda: "")
    zip_code = Use(lambda: "N1")
    country = Use(lambda: "GB")
    dob = Use(lambda: None)
    is_superadmin = Use(lambda: False)


class EventFactory(DataclassFactory[Event]):
    name = Use(lambda: f"Hack Night {next(_serial)}")
    slug = Use(lambda: f"hack-night-{next(_serial)}")
    join_code = Use(new_join_code)
    description = Use(lambda: "")
    votable = Use(lambda: True)
    leaderboard_enabled = Use(lambda: False)
    demo_links_optional = Use(lambda: False)
    ysws_checks_enabled = Use(lambda: False)
    feature_flags_csv = Use(lambda: "")
    phase = Use(lambda: "")  # derived from the flags (Event.__post_init__)
    require_ysws_pii = Use(lambda: False)
    repo_validation = Use(lambda: "none")
    demo_validation = Use(lambda: "none")
    custom_validator = Use(lambda: None)
    deleted_at = Use(lambda: None)


class ProjectFactory(DataclassFactory[Project]):
    name = Use(lambda: f"Project {next(_serial)}")
    repo = Use(lambda: "https://github.com/example/repo")
    image_url = Use(lambda: "https://example.com/shot.png")
    demo = Use(lambda: "https://example.com/demo")
    description = Use(lambda: "")
    join_code = Use(new_join_code)
    hours_spent = Use(lambda: 3)
    legacy_points = Use(lambda: 0)
    cached_auto_quality = Use(lambda: None)
    validation_status = Use(lambda: "pending")
    validation_message = Use(lambda: "")
