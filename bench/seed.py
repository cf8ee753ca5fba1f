"""Build the benchmark dataset of issue 6 in bulk (COPY), into a database already migrated to head.

At ``--scale 1``: one event ("Bench Hackathon") with 300 projects, 5,000 attendees, 6,000 votes (2,000
voters with 3 votes each, so 3,000 attendees have not voted yet), one or two collaborators on two projects
in three, referrals for a third of the attendees, and 20 small side events that some attendees also join
(so ``GET /events/`` lists more than one event). ``--scale N`` multiplies projects, attendees and votes.
Every constraint of the schema and of the vote rules holds: unique (voter, project), a vote's project is
in the vote's event, voters attend, nobody votes for a project they own or collaborate on, ≤ 3 votes each.

It also creates a pool of users who attend nothing (the attend scenario joins them to the event), and
optionally (``--vote-pool``) more attendees of the event who have not voted: the vote scenarios send each
voter once, and 3,000 voters last a vote floor at 1,500 req/s two seconds, so ``bench.run`` adds 20,000.
It mints access tokens for everyone a scenario acts as, and writes what the load scenarios need to
``<out>/seed.json`` plus one token file per pool (a token a line, so ``wrk``'s Lua can read them).

    uv run python -m bench.seed --dsn postgresql://user@127.0.0.1:5433/podium --secret S --out DIR
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
EMAIL_DOMAIN = "bench.podium.invalid"
TOKEN_TTL_SECONDS = 7 * 24 * 3600
# ~270 characters: with the other fields a 300-project public leaderboard is ≈ 160 KB, as in issue 6.
DESCRIPTION = (
    "A hackathon project built over a weekend: a small web app with a Python backend and a Svelte "
    "frontend, a README explaining how to run it, screenshots, and a live demo. It solves a real problem "
    "for the team's school club. Project number {n}."
)

_JWT_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")


def access_token(email: str, secret: str, exp: int, token_type: str = "access") -> str:
    """An HS256 JWT ``{"sub", "token_type", "exp"}``, an access token unless ``token_type`` says otherwise
    (hand-rolled, ~10× PyJWT's speed)."""
    payload = msgspec.json.encode({"sub": email, "token_type": token_type, "exp": exp})
    signing_input = _JWT_HEADER + b"." + base64.urlsafe_b64encode(payload).rstrip(b"=")
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(sig).rstrip(b"=")).decode()


def join_code(prefix: str, n: int) -> str:
    """A unique 6-character code from the unambiguous alphabet: ``prefix`` + ``n`` in base 31."""
    base = len(JOIN_CODE_ALPHABET)
    digits = []
    for _ in range(6 - len(prefix)):
        n, r = divmod(n, base)
        digits.append(JOIN_CODE_ALPHABET[r])
    if n:
        raise ValueError("join code space exhausted")
    return prefix + "".join(reversed(digits))


@dataclass
class Dataset:
    users: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    projects: list[tuple[Any, ...]] = field(default_factory=list)
    attendees: list[tuple[Any, ...]] = field(default_factory=list)
    collaborators: list[tuple[Any, ...]] = field(default_factory=list)
    votes: list[tuple[Any, ...]] = field(default_factory=list)
    referrals: list[tuple[Any, ...]] = field(default_factory=list)


USER_COLUMNS = (
    "id",
    "email",
    "display_name",
    "first_name",
    "last_name",
    "phone",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip_code",
    "country",
    "dob",
)
EVENT_COLUMNS = (
    "id",
    "name",
    "slug",
    "description",
    "join_code",
    "votable",
    "leaderboard_enabled",
    "demo_links_optional",
    "ysws_checks_enabled",
    "feature_flags_csv",
    "owner_id",
)
PROJECT_COLUMNS = (
    "id",
    "name",
    "repo",
    "image_url",
    "demo",
    "description",
    "join_code",
    "hours_spent",
    "legacy_points",
    "cached_auto_quality",
    "owner_id",
    "event_id",
)
ATTENDEE_COLUMNS = ("id", "event_id", "user_id")
COLLABORATOR_COLUMNS = ("id", "project_id", "user_id")
VOTE_COLUMNS = ("id", "voter_id", "project_id", "event_id")
REFERRAL_COLUMNS = ("id", "content", "user_id", "event_id")

WORDS = (
    "Pixel",
    "Quantum",
    "Sprout",
    "Orbit",
    "Echo",
    "Nimbus",
    "Cobalt",
    "Lumen",
    "Vertex",
    "Tidal",
    "Ember",
    "Atlas",
    "Prism",
    "Comet",
    "Harbor",
    "Maple",
    "Cipher",
    "Delta",
    "Falcon",
    "Juniper",
)


def build(
    scale: int, attend_pool: int, rng: random.Random, vote_pool: int = 0
) -> tuple[Dataset, dict[str, Any]]:
    """The rows of every table, plus the ids the scenarios need."""
    n_projects, n_attendees, n_votes = 300 * scale, 5000 * scale, 6000 * scale
    n_voters = n_votes // 3
    ds = Dataset()

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    def user(kind: str, i: int) -> tuple[uuid.UUID, str]:
        uid, email = new_id(), f"{kind}{i:06d}@{EMAIL_DOMAIN}"
        first = f"{kind.capitalize()}{i}"
        ds.users.append((uid, email, f"{first} B.", first, "Bench", "", "", "", "", "", "", "US", None))
        return uid, email

    admin_id, admin_email = user("admin", 0)
    attendees = [user("attendee", i) for i in range(n_attendees)]
    pool = [user("joiner", i) for i in range(attend_pool)]

    event_id = new_id()
    event_code = join_code("E", 0)
    ds.events.append(
        (
            event_id,
            "Bench Hackathon",
            "bench-hackathon",
            "The issue-6 benchmark event.",
            event_code,
            True,
            True,
            False,
            False,
            "",
            admin_id,
        )
    )
    for uid, _ in attendees:
        ds.attendees.append((new_id(), event_id, uid))

    # Projects: attendee i owns project i; collaborators come from the next block of attendees.
    project_ids: list[uuid.UUID] = []
    member_of: dict[int, set[int]] = {}  # attendee index -> project indexes they own or collaborate on
    next_collab = n_projects
    for j in range(n_projects):
        pid = new_id()
        project_ids.append(pid)
        legacy = rng.randint(1, 20) if j % 10 == 0 else 0
        name = f"{WORDS[j % len(WORDS)]} {WORDS[(j * 7 + 3) % len(WORDS)]} {j:05d}"
        ds.projects.append(
            (
                pid,
                name,
                f"https://github.com/podium-bench/project-{j:05d}",
                f"https://cdn.podium-bench.invalid/screenshots/{pid}.png",
                f"https://project-{j:05d}.demo.podium-bench.invalid/",
                DESCRIPTION.format(n=j),
                join_code("P", j),
                rng.randint(1, 48),
                legacy,
                None,
                attendees[j][0],
                event_id,
            )
        )
        member_of.setdefault(j, set()).add(j)
        for _ in range(j % 3):
            member_of.setdefault(next_collab, set()).add(j)
            ds.collaborators.append((new_id(), pid, attendees[next_collab][0]))
            next_collab += 1
    if next_collab > n_voters:
        raise ValueError("owners and collaborators must all be among the voters")

    # Votes: the first n_voters attendees cast 3 each, skewed so the leaderboard has a long tail.
    weights = [1.0 / (k + 5) for k in range(n_projects)]
    rng.shuffle(weights)
    cum_weights = list(itertools.accumulate(weights))
    project_range = range(n_projects)
    for i in range(n_voters):
        own = member_of.get(i, set())
        chosen: set[int] = set()
        while len(chosen) < 3:
            j = rng.choices(project_range, cum_weights=cum_weights)[0]
            if j not in own:
                chosen.add(j)
        for j in sorted(chosen):
            ds.votes.append((new_id(), attendees[i][0], project_ids[j], event_id))

    for i in range(0, n_attendees, 3):
        ds.referrals.append(
            (new_id(), rng.choice(("a friend", "Slack", "school club", "")), attendees[i][0], event_id)
        )

    # Side events, each owned by one attendee, with 10 projects and 50 attendees (some of the first 1,000
    # attendees, who are the ones the per-user read scenarios act as).
    for e in range(20):
        sid, owner = new_id(), attendees[e * 37][0]
        ds.events.append(
            (
                sid,
                f"Side Event {e}",
                f"side-event-{e}",
                "",
                join_code("S", e),
                False,
                False,
                True,
                False,
                "",
                owner,
            )
        )
        members = rng.sample(range(1000), 50)
        for m in members:
            ds.attendees.append((new_id(), sid, attendees[m][0]))
        for k in range(10):
            ds.projects.append(
                (
                    new_id(),
                    f"Side {e}-{k}",
                    "",
                    "",
                    "",
                    "",
                    join_code("Q", e * 10 + k),
                    0,
                    0,
                    None,
                    attendees[members[k]][0],
                    sid,
                )
            )

    # The vote pool last, so the rows above (and their random ids) are the same whatever its size.
    attendees += [user("voter", i) for i in range(vote_pool)]
    for uid, _ in attendees[n_attendees:]:
        ds.attendees.append((new_id(), event_id, uid))
    voters_without_votes = list(range(n_voters, len(attendees)))
    info: dict[str, Any] = {
        "scale": scale,
        "event_id": str(event_id),
        "event_join_code": event_code,
        "project_ids": [str(p) for p in project_ids],
        "admin": admin_email,
        "counts": {
            "projects": n_projects,
            "attendees": len(attendees),
            "votes": n_votes,
            "voters_without_votes": len(voters_without_votes),
            "attend_pool": attend_pool,
            "vote_pool": vote_pool,
            "users": len(ds.users),
        },
        "_emails": {
            "admin": [admin_email],
            # Per-user reads rotate over 1,000 attendees: owners, collaborators, voters, side-event folk.
            "readers": [attendees[i][1] for i in range(min(1000, n_attendees))],
            "members": [attendees[i][1] for i in range(min(1000, next_collab))],
            "voters": [attendees[i][1] for i in voters_without_votes],
            "joiners": [email for _, email in pool],
        },
        "pool_user_ids": {
            "voters": [str(attendees[i][0]) for i in voters_without_votes],
            "joiners": [str(uid) for uid, _ in pool],
        },
    }
    return ds, info


async def copy(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))


async def copy_dataset(conn: asyncpg.Connection, ds: Dataset) -> None:
    """Every table of ``ds`` in one transaction (COPY), each after the tables its rows point at."""
    async with conn.transaction():
        await copy(conn, "users", USER_COLUMNS, ds.users)
        await copy(conn, "events", EVENT_COLUMNS, ds.events)
        await copy(conn, "projects", PROJECT_COLUMNS, ds.projects)
        await copy(conn, "event_attendees", ATTENDEE_COLUMNS, ds.attendees)
        await copy(conn, "project_collaborators", COLLABORATOR_COLUMNS, ds.collaborators)
        await copy(conn, "votes", VOTE_COLUMNS, ds.votes)
        await copy(conn, "referrals", REFERRAL_COLUMNS, ds.referrals)


async def copy_into(dsn: str, ds: Dataset) -> None:
    """``ds`` into the database at ``dsn``, over a connection of its own (a bench script's small world)."""
    conn = await asyncpg.connect(dsn)
    try:
        await copy_dataset(conn, ds)
    finally:
        await conn.close()


async def load(dsn: str, ds: Dataset) -> None:
    """The benchmark dataset into an empty database, then ``ANALYZE``."""
    conn = await asyncpg.connect(dsn)
    try:
        existing = await conn.fetchval("select count(*) from users")
        if existing:
            raise SystemExit(f"refusing to seed: the database already has {existing} users")
        await copy_dataset(conn, ds)
        await conn.execute("analyze")
    finally:
        await conn.close()


def write_outputs(out: Path, info: dict[str, Any], secret: str) -> dict[str, Any]:
    """seed.json plus ``tokens-<pool>.txt`` (one access token a line) for each pool of users, and
    ``magic-joiners.txt`` (one magic link token a line, for the verify scenario)."""
    out.mkdir(parents=True, exist_ok=True)
    exp = int(time.time()) + TOKEN_TTL_SECONDS
    files: dict[str, str] = {}
    for pool, emails in info.pop("_emails").items():
        path = out / f"tokens-{pool}.txt"
        path.write_text("".join(access_token(e, secret, exp) + "\n" for e in emails))
        files[pool] = str(path)
        if pool == "joiners":
            magic = out / f"magic-{pool}.txt"
            magic.write_text("".join(access_token(e, secret, exp, "magic_link") + "\n" for e in emails))
            info["magic_link_file"] = str(magic)
    info["token_files"] = files
    (out / "seed.json").write_text(json.dumps(info, indent=1))
    return info


async def seed(
    dsn: str,
    *,
    scale: int,
    attend_pool: int,
    out: Path,
    secret: str,
    rng_seed: int = 6,
    vote_pool: int = 0,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    ds, info = build(scale, attend_pool, random.Random(rng_seed), vote_pool)
    t1 = time.perf_counter()
    await load(dsn, ds)
    t2 = time.perf_counter()
    info = write_outputs(out, info, secret)
    t3 = time.perf_counter()
    info["timings_s"] = {
        "build": round(t1 - t0, 2),
        "copy": round(t2 - t1, 2),
        "tokens": round(t3 - t2, 2),
        "total": round(t3 - t0, 2),
    }
    (out / "seed.json").write_text(json.dumps(info, indent=1))
    return info


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", required=True, help="asyncpg URL of a database migrated to head")
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--attend-pool", type=int, default=20_000, help="users who attend nothing yet")
    p.add_argument(
        "--vote-pool", type=int, default=0, help="more attendees of the event who have not voted yet"
    )
    p.add_argument("--secret", required=True, help="PODIUM_JWT_SECRET of the server under test")
    p.add_argument("--out", type=Path, default=Path("bench/results/seed"))
    a = p.parse_args(argv)
    info = asyncio.run(
        seed(
            a.dsn,
            scale=a.scale,
            attend_pool=a.attend_pool,
            vote_pool=a.vote_pool,
            out=a.out,
            secret=a.secret,
        )
    )
    print(json.dumps({"counts": info["counts"], "timings_s": info["timings_s"], "out": str(a.out)}))


if __name__ == "__main__":
    main()
