"""Events, attendance and projects (legacy §4.2–4.7, PRODUCT §3.10–3.14), on the in-memory adapters."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import pytest

from podium.adapters.memory.rate_limiter import MemoryRateLimiter
from podium.adapters.memory.store import MemoryStore
from podium.domain.errors import (
    BAD_ACCESS,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unavailable,
    Unprocessable,
)
from podium.domain.models import User
from podium.domain.services.events import EventService
from podium.domain.services.projects import CheckPolicy, NewProject, ProjectService
from tests.factories import UserFactory


class FakeChecks:
    def __init__(self, configured: bool = True) -> None:
        self.configured = configured
        self.started: list[tuple[str, str, str]] = []

    async def start(self, repo: str, image_url: str, demo: str) -> dict[str, Any]:
        self.started.append((repo, image_url, demo))
        return {"check_id": "c1", "status": "pending", "created_at": "2026-11-25T12:00:00Z"}

    async def poll(self, check_id: str) -> dict[str, Any]:
        return {"check_id": check_id, "status": "running", "created_at": "2026-11-25T12:00:00Z"}


async def _people(store: MemoryStore, n: int) -> list[User]:
    users = UserFactory.batch(n)
    async with store() as tx:
        for user in users:
            await tx.users.add(user)
        await tx.commit()
    return users


async def test_creating_an_event_derives_slug_and_code(store: MemoryStore) -> None:
    (owner,) = await _people(store, 1)
    events = EventService(store)
    created = await events.create(owner, "Café Hack!", "", False, False)
    assert created.slug == "cafe-hack"
    assert len(created.join_code) == 6
    with pytest.raises(Invalid, match="Event slug already exists"):
        await events.create(owner, "cafe hack", "", False, False)
    with pytest.raises(Unprocessable):
        await events.create(owner, "!!!", "", False, False)


async def test_attending_with_a_code_is_trimmed_case_insensitive_and_once(store: MemoryStore) -> None:
    owner, guest = await _people(store, 2)
    events = EventService(store)
    created = await events.create(owner, "Hack", "", False, False)
    assert await events.attend(guest, f"  {created.join_code.lower()} ", "a friend") == created.id
    with pytest.raises(Invalid, match="User already attending event"):
        await events.attend(guest, created.join_code, "")
    with pytest.raises(NotFound, match="Event not found"):
        await events.attend(guest, "NOPE22", "")
    assert [r.content for r in await events.referrals(owner, created.id)] == ["a friend"]


async def test_only_the_owner_administers_and_unknown_events_look_the_same(store: MemoryStore) -> None:
    owner, stranger = await _people(store, 2)
    events = EventService(store)
    created = await events.create(owner, "Hack", "", False, False)
    assert (await events.private(owner, created.id)).event.join_code == created.join_code
    for call in (
        events.private(stranger, created.id),
        events.update(stranger, created.id, {"name": "x"}),
        events.delete(stranger, created.id),
        events.attendees(stranger, created.id),
    ):
        with pytest.raises(Forbidden, match=BAD_ACCESS):
            await call


async def test_the_public_leaderboard_needs_enabling(store: MemoryStore) -> None:
    (owner,) = await _people(store, 1)
    events = EventService(store)
    created = await events.create(owner, "Hack", "", False, False)
    with pytest.raises(Forbidden, match="Leaderboard is not enabled"):
        await events.projects(created.id, leaderboard=True)
    await events.update(owner, created.id, {"leaderboard_enabled": True, "votable": None})
    assert await events.projects(created.id, leaderboard=True) == []


async def _project_setup(
    store: MemoryStore, demo_optional: bool = False
) -> tuple[User, User, ProjectService, Any]:
    owner, mate = await _people(store, 2)
    events = EventService(store)
    created = await events.create(owner, "Hack", "", demo_optional, False)
    await events.attend(owner, created.join_code, "")
    return owner, mate, ProjectService(store, FakeChecks()), created


async def test_project_creation_checks_event_demo_then_attendance(store: MemoryStore) -> None:
    owner, mate, projects, event = await _project_setup(store)
    new = NewProject(name="P", repo="r", image_url="i", event_id=event.id, demo="  ")
    with pytest.raises(Unprocessable, match="Demo URL is required for this event"):
        await projects.create(owner, new)
    with pytest.raises(Forbidden, match="Owner not part of event"):
        await projects.create(
            mate, NewProject(name="P", repo="r", image_url="i", event_id=event.id, demo="d")
        )
    project = await projects.create(
        owner, NewProject(name="P", repo="r", image_url="i", event_id=event.id, demo="d")
    )
    assert len(project.join_code) == 6


async def test_update_applies_the_demo_rule_to_the_merged_project(store: MemoryStore) -> None:
    owner, _, projects, event = await _project_setup(store)
    project = await projects.create(
        owner, NewProject(name="P", repo="r", image_url="i", event_id=event.id, demo="d")
    )
    view = await projects.update(owner, project.id, {"name": "Renamed", "demo": None})
    assert (view.project.name, view.project.demo) == ("Renamed", "d")
    with pytest.raises(Unprocessable, match="Demo URL is required"):
        await projects.update(owner, project.id, {"demo": " "})


async def test_collaborators_join_with_the_code_and_cannot_edit(store: MemoryStore) -> None:
    owner, mate, projects, event = await _project_setup(store)
    project = await projects.create(
        owner, NewProject(name="P", repo="r", image_url="i", event_id=event.id, demo="d")
    )
    with pytest.raises(Forbidden, match=BAD_ACCESS):
        await projects.join(mate, project.join_code)
    await EventService(store).attend(mate, event.join_code, "")
    await projects.join(mate, project.join_code.lower())
    with pytest.raises(Invalid, match="User is already a collaborator or owner"):
        await projects.join(mate, project.join_code)
    with pytest.raises(Invalid, match="User is already a collaborator or owner"):
        await projects.join(owner, project.join_code)
    with pytest.raises(NotFound, match="No project found"):
        await projects.join(mate, "ZZZZZZ")
    with pytest.raises(Forbidden, match=BAD_ACCESS):
        await projects.update(mate, project.id, {"name": "x"})
    assert [v.project.id for v in await projects.mine(mate)] == [project.id]


async def test_checks_answer_unavailable_without_configuration(store: MemoryStore) -> None:
    projects = ProjectService(store, FakeChecks(configured=False))
    with pytest.raises(Unavailable, match="Project checks are not configured"):
        await projects.poll_check("abc")


async def test_cached_check_results_come_back_at_once(store: MemoryStore) -> None:
    owner, _, _, event = await _project_setup(store)
    checks = FakeChecks()
    projects = ProjectService(store, checks)
    project = await projects.create(
        owner, NewProject(name="P", repo="r", image_url="i", event_id=event.id, demo="d")
    )
    status = await projects.start_check(project.id, dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    assert status["status"] == "pending"
    assert checks.started == [("r", "i", "d")]
    async with store() as tx:
        stored = await tx.projects.get(project.id)
        assert stored is not None
        store.data.projects[project.id].cached_auto_quality = {"valid": True}
    cached = await projects.start_check(project.id, dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    assert (cached["check_id"], cached["result"]) == ("cached", {"valid": True})
    with pytest.raises(NotFound, match="Cached results should be returned immediately"):
        await projects.poll_check("cached")


async def test_check_starts_that_reach_the_service_are_limited_per_client_and_per_project(
    store: MemoryStore,
) -> None:
    owner, _, _, event = await _project_setup(store)
    checks = FakeChecks()
    policy = CheckPolicy(starts_per_client=3, starts_per_project=2, window_seconds=60)
    projects = ProjectService(store, checks, limiter=MemoryRateLimiter(), check_policy=policy)
    made = [
        await projects.create(owner, NewProject(name=n, repo=n, image_url="i", event_id=event.id, demo="d"))
        for n in ("a", "b", "c", "d")
    ]
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    store.data.projects[made[2].id].cached_auto_quality = {"valid": True}
    for _ in range(5):  # cached answers and unknown projects spend nothing
        assert (await projects.start_check(made[2].id, now, "2001:db8::1"))["check_id"] == "cached"
        with pytest.raises(NotFound):
            await projects.start_check(UUID(int=1), now, "2001:db8::1")
    # Per project: two starts of "a" from two clients, the third (from a third client) is refused.
    await projects.start_check(made[0].id, now, "2001:db8::1")
    await projects.start_check(made[0].id, now, "192.0.2.1")
    with pytest.raises(RateLimited) as refused:
        await projects.start_check(made[0].id, now, "192.0.2.2")
    assert refused.value.retry_after >= 1
    # Per client, an IPv6 client by its /64: its second and third starts (other projects, other addresses
    # in the /64) are admitted, its fourth is not, though that project ("d") has started only once.
    await projects.start_check(made[1].id, now, "2001:db8::2")
    await projects.start_check(made[3].id, now, "2001:db8::3")
    with pytest.raises(RateLimited, match="Too many project checks"):
        await projects.start_check(made[3].id, now, "2001:db8::ffff")
    assert [repo for repo, _, _ in checks.started] == ["a", "a", "b", "d"]
    assert (await projects.start_check(made[2].id, now, "2001:db8::1"))["check_id"] == "cached"
