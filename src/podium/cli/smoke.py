"""``podium smoke BASE_URL``: the cutover plan's smoke test against a running deployment.

Log in, create an event, open voting, attend, create projects, vote, read the public and admin
leaderboards and check the vote is counted; one line per step with its status and latency; exit 0 when
every step passed, 1 otherwise. Everything it created is removed at the end, also after a failed step:
the event through the API (it takes its projects, votes, attendees and referrals with it), and, through
the database, the users (the API cannot delete users), their consumed magic links and their per-user and
per-email rate-limit counters. Per-client-address counters stay: the run's requests count for its address
like any client's, and that address may be shared, so no other client's limit is reset. Its users are ``smoke-…@smoke.invalid``, so a run that was killed is cleaned up
by the next one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import click
import httpx

from podium import bootstrap
from podium.cli.common import load_settings
from podium.config import Settings
from podium.domain.ports import TokenCodec

# Every user the smoke test signs up has an address here (RFC 2606: .invalid never resolves).
SMOKE_DOMAIN = "smoke.invalid"


class StepFailed(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Person:
    name: str
    email: str
    id: str = ""
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Smoke:
    """The steps, in order; each sees what the previous ones created."""

    client: httpx.Client
    codec: TokenCodec
    echo: Callable[[str], None]
    #: Where the secret signing the magic links came from, named when the server refuses them.
    secret_source: str = "PODIUM_JWT_SECRET"
    allow_development: bool = False
    run: str = field(default_factory=lambda: secrets.token_hex(4))
    people: dict[str, Person] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)
    projects: list[dict[str, Any]] = field(default_factory=list)
    magic_links: list[str] = field(default_factory=list)
    failed: bool = False

    def step(self, name: str, action: Callable[[], str]) -> None:
        if self.failed:
            self.echo(f"{name:<28} skipped")
            return
        started = time.perf_counter()
        try:
            detail = action()
            status = "ok"
        except (StepFailed, httpx.HTTPError) as exc:
            detail, status = str(exc), "FAIL"
            self.failed = True
        millis = (time.perf_counter() - started) * 1000
        self.echo(f"{name:<28} {status:<4} {millis:>7.0f} ms  {detail}".rstrip())

    def call(self, method: str, path: str, who: Person | None = None, **kwargs: Any) -> Any:
        headers = who.headers if who else {}
        response = self.client.request(method, path, headers=headers, **kwargs)
        if response.status_code != 200:
            raise StepFailed(
                f"{method} {path} answered {response.status_code}: {response.text[:200]}",
                response.status_code,
            )
        return response.json() if response.content else None

    # -- the steps ----------------------------------------------------------------------------------

    def health(self) -> str:
        body = self.call("GET", "/health")
        body = body if isinstance(body, dict) else {}
        environment = body.get("environment")
        if environment == "development":
            if not self.allow_development:
                raise StepFailed(
                    "the server runs in development mode (PODIUM_ENV is not production: magic links are "
                    "logged, not emailed): set PODIUM_ENV=production and its settings (docs/cutover.md "
                    "step 8); for a rehearsal on a development server add --allow-development"
                )
            return f"{body.get('status', '')}, development mode (--allow-development)"
        return f"{body.get('status', '')}, {environment or 'mode not reported'}"

    def sign_up(self, role: str) -> str:
        person = Person(role, f"smoke-{self.run}-{role}@{SMOKE_DOMAIN}")
        body = {
            "email": person.email,
            "first_name": f"Smoke {role}",
            "display_name": f"Smoke {role} {self.run}",
        }
        person.id = self.call("POST", "/users/", json=body)["id"]
        self.people[role] = person
        return person.email

    def log_in(self, role: str) -> str:
        person = self.people[role]
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        link = self.codec.encode(
            {
                "sub": person.email,
                "token_type": "magic_link",
                "exp": int(expires.timestamp()),
                "jti": secrets.token_urlsafe(16),
            }
        )
        self.magic_links.append(link)
        try:
            person.token = self.call("GET", "/verify", params={"token": link})["access_token"]
        except StepFailed as exc:
            if exc.status not in (400, 401):
                raise
            raise StepFailed(
                f"{exc}. The server refused the magic link signed with {self.secret_source}: set "
                "PODIUM_JWT_SECRET to the server's own secret",
                exc.status,
            ) from exc
        if self.call("GET", "/users/current", person)["email"] != person.email:
            raise StepFailed("/users/current does not name the user who logged in")
        return "token accepted"

    def create_event(self) -> str:
        organiser = self.people["organiser"]
        self.event = self.call("POST", "/events/", organiser, json={"name": f"Smoke test {self.run}"})
        return f"event {self.event['id']}"

    def open_voting(self) -> str:
        changes = {"votable": True, "leaderboard_enabled": True}
        self.call("PUT", f"/events/{self.event['id']}", self.people["organiser"], json=changes)
        public = self.call("GET", f"/events/{self.event['id']}")
        if not public["votable"]:
            raise StepFailed("the event is not votable after the update")
        return "votable, leaderboard public"

    def attend(self) -> str:
        for role in ("organiser", "voter"):
            params = {"join_code": self.event["join_code"], "referral": ""}
            self.call("POST", "/events/attend", self.people[role], params=params)
        return "organiser and voter joined"

    def create_projects(self) -> str:
        for name in ("Alpha", "Beta"):
            body = {"name": f"Smoke {name}", "repo": "https://example.invalid/repo",
                    "image_url": "https://example.invalid/x.png", "demo": "https://example.invalid",
                    "event_id": self.event["id"]}  # fmt: skip
            self.projects.append(self.call("POST", "/projects/", self.people["organiser"], json=body))
        return f"{len(self.projects)} projects"

    def vote(self) -> str:
        body = {"event": self.event["id"], "projects": [self.projects[0]["id"]]}
        self.call("POST", "/events/vote", self.people["voter"], json=body)
        return "1 vote"

    def public_leaderboard(self) -> str:
        board = self.call("GET", f"/events/{self.event['id']}/projects", params={"leaderboard": "true"})
        return self._counted(board)

    def admin_leaderboard(self) -> str:
        board = self.call("GET", f"/events/admin/{self.event['id']}/leaderboard", self.people["organiser"])
        return self._counted(board)

    def _counted(self, board: list[dict[str, Any]]) -> str:
        points = {project["id"]: project["points"] for project in board}
        voted = self.projects[0]["id"]
        if points.get(voted) != 1 or board[0]["id"] != voted:
            raise StepFailed(f"the vote is not counted: points {points}")
        return "the vote is counted, its project leads"

    def delete_event(self) -> str:
        self.call("DELETE", f"/events/{self.event['id']}", self.people["organiser"])
        return "event and everything under it deleted"


def _database_url(settings: Settings) -> str | None:
    """``PODIUM_DATABASE_DIRECT_URL`` (default ``PODIUM_DATABASE_URL``), else the embedded server of
    ``PODIUM_DATA_DIR`` when it is running."""
    if settings.direct_database_url:
        return settings.direct_database_url
    from podium.adapters.postgres.embedded import EmbeddedPostgres
    from podium.cli.common import EMBEDDED_DATABASE

    embedded = EmbeddedPostgres(settings.data_dir / "postgres")
    return embedded.url(EMBEDDED_DATABASE) if embedded.is_running() else None


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _secret(settings: Settings, base_url: str) -> tuple[str, str]:
    """The secret the server signs with, and where it came from: PODIUM_JWT_SECRET, or — only for a
    server on this machine — `podium serve`'s development secret in PODIUM_DATA_DIR."""
    if not settings.jwt_secret_generated:
        return settings.jwt_secret, "PODIUM_JWT_SECRET"
    host = urlsplit(base_url).hostname or ""
    path = settings.data_dir / "jwt-secret"
    if host in LOCAL_HOSTS and path.exists():
        click.echo(
            f"PODIUM_JWT_SECRET is not set: logging in with the development secret in {path}.", err=True
        )
        return path.read_text().strip(), f"the development secret in {path} (PODIUM_JWT_SECRET is not set)"
    raise click.UsageError(
        f"PODIUM_JWT_SECRET is not set: set it to the secret of the server at {base_url} (the smoke test "
        "signs its log-in links with it)."
    )


async def _remove(settings: Settings, database_url: str, hashes: list[str]) -> dict[str, int]:
    async with bootstrap.smoke_cleanup(settings, database_url, SMOKE_DOMAIN) as cleanup:
        return await cleanup.remove(token_hashes=hashes)


@click.command("smoke")
@click.argument("base_url")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per request.")
@click.option(
    "--allow-development",
    is_flag=True,
    help="Accept a server in development mode (a rehearsal); by default the health step fails on one, "
    "since a cutover goes live with PODIUM_ENV=production.",
)
def smoke(base_url: str, timeout: float, allow_development: bool) -> None:
    """Smoke-test the deployment at BASE_URL: log in, create an event, open voting, attend, create
    projects, vote, read both leaderboards; then remove everything it created.

    Needs PODIUM_JWT_SECRET (the server's) and PODIUM_DATABASE_URL (to remove its users; the running
    embedded server of PODIUM_DATA_DIR is found without it). A server in development mode fails the
    health step unless --allow-development. Exit status 0 when every step passed and nothing was left
    behind, 1 otherwise, 2 wrong usage (PODIUM_JWT_SECRET unset for a server on another machine).
    """
    settings = load_settings()
    secret, secret_source = _secret(settings, base_url)
    codec = bootstrap.token_codec(secret, settings.jwt_algorithm)
    database_url = _database_url(settings)
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout) as client:
        run = Smoke(client, codec, click.echo, secret_source, allow_development)
        click.echo(f"Smoke test of {base_url} (run {run.run})")
        run.step("health", run.health)
        run.step("sign up organiser", lambda: run.sign_up("organiser"))
        run.step("log in organiser", lambda: run.log_in("organiser"))
        run.step("sign up voter", lambda: run.sign_up("voter"))
        run.step("log in voter", lambda: run.log_in("voter"))
        run.step("create event", run.create_event)
        run.step("open voting", run.open_voting)
        run.step("attend", run.attend)
        run.step("create projects", run.create_projects)
        run.step("vote", run.vote)
        run.step("public leaderboard", run.public_leaderboard)
        run.step("admin leaderboard", run.admin_leaderboard)
        passed = not run.failed
        run.failed = False  # clean up whatever happened before
        if run.event:
            run.step("clean up: delete event", run.delete_event)
    left_behind = run.failed
    if database_url:
        started = time.perf_counter()
        hashes = [codec.fingerprint(link) for link in run.magic_links]
        removed = asyncio.run(_remove(settings, database_url, hashes))
        millis = (time.perf_counter() - started) * 1000
        listed = ", ".join(f"{count} {table}" for table, count in removed.items() if count)
        click.echo(f"{'clean up: database':<28} ok   {millis:>7.0f} ms  removed {listed or 'nothing'}")
    elif run.people:
        left_behind = True
        emails = ", ".join(person.email for person in run.people.values())
        click.echo(
            f"{'clean up: database':<28} FAIL  users left behind ({emails}): the API cannot delete users. "
            "Set PODIUM_DATABASE_URL and run the smoke test again; it removes every @smoke.invalid user."
        )
    verdict = "PASSED" if passed else "FAILED"
    tail = "; something was left behind" if left_behind else ", nothing left behind"
    click.echo(f"Smoke test {verdict}{tail}.")
    sys.exit(0 if passed and not left_behind else 1)
