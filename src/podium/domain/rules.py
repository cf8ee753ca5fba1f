"""Pure business rules: each rule lives here once and is tested by a table of cases."""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
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


# The vote quota (legacy §4.1): (the fewest projects an event has, the votes each attendee may then cast),
# by increasing project count. The one statement of the rule: the quota and a ballot's terms derive from it.
VOTE_QUOTA: tuple[tuple[int, int], ...] = ((0, 1), (4, 2), (20, 3))
# Past this many projects no more change anyone's quota: a ballot's store counts an event's projects only so
# far (``BallotTerms.count_projects_to``), whatever the event's size.
QUOTA_PROJECTS_COUNTED_TO = max(fewest for fewest, _votes in VOTE_QUOTA)


def max_votes_per_user(project_count: int) -> int:
    """How many projects one attendee may vote for, given how many projects the event has."""
    return max((votes for fewest, votes in VOTE_QUOTA if project_count >= fewest), default=VOTE_QUOTA[0][1])


@functools.cache  # a pure function of a small number, asked on every vote
def fewest_projects_by_cast(ballot_size: int) -> tuple[int, ...]:
    """For a ballot of ``ballot_size`` votes: at index ``c``, the fewest projects an event must have for a
    voter who has cast ``c`` votes already to stay within the quota; past the end, no number suffices.
    So ``c + ballot_size <= max_votes_per_user(n)`` exactly when ``c < len(t) and n >= t[c]``."""
    fewest: list[int] = []
    for cast in range(max(votes for _fewest, votes in VOTE_QUOTA)):
        needed = [least for least, votes in VOTE_QUOTA if votes >= cast + ballot_size]
        if not needed:
            break
        fewest.append(min(needed))
    return tuple(fewest)


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


DISPOSABLE_EMAIL = "Temporary/disposable email addresses aren't allowed. Please use your real email address."


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


# Event phases (issue 15). The legacy client reads and writes two flags, ``votable`` and
# ``leaderboard_enabled``; the phase and the flags are one state, kept so in both directions here and, for
# every other writer, by the database (migration 0008 mirrors these two functions in a trigger).
PHASES = ("draft", "submission", "voting", "closed")


def flags_for_phase(phase: str) -> tuple[bool, bool]:
    """The legacy flags ``(votable, leaderboard_enabled)`` a phase sets: voting opens voting, closed closes
    it and publishes the leaderboard, draft and submission do neither."""
    return phase == "voting", phase == "closed"


def phase_for_flags(votable: bool, leaderboard_enabled: bool, current: str) -> str:
    """The phase legacy flags move an event to from ``current``: votable → voting (whether or not the
    leaderboard is public too), leaderboard only → closed, neither → draft and submission stay, the rest
    go back to submission."""
    if votable:
        return "voting"
    if leaderboard_enabled:
        return "closed"
    return current if current in ("draft", "submission") else "submission"


def phase_flags_agree(phase: str, votable: bool, leaderboard_enabled: bool) -> bool:
    """Whether a phase and the legacy flags are one consistent state (the database's CHECK)."""
    if phase not in PHASES or votable != (phase == "voting"):
        return False
    if phase == "closed":
        return leaderboard_enabled
    return not leaderboard_enabled or phase == "voting"


#: What starts a formula in a spreadsheet (OWASP, CSV injection), with the full-width forms some read too.
_FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
#: Unicode categories of what spreadsheets skip before the first character they read: controls,
#: invisible formatting (zero-width spaces, the BOM) and separators (spaces of every width).
_SKIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def neutralise_csv_cell(value: str) -> str:
    """A spreadsheet cell that cannot run as a formula. Spreadsheets skip leading whitespace, quotes and
    control or invisible characters before they decide whether a cell is a formula, so a value whose first
    character that counts is ``=``, ``+``, ``-``, ``@`` (or full-width forms of them), or which starts with
    a tab or carriage return, gets a leading apostrophe (shown by no spreadsheet)."""
    for char in value:
        if char in _FORMULA_STARTS:
            return "'" + value
        if char not in "\"'" and unicodedata.category(char) not in _SKIPPED_CATEGORIES:
            return value
    return value
