"""The write-back's Airtable adapter against the fake: Airtable's request shapes and limits, and the
same 5 requests/second discipline as the reads."""

from __future__ import annotations

import json

import pytest
import requests

from podium.adapters.airtable.source import AirtableSource
from podium.adapters.airtable.writer import AirtableWriter
from podium.domain.backfill import SourceTable
from podium.domain.backfill.writeback_run import WriteBackError
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS

USERS = DEFAULT_TABLE_IDS[SourceTable.USERS]


def empty_base() -> dict[str, dict[str, list[dict[str, object]]]]:
    return {DEFAULT_BASE_ID: {table_id: [] for table_id in DEFAULT_TABLE_IDS.values()}}


def writer_for(fake: FakeAirtable, per_second: int | None = None) -> AirtableWriter:
    return AirtableWriter(
        token=fake.token,
        base_id=DEFAULT_BASE_ID,
        table_ids=DEFAULT_TABLE_IDS,
        endpoint_url=fake.url,
        requests_per_second=per_second,
    )


def test_create_update_delete_round_trip_with_airtable_shapes() -> None:
    with FakeAirtable(empty_base()) as fake:
        writer = writer_for(fake)
        ids = writer.create(SourceTable.USERS, [{"email": f"u{n}@x.io", "first_name": "U"} for n in range(3)])
        assert len(set(ids)) == 3
        assert all(record_id.startswith("rec") and len(record_id) == 17 for record_id in ids)
        writer.update(SourceTable.USERS, [(ids[0], {"first_name": "Changed", "city": "Lyon"})])
        writer.delete(SourceTable.USERS, [ids[1]])

        records = {r["id"]: r["fields"] for r in fake.records(DEFAULT_BASE_ID, USERS)}
        assert records == {
            ids[0]: {"email": "u0@x.io", "first_name": "Changed", "city": "Lyon"},
            ids[2]: {"email": "u2@x.io", "first_name": "U"},
        }
        create, update, delete = fake.writes
        assert (create.method, update.method, delete.method) == ("POST", "PATCH", "DELETE")
        assert json.loads(create.body)["records"][0] == {"fields": {"email": "u0@x.io", "first_name": "U"}}
        assert json.loads(update.body)["records"] == [
            {"id": ids[0], "fields": {"first_name": "Changed", "city": "Lyon"}}
        ]
        # What the backfill's read-only source then reads back.
        source = AirtableSource(token=fake.token, base_id=DEFAULT_BASE_ID, table_ids=DEFAULT_TABLE_IDS,
                                endpoint_url=fake.url, requests_per_second=None)  # fmt: skip
        assert [r.id for r in next(source._iterate(SourceTable.USERS))] == [ids[0], ids[2]]


def test_the_fake_refuses_more_than_ten_records_and_unknown_ids_like_airtable() -> None:
    with FakeAirtable(empty_base()) as fake:
        url = f"{fake.url}/v0/{DEFAULT_BASE_ID}/{USERS}"
        headers = {"Authorization": f"Bearer {fake.token}"}
        eleven = {"records": [{"fields": {"email": f"{n}@x.io"}} for n in range(11)]}
        response = requests.post(url, json=eleven, headers=headers, timeout=5)
        assert response.status_code == 422
        assert response.json()["error"]["type"] == "INVALID_RECORDS"
        missing = requests.delete(url, params={"records[]": ["recNoSuchRecord0"]}, headers=headers, timeout=5)
        assert missing.status_code == 404
        assert fake.records(DEFAULT_BASE_ID, USERS) == []
        with pytest.raises(ValueError, match="1 to 10 records"):
            writer_for(fake).create(SourceTable.USERS, [{"email": "x"}] * 11)
        with pytest.raises(WriteBackError, match="HTTP 404"):
            writer_for(fake).delete(SourceTable.USERS, ["recNoSuchRecord0"])


def test_writes_keep_to_five_requests_a_second_as_the_server_counts_them() -> None:
    with FakeAirtable(empty_base(), rate_limit=5, rate_limit_retry_after=30) as fake:
        writer = writer_for(fake, per_second=5)
        for batch in range(7):
            writer.create(SourceTable.USERS, [{"email": f"{batch}-{n}@x.io"} for n in range(10)])
        assert fake.count(429) == 0
        arrivals = [r.at for r in fake.requests]
        assert len(arrivals) == 7
        assert all(later - earlier > 1.0 for earlier, later in zip(arrivals, arrivals[5:], strict=False))
        assert len(fake.records(DEFAULT_BASE_ID, USERS)) == 70
