"""A directory of JSON files holding the raw Airtable records: written by ``podium airtable export``,
read back by ``podium backfill --from-snapshot``.

Layout: one ``<table>.json`` per table (``{"table": ..., "records": [{id, createdTime, fields}]}``), and/or
one ``<table>.csv`` per table (:mod:`podium.adapters.airtable.csv_snapshot`), and a ``manifest.json``
written last with the record counts, the formats, and the size and sha256 of every file. A directory
without the manifest (an export that was interrupted) is refused, so a backfill never runs on half a
backup.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from podium.adapters.airtable.csv_snapshot import write_csv_table
from podium.adapters.airtable.manifest import FORMAT, MANIFEST, VERSION, read_manifest, sha256_of
from podium.adapters.private_files import private_folder, write_private
from podium.domain.backfill import SourceError, SourceRecord, SourceTable

FORMATS = ("json", "csv")


def _write_atomically(path: Path, payload: Any) -> None:
    write_private(path, json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


class SnapshotWriter:
    """Write a snapshot into ``directory`` (created if needed; an older snapshot there is replaced).

    ``formats``: ``json`` (what the backfill reads), ``csv`` (the spreadsheet-readable backup), or both.
    """

    def __init__(self, directory: Path, *, base_id: str = "", formats: Sequence[str] = ("json",)) -> None:
        unknown = set(formats) - set(FORMATS)
        if unknown or not formats:
            raise ValueError(f"unknown snapshot formats {sorted(unknown)}; choose from {FORMATS}")
        self.directory = directory
        self.base_id = base_id
        self.formats = [f for f in FORMATS if f in formats]
        self._files: dict[str, dict[str, Any]] = {}
        self._csv: dict[str, Any] = {}
        private_folder(directory)
        # Whatever was here is no longer a complete snapshot until finish() says so.
        (directory / MANIFEST).unlink(missing_ok=True)

    def write_table(self, table: SourceTable, records: Sequence[SourceRecord]) -> None:
        if "json" in self.formats:
            path = self.directory / f"{table}.json"
            _write_atomically(
                path, {"table": str(table), "records": [record.to_json() for record in records]}
            )
            self._record_file(path, table, len(records))
        if "csv" in self.formats:
            path = self.directory / f"{table}.csv"
            tmp = path.with_name(path.name + ".tmp")
            tmp.unlink(missing_ok=True)
            self._csv[str(table)] = write_csv_table(tmp, records)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            self._record_file(path, table, len(records))

    def _record_file(self, path: Path, table: SourceTable, count: int) -> None:
        self._files[path.name] = {
            "table": str(table),
            "records": count,
            "bytes": path.stat().st_size,
            "sha256": sha256_of(path),
        }

    def finish(self, counts: Mapping[SourceTable, int]) -> None:
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "base_id": self.base_id,
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "formats": self.formats,
            "counts": {str(table): count for table, count in counts.items()},
            "files": self._files,
        }
        if self._csv:
            manifest["csv"] = self._csv
        _write_atomically(self.directory / MANIFEST, manifest)


class SnapshotSource:
    """Read a snapshot back as a :class:`~podium.domain.backfill.RecordSource`, page by page."""

    def __init__(self, directory: Path, *, page_size: int = 100) -> None:
        self.directory = directory
        self.page_size = page_size
        manifest = read_manifest(directory)
        if "json" not in manifest.get("formats", ["json"]):
            raise SourceError(
                f"{directory} holds a CSV export only; the backfill reads JSON: export again with "
                "--format json (the default)"
            )
        self.files: dict[str, Any] = manifest.get("files") or {}
        self.base_id: str = manifest.get("base_id", "")
        self.counts: dict[SourceTable, int] = {
            table: int(manifest["counts"][str(table)])
            for table in SourceTable
            if str(table) in manifest["counts"]
        }

    def expected_count(self, table: SourceTable) -> int | None:
        return self.counts.get(table)

    def read_table(self, table: SourceTable) -> list[SourceRecord]:
        path = self.directory / f"{table}.json"
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot read {path}: {exc}") from exc
        records = [SourceRecord.from_json(raw) for raw in payload.get("records", [])]
        expected = self.counts.get(table)
        if expected is not None and expected != len(records):
            raise SourceError(f"{path} holds {len(records)} records but the manifest says {expected}")
        listed = self.files.get(path.name)
        if listed is not None and sha256_of(path) != listed.get("sha256"):
            raise SourceError(f"{path} has changed since the export: its sha256 is not the manifest's")
        return records

    async def pages(self, table: SourceTable) -> AsyncIterator[Sequence[SourceRecord]]:
        records = self.read_table(table)
        for start in range(0, len(records), self.page_size):
            yield records[start : start + self.page_size]
