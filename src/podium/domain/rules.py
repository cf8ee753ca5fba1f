"""Pure business rules: each rule lives here once and is tested by a table of cases."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from email_validator import EmailNotValidError, validate_email
from slugify import slugify

from podium.domain.limits import SLUG_MAX

JOIN_CODE_LENGTH = 6
# Upper-case letters and digits without the look-alikes 0 O 1 I L, so a code read aloud or off a
# projector is typed right the first time.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def normalize_email(email: str) -> str:
    """Emails are compared and stored trimmed and lower-cased, everywhere (tokens included)."""
    return email.strip().lower()


def normalize_join_code(code: str) -> str:
    """Join codes are typed by people: surrounding space and letter case do not matter."""
    return code.strip().upper()


def max_votes_per_user(project_count: int) -> int:
    """How many projects one attendee may vote for, given how many projects the event has."""
    if project_count < 4:
        return 1
    if project_count < 20:
        return 2
    return 3


def truncate_at_dash(slug: str, limit: int = SLUG_MAX) -> str:
    """Cut a slug to ``limit`` characters, at the last dash boundary when there is one."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    if slug[limit] != "-" and "-" in cut:
        cut = cut[: cut.rindex("-")]
    return cut.strip("-")


def slug_for(name: str) -> str:
    """The URL slug of an event name: ASCII-transliterated, lower-case, dash-separated, at most ``SLUG_MAX`` characters.

    Returns ``""`` when the name holds no letter or digit; callers decide what that means.
    """
    return truncate_at_dash(slugify(name, lowercase=True, regex_pattern=re.compile(r"[^a-z0-9]+")))


def new_join_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh 6-character join code from the unambiguous alphabet."""
    return "".join(choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def feature_flags(csv: str) -> list[str]:
    """``feature_flags_csv`` split on commas, each flag trimmed, empties dropped."""
    return [flag.strip() for flag in csv.split(",") if flag.strip()]


def is_valid_email(email: str) -> bool:
    """Is this a syntactically valid address? Special-use domains (``.local``, ``.test``) count as valid:
    they are real addresses on test and internal deployments (PRODUCT §3.7)."""
    candidate = email.strip()
    if not candidate or len(candidate) > 254:
        return False
    try:
        validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return "special-use or reserved name" in str(exc)
    return True
