"""Column sizes (legacy §1): the one definition the schema (SQLAlchemy models), the HTTP schemas, the
backfill and the rules use. Migrations keep the literal sizes of their day: they are history."""

from __future__ import annotations

from collections.abc import Mapping

EMAIL_MAX = 255
NAME_MAX = 255  # event and project names, display names
SLUG_MAX = 50
JOIN_CODE_MAX = 20
FEATURE_FLAGS_MAX = 500
# Free text written through the API (issue 22): bounded, so one row — and a CSV export of thousands — stays
# small. Not column sizes: rows the backfill brought from Airtable keep whatever length they had.
DESCRIPTION_MAX = 10_000  # event and project descriptions
URL_MAX = 2_048  # a project's repository, demo and screenshot URLs
AIRTABLE_ID_MAX = 32
CUSTOM_VALIDATOR_MAX = 64  # the name of an event's custom validator
# PostgreSQL ``integer`` (hours spent, legacy points).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# The profile's text fields.
USER_FIELD_LIMITS: Mapping[str, int] = {
    "display_name": NAME_MAX,
    "first_name": 50,
    "last_name": 50,
    "phone": 20,
    "street_1": 255,
    "street_2": 255,
    "city": 100,
    "state": 100,
    "zip_code": 20,
    "country": 100,
}
