"""The project lists are cached per process, yet always exact (PRODUCT §3.19)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar.testing import AsyncTestClient

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import Person, SignUp, attend, submit


async def _board(client: AsyncTestClient[Any], event_id: str) -> list[tuple[str, int]]:
    response = await client.get(f"/events/{event_id}/projects", params={"leaderboard": "true"})
    assert response.status_code == 200, response.text
    return [(p["name"], p["points"]) for p in response.json()]


async def _vote(client: AsyncTestClient[Any], voter: Person, event_id: str, project_id: str) -> None:
    response = await client.post(
        "/events/vote", json={"event": event_id, "projects": [project_id]}, headers=voter.headers
    )
    assert response.status_code == 200, response.text


async def test_a_read_on_another_worker_reflects_a_vote_at_once(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    owner, alice, bob = await sign_up("Olive"), await sign_up("Alice"), await sign_up("Bob")
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    for person in (owner, alice, bob):
        await attend(client, person, event)
    alpha = await submit(client, owner, event, "Alpha")
    beta = await submit(client, owner, event, "Beta")

    # A second app is a second worker: its own cache, the same database.
    async with AsyncTestClient(app=create_app(settings)) as other_worker:
        assert await _board(other_worker, event.id) == [("Alpha", 0), ("Beta", 0)]  # now cached there
        await _vote(client, alice, event.id, beta["id"])
        assert await _board(other_worker, event.id) == [("Beta", 1), ("Alpha", 0)]
        await _vote(client, bob, event.id, alpha["id"])
        assert await _board(other_worker, event.id) == [("Alpha", 1), ("Beta", 1)]
        renamed = await client.put(
            f"/projects/{beta['id']}", json={"name": "Aardvark"}, headers=owner.headers
        )
        assert renamed.status_code == 200
        assert await _board(other_worker, event.id) == [("Aardvark", 1), ("Alpha", 1)]


async def test_team_names_in_cached_lists_follow_profile_changes(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner, leaderboard_enabled=True)
    await attend(client, owner, event)
    await submit(client, owner, event, "Alpha")
    first = (await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})).json()
    assert first[0]["owner_display_name"] == [owner.display_name]
    await client.put("/users/current", json={"display_name": "Olive the Great"}, headers=owner.headers)
    again = (await client.get(f"/events/{event.id}/projects", params={"leaderboard": "false"})).json()
    assert again[0]["owner_display_name"] == ["Olive the Great"]


async def test_clients_that_revalidate_get_304_until_something_changes(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any
) -> None:
    owner, voter = await sign_up("Olive"), await sign_up("Vera")
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    await attend(client, owner, event)
    await attend(client, voter, event)
    project = await submit(client, owner, event, "Alpha")
    path = f"/events/{event.id}/projects"
    first = await client.get(path, params={"leaderboard": "true"})
    etag = first.headers["etag"]
    unchanged = await client.get(path, params={"leaderboard": "true"}, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    await _vote(client, voter, event.id, project["id"])
    changed = await client.get(path, params={"leaderboard": "true"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()[0]["points"] == 1


async def test_the_uncached_path_serves_the_same_lists(
    settings: Settings,
    clean_database: object,
    sign_up: SignUp,
    create_event: Any,
    client: AsyncTestClient[Any],
) -> None:
    owner, voter = await sign_up("Olive"), await sign_up("Vera")
    event = await create_event(owner, votable=True, leaderboard_enabled=True)
    await attend(client, owner, event)
    await attend(client, voter, event)
    for name in ("Beta", "Alpha", "Gamma"):
        await submit(client, owner, event, name)
    async with AsyncTestClient(app=create_app(replace(settings, leaderboard_cache=False))) as uncached:
        board = await uncached.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
        assert "etag" not in board.headers
        assert (
            board.json()
            == (await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})).json()
        )
        listing = await uncached.get(f"/events/{event.id}/projects", params={"leaderboard": "false"})
        assert sorted(p["name"] for p in listing.json()) == ["Alpha", "Beta", "Gamma"]
        hidden = await create_event(owner)
        refused = await uncached.get(f"/events/{hidden.id}/projects", params={"leaderboard": "true"})
        assert refused.status_code == 403


async def test_the_organisers_views_are_cached_yet_exact_and_still_checked_on_every_read(
    client: AsyncTestClient[Any], settings: Settings, sign_up: SignUp, create_event: Any
) -> None:
    owner, alice, intruder = await sign_up("Olive"), await sign_up("Alice"), await sign_up("Ivan")
    event = await create_event(owner, votable=True)
    await attend(client, owner, event)
    alpha = await submit(client, owner, event, "Alpha")
    admin = f"/events/admin/{event.id}"

    async def views(instance: AsyncTestClient[Any], person: Any = owner) -> dict[str, Any]:
        out = {}
        for view in ("leaderboard", "votes", "attendees", "referrals"):
            response = await instance.get(f"{admin}/{view}", headers=person.headers)
            out[view] = response.json() if response.status_code == 200 else response.status_code
        return out

    async with AsyncTestClient(app=create_app(settings)) as other_worker:
        first = await views(other_worker)  # cached there now
        assert [p["points"] for p in first["leaderboard"]] == [0]
        assert first["votes"] == []
        assert first["referrals"] == []
        assert await views(other_worker, intruder) == dict.fromkeys(first, 403)  # a hit is still checked

        await attend(client, alice, event, referral="a friend")
        await _vote(client, alice, event.id, alpha["id"])
        await client.put("/users/current", json={"display_name": "Alice B"}, headers=alice.headers)
        now = await views(other_worker)
        assert [p["points"] for p in now["leaderboard"]] == [1]
        assert [v["voter_id"] for v in now["votes"]] == [alice.id]
        assert [r["content"] for r in now["referrals"]] == ["a friend"]
        assert {a["display_name"] for a in now["attendees"]} == {owner.display_name, "Alice B"}

        removed = await client.post(
            f"{admin}/remove-attendee", json={"user_id": alice.id}, headers=owner.headers
        )
        assert removed.status_code == 200
        assert {a["id"] for a in (await views(other_worker))["attendees"]} == {owner.id}
