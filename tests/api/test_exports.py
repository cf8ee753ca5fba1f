"""The organiser's CSV exports (issue 15): content, spreadsheet safety, who may read them."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
from podium.domain.services.superadmin import SuperadminService
from tests.api.conftest import EventSetup, Person, SignUp, attend, submit

Client = AsyncTestClient[Any]
KINDS = ("leaderboard", "votes", "attendees", "projects")


@pytest.fixture
def promote(engine: AsyncEngine) -> Callable[[Person], Awaitable[None]]:
    service = SuperadminService(SqlAlchemyUnitOfWorkFactory(engine))

    async def grant(person: Person) -> None:
        assert await service.set_superadmin(person.email, True)

    return grant


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), body[:10]  # UTF-8 with a BOM: Excel reads the accents right
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


async def _scene(client: Client, sign_up: SignUp, create_event: Any) -> tuple[EventSetup, dict[str, Person]]:
    people = {
        "owner": await sign_up("Olive", display_name="Olive O."),
        "maker": await sign_up("Max", display_name="=HYPERLINK(\"http://evil\")", street_1="1 Rue Zoë",
                               city="Paris", country="FR", dob="2008-04-01"),
        "mate": await sign_up("Mia", display_name="Mia, \"the\" mate"),
        "voter": await sign_up("Vera", display_name="Véra V."),
    }  # fmt: skip
    event = await create_event(people["owner"], votable=True, demo_links_optional=True)
    await attend(client, people["maker"], event, "@a friend")
    await attend(client, people["mate"], event)
    await attend(client, people["voter"], event, "-the poster")
    project = await submit(client, people["maker"], event, "+Zoë's app")
    joined = await client.post(
        "/projects/join", params={"join_code": project["join_code"]}, headers=people["mate"].headers
    )
    assert joined.status_code == 200
    other = await submit(client, people["mate"], event, "Plain")
    for voted in (project, other):
        response = await client.post(
            "/events/vote",
            json={"event": event.id, "projects": [voted["id"]]},
            headers=people["voter"].headers,
        )
        if voted is project:
            assert response.status_code == 200, response.text
    return event, people


async def _export(client: Client, event: EventSetup, kind: str, who: Person) -> Any:
    return await client.get(f"/events/admin/{event.id}/export/{kind}.csv", headers=who.headers)


async def test_the_leaderboard_export(client: Client, sign_up: SignUp, create_event: Any) -> None:
    event, people = await _scene(client, sign_up, create_event)
    response = await _export(client, event, "leaderboard", people["owner"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{event.slug}-leaderboard.csv"' in response.headers["content-disposition"]
    assert _rows(response.content) == [
        ["Rank", "Project", "Points", "Votes", "Legacy points", "Owner", "Collaborators"],
        # Formula-like cells are neutralised with a leading apostrophe; commas and quotes are quoted.
        ["1", "'+Zoë's app", "1", "1", "0", '\'=HYPERLINK("http://evil")', 'Mia, "the" mate'],
        ["2", "Plain", "0", "0", "0", 'Mia, "the" mate', ""],
    ]


async def test_the_votes_attendees_and_projects_exports(
    client: Client, sign_up: SignUp, create_event: Any
) -> None:
    event, people = await _scene(client, sign_up, create_event)
    votes = _rows((await _export(client, event, "votes", people["owner"])).content)
    assert votes[0] == ["Voter", "Project", "Time"]
    assert [row[:2] for row in votes[1:]] == [["Véra V.", "'+Zoë's app"]]
    assert votes[1][2].endswith("+00:00")

    attendees = _rows((await _export(client, event, "attendees", people["owner"])).content)
    assert attendees[0] == ["Display name", "Email", "Referral"]
    assert sorted(attendees[1:]) == sorted(
        [
            ['\'=HYPERLINK("http://evil")', people["maker"].email, "'@a friend"],
            ['Mia, "the" mate', people["mate"].email, ""],
            ["Véra V.", people["voter"].email, "'-the poster"],
        ]
    )

    projects = _rows((await _export(client, event, "projects", people["owner"])).content)
    assert projects[0][:3] == ["Project", "Description", "Code URL"]
    assert [row[0] for row in projects[1:]] == ["'+Zoë's app", "Plain"]


async def test_the_ysws_export_has_heads_columns(
    client: Client, sign_up: SignUp, create_event: Any, promote: Any
) -> None:
    event, people = await _scene(client, sign_up, create_event)
    admin = await sign_up("Ada")
    await promote(admin)
    flagged = await client.patch(
        f"/events/admin/{event.id}", json={"feature_flags_csv": "fall-2026"}, headers=admin.headers
    )
    assert flagged.status_code == 200, flagged.text
    by_event = await client.get(
        "/superadmin/export-csv", params={"event_id": event.id}, headers=admin.headers
    )
    assert by_event.status_code == 200, by_event.text
    rows = _rows(by_event.content)
    assert rows[0] == [
        "First Name", "Last Name", "Email", "Playable URL", "Code URL", "Screenshot", "Description",
        "GitHub Username", "Address (Line 1)", "Address (Line 2)", "City", "State / Province", "Country",
        "ZIP / Postal Code", "Birthday", "Override Hours Spent",
    ]  # fmt: skip
    maker = next(row for row in rows[1:] if row[2] == people["maker"].email)
    assert (maker[0], maker[4], maker[7], maker[8], maker[10], maker[14]) == (
        "Max", "https://github.com/x/y", "x", "1 Rue Zoë", "Paris", "2008-04-01"
    )  # fmt: skip
    by_series = await client.get(
        "/superadmin/export-csv", params={"series": "fall-2026"}, headers=admin.headers
    )
    assert _rows(by_series.content) == rows
    # HEAD's answer for a series no live event is in (issue 25).
    none = await client.get("/superadmin/export-csv", params={"series": "fall-2027"}, headers=admin.headers)
    assert (none.status_code, none.json()["detail"]) == (
        404,
        "No active events found with series 'fall-2027'",
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_who_may_export(
    client: Client, sign_up: SignUp, create_event: Any, promote: Any, kind: str
) -> None:
    owner, stranger, admin = await sign_up("Olive"), await sign_up("Sam"), await sign_up("Ada")
    await promote(admin)
    event = await create_event(owner)
    url = f"/events/admin/{event.id}/export/{kind}.csv"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=stranger.headers)).status_code == 403
    assert (await client.get(url, headers=owner.headers)).status_code == 200
    assert (await client.get(url, headers=admin.headers)).status_code == 200
    missing = await client.get(f"/events/admin/{uuid4()}/export/{kind}.csv", headers=admin.headers)
    assert missing.status_code == 403  # as every admin view: unknown and someone else's alike
    assert (
        await client.get(f"/events/admin/nope/export/{kind}.csv", headers=owner.headers)
    ).status_code == 422


async def test_an_unknown_export_is_404(client: Client, sign_up: SignUp, create_event: Any) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner)
    response = await client.get(f"/events/admin/{event.id}/export/secrets.csv", headers=owner.headers)
    assert response.status_code == 404
