"""The Airtable adapter with the real pyairtable client against the fake Airtable server; the snapshot."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.adapters.airtable.manifest import MANIFEST
from podium.adapters.airtable.snapshot import SnapshotSource, SnapshotWriter
from podium.adapters.airtable.source import AirtableSource, RateLimiter, parse_retry_after
from podium.domain.backfill import SourceError, SourceTable, export_snapshot, read_source
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, SyntheticBase


@pytest.fixture
def fake(small_base: SyntheticBase) -> Iterator[FakeAirtable]:
    with FakeAirtable(
        {DEFAULT_BASE_ID: small_base.by_table_id()}, forbidden_tokens=["pat-read-nothing"]
    ) as server:
        yield server


def source_for(fake: FakeAirtable, **overrides: object) -> AirtableSource:
    options: dict[str, object] = {
        "token": fake.token,
        "base_id": DEFAULT_BASE_ID,
        "table_ids": DEFAULT_TABLE_IDS,
        "endpoint_url": fake.url,
        "requests_per_second": None,
    }
    options.update(overrides)
    return AirtableSource(**options)  # type: ignore[arg-type]


async def test_reads_every_record_100_a_page_following_offsets(
    fake: FakeAirtable, small_base: SyntheticBase
) -> None:
    records = await read_source(source_for(fake))
    assert records == small_base.source_records()
    users = [r for r in fake.requests if r.table == DEFAULT_TABLE_IDS[SourceTable.USERS]]
    assert [r.page_size for r in users] == [100, 100]
    assert users[0].offset is None
    assert users[1].offset is not None
    assert fake.count() == 1 + 2 + 1 + 1 + 2  # events, users, projects, referrals, votes


async def test_a_429_is_waited_out_for_as_long_as_retry_after_says(fake: FakeAirtable) -> None:
    fake.fail_next(2, status=429, retry_after=0.3)
    source = source_for(fake)
    records = await read_source(source)
    assert fake.count(429) == 2
    # Each retry reached the server no sooner than Retry-After after the 429 (the fake's arrival times).
    arrivals = [r.at for r in fake.requests]
    for i, request in enumerate(fake.requests[:2]):
        assert request.status == 429
        assert arrivals[i + 1] - request.at >= 0.3
    assert source.transport.waits == [0.3, 0.3]
    assert len(records[SourceTable.USERS]) == 160


async def test_the_client_keeps_under_the_servers_rate_limit(small_base: SyntheticBase) -> None:
    bases = {DEFAULT_BASE_ID: small_base.by_table_id()}
    with FakeAirtable(bases, rate_limit=5, rate_limit_retry_after=30) as fake:
        await read_source(source_for(fake, requests_per_second=5))
    assert fake.count(429) == 0
    # 7 pages, and no 1-second window of the server's arrival times holds more than 5 of them.
    arrivals = sorted(r.at for r in fake.requests)
    assert len(arrivals) == 7
    assert max(sum(start <= t < start + 1.0 for t in arrivals) for start in arrivals) <= 5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token": "pat-wrong"}, "refused the token (HTTP 401)"),
        ({"token": "pat-read-nothing"}, "refused the token (HTTP 403)"),
        (
            {"table_ids": {**DEFAULT_TABLE_IDS, SourceTable.USERS: "tblNoSuchTable"}},
            "no table tblNoSuchTable in base appec7U14eWSv08R4 (HTTP 404): check PODIUM_AIRTABLE_USERS_TABLE_ID",
        ),
        ({"base_id": "appNoSuchBase"}, "(HTTP 404)"),
    ],
)
async def test_bad_credentials_and_unknown_tables_are_clear_errors(
    fake: FakeAirtable, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await read_source(source_for(fake, **overrides))
    assert fake.count() == 1, "an auth or not-found error is not retried"


async def test_persistent_429s_end_in_a_clear_error(fake: FakeAirtable) -> None:
    fake.fail_next(100, status=429, retry_after=0)
    with pytest.raises(SourceError, match="kept answering 429"):
        await read_source(source_for(fake))


def test_missing_settings_are_named() -> None:
    with pytest.raises(
        SourceError, match="PODIUM_AIRTABLE_TOKEN, PODIUM_AIRTABLE_BASE_ID, PODIUM_AIRTABLE_USERS"
    ):
        AirtableSource(token="", base_id="", table_ids={})


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), ("0.5", 0.5), (None, None), ("soon", None)])
def test_retry_after_header_values(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_request_n_waits_a_second_after_the_response_to_request_n_minus_5() -> None:
    now = [0.0]
    starts: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(5, margin=0.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(12):
        slot = limiter.acquire()
        starts.append(now[0])
        now[0] += 0.1  # the round trip: the response arrives 100 ms after the request was sent
        limiter.release(slot)
    # Sending-time spacing would start the 6th request at 1.0; anchored on responses it is 1.1.
    expected = [0.0, 0.1, 0.2, 0.3, 0.4, 1.1, 1.2, 1.3, 1.4, 1.5, 2.2, 2.3]
    assert starts == pytest.approx(expected)


def test_a_request_waits_while_the_one_five_before_it_is_still_in_flight() -> None:
    limiter = RateLimiter(5, margin=0.0)
    slots = [limiter.acquire() for _ in range(5)]
    sixth = threading.Thread(target=limiter.acquire)
    sixth.start()
    sixth.join(timeout=0.3)
    assert sixth.is_alive(), "the 6th request went out before the 1st was answered"
    limiter.release(slots[0])
    sixth.join(timeout=30)
    assert not sixth.is_alive()


async def test_late_arrivals_never_put_six_requests_in_one_server_second(
    small_base: SyntheticBase,
) -> None:
    bases = {DEFAULT_BASE_ID: small_base.by_table_id()}
    with FakeAirtable(bases, rate_limit=5, rate_limit_retry_after=0.1) as fake:
        # The first request takes half a second to reach the server (a loaded machine, a slow link):
        # the server counts it next to the four sent after it.
        fake.delay_next(0.5)
        await read_source(source_for(fake, requests_per_second=5))
        arrivals = sorted(request.at for request in fake.requests)
        answered_429 = fake.count(429)
    assert answered_429 == 0
    assert len(arrivals) == 7
    assert all(later - earlier > 1.0 for earlier, later in zip(arrivals, arrivals[5:], strict=False))


async def test_export_then_read_back_gives_identical_records(
    fake: FakeAirtable, small_base: SyntheticBase, tmp_path: Path
) -> None:
    counts = await export_snapshot(source_for(fake), SnapshotWriter(tmp_path, base_id=DEFAULT_BASE_ID))
    assert counts == {table: len(rows) for table, rows in small_base.records.items()}
    snapshot = SnapshotSource(tmp_path)
    assert await read_source(snapshot) == small_base.source_records()
    assert snapshot.expected_count(SourceTable.VOTES) == len(small_base.records[SourceTable.VOTES])
    raw = json.loads((tmp_path / "users.json").read_text())
    assert raw["records"][0] == small_base.records[SourceTable.USERS][0]


def test_an_interrupted_export_is_not_a_snapshot(tmp_path: Path) -> None:
    SnapshotWriter(tmp_path)
    with pytest.raises(SourceError, match="not a complete snapshot"):
        SnapshotSource(tmp_path)


async def test_a_snapshot_with_a_damaged_table_is_refused(
    fake: FakeAirtable, small_base: SyntheticBase, tmp_path: Path
) -> None:
    await export_snapshot(source_for(fake), SnapshotWriter(tmp_path))
    payload = json.loads((tmp_path / "votes.json").read_text())
    payload["records"].pop()
    (tmp_path / "votes.json").write_text(json.dumps(payload))
    assert (tmp_path / MANIFEST).exists()
    with pytest.raises(SourceError, match="but the manifest says"):
        await read_source(SnapshotSource(tmp_path))


def test_the_check_reads_one_record_of_each_table(fake: FakeAirtable) -> None:
    source_for(fake).check()
    assert [(r.table, r.page_size) for r in fake.requests] == [
        (DEFAULT_TABLE_IDS[table], 1) for table in SourceTable
    ]


def test_the_check_names_the_variable_of_a_table_the_token_cannot_see(fake: FakeAirtable) -> None:
    wrong = {**DEFAULT_TABLE_IDS, SourceTable.REFERRALS: "tblNotHere"}
    with pytest.raises(SourceError, match="check PODIUM_AIRTABLE_REFERRALS_TABLE_ID") as raised:
        source_for(fake, table_ids=wrong).check()
    assert "the token reads the users table" in str(raised.value)
    assert fake.count() == 4
