"""The frontend's end-to-end journey (legacy §6, journey.spec.ts), over the API."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import SignUp, attend, submit


async def test_complete_hackathon_workflow(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any
) -> None:
    organizer = await sign_up("Olive")
    attendee = await sign_up("Adam")

    event = await create_event(organizer, "Journey Hack 2026!")
    assert event.slug == "journey-hack-2026"
    mine = (await client.get("/events/", headers=organizer.headers)).json()
    assert [e["join_code"] for e in mine["owned_events"]] == [event.join_code]

    # The organiser edits the event by posting the whole EventPrivate back, plus the flags.
    whole = {
        **mine["owned_events"][0],
        "votable": True,
        "leaderboard_enabled": True,
        "demo_links_optional": True,
    }
    assert (await client.put(f"/events/{event.id}", json=whole, headers=organizer.headers)).json() == {
        "message": "Event updated"
    }

    await attend(client, organizer, event, "Organizer self-join")
    alpha = await submit(client, organizer, event, "Project Alpha")
    await submit(client, organizer, event, "Project Beta")
    await attend(client, attendee, event, "Joined from link")
    await submit(client, attendee, event, "Project Gamma")

    event_id = (await client.get(f"/events/id/{event.slug}")).json()
    assert event_id == event.id
    listing = (await client.get(f"/events/{event.id}/projects", params={"leaderboard": "false"})).json()
    assert {p["name"] for p in listing} == {"Project Alpha", "Project Beta", "Project Gamma"}
    assert (await client.get(f"/events/{event.id}")).json()["max_votes_per_user"] == 1

    voted = await client.post(
        "/events/vote", json={"event": event.id, "projects": [alpha["id"]]}, headers=attendee.headers
    )
    assert voted.status_code == 200, voted.text

    board = (await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})).json()
    assert [(p["name"], p["points"]) for p in board] == [
        ("Project Alpha", 1),
        ("Project Beta", 0),
        ("Project Gamma", 0),
    ]
    assert board[0]["owner_display_name"] == [organizer.display_name]
    me = (await client.get("/users/current", headers=attendee.headers)).json()
    assert me["votes"] == board[0]["votes"]

    referrals = (await client.get(f"/events/admin/{event.id}/referrals", headers=organizer.headers)).json()
    assert sorted(r["content"] for r in referrals) == ["Joined from link", "Organizer self-join"]
    attendees = (await client.get(f"/events/admin/{event.id}/attendees", headers=organizer.headers)).json()
    removed = await client.post(
        f"/events/admin/{event.id}/remove-attendee",
        json={"user_id": attendees[0]["id"]},
        headers=organizer.headers,
    )
    assert removed.json() == {"message": "Attendee removed"}
    # Ownership does not depend on attendance.
    assert (await client.get(f"/events/admin/{event.id}", headers=organizer.headers)).status_code == 200
