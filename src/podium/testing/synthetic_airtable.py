"""A seeded generator of v1 Airtable data (legacy §5.1) at legacy scale, with every dirty case of issue 4.

The same seed and scale always produce the same records, so tests and the benchmark are reproducible.
:class:`SyntheticBase.dirty` names the records that carry each dirty case, so a test can check that each
one ends as PRODUCT §4 says.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from podium.domain.backfill.model import SourceRecord, SourceTable
from podium.domain.rules import slug_for

# Table ids of the dev base (legacy §5.1), so fake-server URLs look like the real ones.
DEFAULT_BASE_ID = "appec7U14eWSv08R4"
DEFAULT_TABLE_IDS: Mapping[SourceTable, str] = {
    SourceTable.USERS: "tblf4zw9j8JhxBWdb",
    SourceTable.EVENTS: "tblaEI2ed9JMR5Lep",
    SourceTable.PROJECTS: "tbl9YL1Au1MtPzAiq",
    SourceTable.REFERRALS: "tblU0VGfBD7vy2kUK",
    SourceTable.VOTES: "tblWcPEiD9cxaeN8O",
}

_WORDS = [
    "alpha",
    "bravo",
    "comet",
    "delta",
    "ember",
    "forge",
    "glow",
    "harbor",
    "ion",
    "jet",
    "kite",
    "lumen",
    "maple",
    "nova",
    "orbit",
    "pixel",
    "quartz",
    "river",
    "solar",
    "tidal",
    "ultra",
    "vector",
    "wave",
    "xenon",
    "yarn",
    "zephyr",
]
_LEGACY_CODE_ALPHABET = string.ascii_uppercase + string.digits + "-_"


@dataclass(frozen=True, slots=True)
class Scale:
    """How many records of each kind to generate."""

    users: int
    events: int
    projects: int
    referrals: int
    attendee_links: int
    votes: int
    collaborator_links: int


#: The counts of the last real cutover rehearsal (legacy §5.5); votes and collaborators were not recorded.
LEGACY_SCALE = Scale(
    users=3365,
    events=217,
    projects=767,
    referrals=1266,
    attendee_links=4078,
    votes=2900,
    collaborator_links=420,
)
#: Small enough for a unit test, big enough to hold every dirty case.
SMALL_SCALE = Scale(
    users=160, events=16, projects=48, referrals=60, attendee_links=200, votes=150, collaborator_links=30
)


@dataclass(slots=True)
class SyntheticBase:
    """Raw Airtable records per table plus the ids of the records carrying each dirty case."""

    records: dict[SourceTable, list[dict[str, Any]]]
    dirty: dict[str, list[str]] = field(default_factory=dict)

    def source_records(self) -> dict[SourceTable, list[SourceRecord]]:
        return {table: [SourceRecord.from_json(raw) for raw in rows] for table, rows in self.records.items()}

    def by_table_id(
        self, table_ids: Mapping[SourceTable, str] = DEFAULT_TABLE_IDS
    ) -> dict[str, list[dict[str, Any]]]:
        """The records keyed by Airtable table id, as :class:`FakeAirtable` serves them."""
        return {table_ids[table]: rows for table, rows in self.records.items()}


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seen: set[str] = set()

    def new(self) -> str:
        while True:
            candidate = "rec" + "".join(self._rng.choices(string.ascii_letters + string.digits, k=14))
            if candidate not in self._seen:
                self._seen.add(candidate)
                return candidate


def generate(seed: int = 2024, scale: Scale = LEGACY_SCALE) -> SyntheticBase:
    """Build a synthetic v1 base. Fields that are empty are omitted, as Airtable's API does."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    dirty: dict[str, list[str]] = {}
    clock = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def mark(case: str, key: str) -> None:
        dirty.setdefault(case, []).append(key)

    def created() -> str:
        nonlocal clock
        clock += dt.timedelta(seconds=rng.randint(1, 600))
        return clock.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def record(rec_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": rec_id,
            "createdTime": created(),
            "fields": {
                k: v for k, v in fields.items() if not (v is None or v is False or v == "" or v == [])
            },
        }

    def missing_id() -> str:
        # An id that no table holds: a link left behind by a deleted record.
        return ids.new()

    # -- users ---------------------------------------------------------------------------------------
    users: list[dict[str, Any]] = []
    emails: list[str] = []
    for i in range(scale.users):
        rec_id = ids.new()
        first = rng.choice(_WORDS).title()
        last = rng.choice(_WORDS).title()
        email = f"{first.lower()}.{last.lower()}.{i}@example.com"
        fields: dict[str, Any] = {
            "email": email,
            "first_name": first,
            "last_name": last,
            "display_name": f"{first} {last[0]}.",
            "phone": f"+1555{rng.randint(1000000, 9999999)}" if rng.random() < 0.6 else "",
            "street_1": f"{rng.randint(1, 999)} {rng.choice(_WORDS).title()} St"
            if rng.random() < 0.5
            else "",
            "city": rng.choice(_WORDS).title() if rng.random() < 0.5 else "",
            "country": rng.choice(["US", "CA", "GB", "IN", "DE"]) if rng.random() < 0.7 else "",
            "dob": f"{rng.randint(1990, 2012)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if rng.random() < 0.5
            else "",
        }
        n = len(users)
        if n >= 10 and n % 97 == 5:
            # Same person signed up twice: the address differs only in case and surrounding space.
            original = users[n - rng.randint(1, 9)]
            if "@" in original["fields"].get("email", ""):
                # A stub account: the original, with more details, is the one that survives the merge.
                fields = {"email": f"  {original['fields']['email'].upper()} ", "first_name": first}
                mark("duplicate_email", rec_id)
                mark("duplicate_email_of", original["id"])
        elif n % 131 == 7:
            fields["email"] = "" if n % 2 else "   "
            mark("empty_email", rec_id)
        if n % 151 == 11:
            fields["city"] = "Llanfair" + "pwllgwyngyll" * 12
            mark("long_city", rec_id)
        if n % 173 == 13:
            fields["first_name"] = "Maximilian" * 8
            fields["display_name"] = "The Very Long Display Name " * 12
            mark("long_name", rec_id)
        if n % 139 == 17:
            fields["dob"] = rng.choice(["31/02/2001", "not a date", "2001-13-45", "yesterday"])
            mark("unparsable_dob", rec_id)
        users.append(record(rec_id, fields))
        emails.append(fields["email"])
    user_ids = [u["id"] for u in users]

    # -- events --------------------------------------------------------------------------------------
    events: list[dict[str, Any]] = []
    codes: list[str] = []
    for i in range(scale.events):
        rec_id = ids.new()
        name = f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} Hacks {2020 + i % 6} #{i}"
        slug = slug_for(name)
        code = "".join(rng.choices(_LEGACY_CODE_ALPHABET, k=4))
        while code in codes:
            code = "".join(rng.choices(_LEGACY_CODE_ALPHABET, k=4))
        owner: list[str] = [rng.choice(user_ids)]
        fields = {
            "name": name,
            "slug": slug,
            "join_code": code,
            "description": f"A weekend of {rng.choice(_WORDS)} and {rng.choice(_WORDS)}.",
            "votable": rng.random() < 0.5,
            "leaderboard_enabled": rng.random() < 0.3,
            "demo_links_optional": rng.random() < 0.3,
            "ysws_checks_enabled": rng.random() < 0.2,
            "owner": owner,
        }
        n = len(events)
        if n % 23 == 3 and n > 0:
            fields["slug"] = events[n - 1]["fields"].get("slug") or slug
            mark("duplicate_slug", rec_id)
        if n % 29 == 4:
            fields["slug"] = ""
            mark("empty_slug", rec_id)
        if n % 31 == 5:
            fields["slug"] = "the-" + "-".join(rng.choice(_WORDS) for _ in range(14)) + f"-{n}"
            mark("long_slug", rec_id)
        if n % 19 == 6:
            fields["join_code"] = ""
            mark("empty_event_join_code", rec_id)
        if n % 37 == 8 and n > 0:
            fields["join_code"] = events[n - 1]["fields"].get("join_code", "ABCD").lower()
            mark("duplicate_event_join_code", rec_id)
        if n % 7 == 0:
            fields["feature_flags_csv"] = "daydream,scrapyard" if n % 14 else ["daydream", "summer-of-making"]
            mark("feature_flags_list" if n % 14 == 0 else "feature_flags_csv", rec_id)
        if n % 53 == 9:
            fields["owner"] = []
            mark("event_without_owner", rec_id)
        elif n % 59 == 10:
            fields["owner"] = [missing_id()]
            mark("event_orphan_owner", rec_id)
        events.append(record(rec_id, fields))
        codes.append(fields.get("join_code", ""))
    event_ids = [e["id"] for e in events]
    # Dirty cases sit on parents that migrate, so each one shows its own outcome rather than a cascade;
    # a share of the children of unmigratable parents is generated on purpose (``*_of_skipped_*``).
    bad_events = set(dirty.get("event_without_owner", []) + dirty.get("event_orphan_owner", []))
    good_events = [rec for rec in event_ids if rec not in bad_events]

    # Attendance: pairs spread over events, with a few orphan links.
    attendees: dict[str, list[str]] = {rec: [] for rec in event_ids}
    for n in range(scale.attendee_links):
        event = event_ids[n % len(event_ids)] if n < len(event_ids) else rng.choice(event_ids)
        if n % 211 == 17:
            event = rng.choice(good_events)
            attendee = missing_id()
            mark("orphan_attendee", f"{event}/{attendee}")
        else:
            attendee = rng.choice(user_ids)
            while attendee in attendees[event]:
                attendee = rng.choice(user_ids)
        attendees[event].append(attendee)
    for event_record in events:
        if attendees[event_record["id"]]:
            event_record["fields"]["attendees"] = attendees[event_record["id"]]

    # -- projects ------------------------------------------------------------------------------------
    projects: list[dict[str, Any]] = []
    project_event: dict[str, str] = {}
    project_codes: list[str] = []
    last_good_code = ""
    for i in range(scale.projects):
        rec_id = ids.new()
        n = len(projects)
        event = rng.choice(sorted(bad_events)) if n % 13 == 12 and bad_events else rng.choice(good_events)
        if event in bad_events:
            mark("project_of_skipped_event", rec_id)
        pool = attendees[event] or user_ids
        owner_id = rng.choice(pool)
        fields = {
            "name": f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS)} {i}",
            "repo": f"https://github.com/example/project-{i}",
            "image_url": f"https://cdn.example.com/{i}.png",
            "demo": f"https://demo.example.com/{i}" if rng.random() < 0.7 else "",
            "description": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 30))),
            "hours_spent": rng.randint(0, 80),
            "points": 0,
            "join_code": "".join(rng.choices(_LEGACY_CODE_ALPHABET, k=4)),
            "event": [event],
            "owner": [owner_id],
        }
        while fields["join_code"] in project_codes:
            fields["join_code"] = "".join(rng.choices(_LEGACY_CODE_ALPHABET, k=4))
        if rng.random() < 0.3:
            fields["cached_auto_quality"] = json.dumps(
                {
                    "valid": True,
                    "reason": "",
                    "image_valid": True,
                    "readme_result": {"features": ["cli"], "program_type": "cli"},
                    "repo_result": {"github": True, "primary_language": "Python", "valid": True},
                    "demo_result": {"deployed": True, "functional": True, "quality_percent": 87.5},
                }
            )
            mark("quality_json_string", rec_id)
        if n % 71 == 3:
            fields["cached_auto_quality"] = '{"valid": true, "reason": '
            mark("quality_invalid_json", rec_id)
        if n % 43 == 4:
            fields["join_code"] = ""
            mark("empty_project_join_code", rec_id)
        if n % 47 == 5 and last_good_code:
            fields["join_code"] = last_good_code
            mark("duplicate_project_join_code", rec_id)
        if n % 61 == 6:
            fields["name"] = "An Extremely Verbose Project Title " * 10
            mark("long_project_name", rec_id)
        if n % 83 == 7:
            fields["event"] = [missing_id()]
            mark("orphan_project_event", rec_id)
        elif n % 89 == 8:
            fields["owner"] = [missing_id()]
            mark("orphan_project_owner", rec_id)
        projects.append(record(rec_id, fields))
        if event not in bad_events and fields["event"] == [event] and fields["owner"] == [owner_id]:
            last_good_code = fields["join_code"] or last_good_code
        project_event[rec_id] = fields["event"][0]
        project_codes.append(fields.get("join_code", ""))
    bad_projects = {
        rec
        for case in ("orphan_project_event", "orphan_project_owner", "project_of_skipped_event")
        for rec in dirty.get(case, [])
    }
    good_projects = [p for p in projects if p["id"] not in bad_projects]

    for n in range(scale.collaborator_links):
        project = rng.choice(projects) if n % 67 else rng.choice(good_projects)
        collaborators = project["fields"].setdefault("collaborators", [])
        if n % 67 == 0:
            collaborator = missing_id()
            mark("orphan_collaborator", f"{project['id']}/{collaborator}")
        else:
            collaborator = rng.choice(user_ids)
            if collaborator in collaborators:
                continue
        collaborators.append(collaborator)

    # -- referrals -----------------------------------------------------------------------------------
    referrals: list[dict[str, Any]] = []
    for n in range(scale.referrals):
        rec_id = ids.new()
        event = rng.choice(sorted(bad_events)) if n % 17 == 16 and bad_events else rng.choice(good_events)
        fields = {
            "content": rng.choice(["From a friend", "Twitter", "Slack", "Organizer self-join", ""]),
            "user": [rng.choice(attendees[event] or user_ids)],
            "event": [event],
        }
        if n % 101 == 9:
            fields["user"] = [missing_id()]
            mark("orphan_referral", rec_id)
        elif n % 103 == 10:
            fields["event"] = []
            mark("referral_without_event", rec_id)
        referrals.append(record(rec_id, fields))

    # -- votes ---------------------------------------------------------------------------------------
    votes: list[dict[str, Any]] = []
    clean_votes: list[dict[str, Any]] = []
    voted: set[tuple[str, str]] = set()
    while len(votes) < scale.votes:
        n = len(votes)
        rec_id = ids.new()
        cascade = n % 19 == 18 and bool(bad_projects)
        voted_for: str = rng.choice(sorted(bad_projects)) if cascade else rng.choice(good_projects)["id"]
        event = project_event[voted_for]
        voter = rng.choice(attendees.get(event) or user_ids)
        if (voter, voted_for) in voted and n % 41 != 2:
            continue
        fields = {"voter": [voter], "project": [voted_for], "event": [event]}
        if cascade:
            mark("vote_of_skipped_project", rec_id)
        elif n % 41 == 2 and clean_votes:
            # The same person voting for the same project twice.
            fields = dict(clean_votes[-1]["fields"])
            mark("duplicate_vote", rec_id)
        elif n % 53 == 3:
            fields["event"] = [rng.choice([e for e in event_ids if e != event])]
            mark("vote_event_mismatch", rec_id)
        elif n % 97 == 4:
            fields["voter"] = [missing_id()]
            mark("orphan_vote_voter", rec_id)
        elif n % 101 == 5:
            fields["project"] = [missing_id()]
            mark("orphan_vote_project", rec_id)
        else:
            clean_votes.append({"fields": fields})
        voted.add((fields["voter"][0], fields["project"][0]))
        votes.append(record(rec_id, fields))

    # Manual scoring in legacy events: Airtable `points` above the number of vote records.
    vote_count: dict[str, int] = {}
    for vote in votes:
        project_ref = vote["fields"]["project"][0]
        vote_count[project_ref] = vote_count.get(project_ref, 0) + 1
    for n, project in enumerate(projects):
        count = vote_count.get(project["id"], 0)
        if n % 9 == 0:
            project["fields"]["points"] = count + rng.randint(1, 15)
            mark("points_above_votes", project["id"])
        elif count:
            project["fields"]["points"] = count

    return SyntheticBase(
        records={
            SourceTable.USERS: users,
            SourceTable.EVENTS: events,
            SourceTable.PROJECTS: projects,
            SourceTable.REFERRALS: referrals,
            SourceTable.VOTES: votes,
        },
        dirty=dirty,
    )
