"""A directory of JSON files holding the raw Airtable records: written by ``podium airtable export``,
read back by ``podium backfill --from-snapshot``.

Layout: one ``<table>.json`` per table (``{"table": ..., "records": [{id, createdTime, fields}]}``) and a
``manifest.json`` written last with the record counts. A directory without the manifest (an export that
was interrupted) is refused, so a backfill never runs on half a backup.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from podium.domain.backfill import SourceError, SourceRecord, SourceTable

FORMAT = "podium-airtable-snapshot"
VERSION = 1
MANIFEST = "manifest.json"


def _write_atomically(path: Path, payload: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class SnapshotWriter:
    """Write a snapshot into ``directory`` (created if needed; an older snapshot there is replaced)."""

    def __init__(self, directory: Path, *, base_id: str = "") -> None:
        self.directory = directory
        self.base_id = base_id
        directory.mkdir(parents=True, exist_ok=True)
        # Whatever was here is no longer a complete snapshot until finish() says so.
        (directory / MANIFEST).unlink(missing_ok=True)

    def write_table(self, table: SourceTable, records: Sequence[SourceRecord]) -> None:
        _write_atomically(
            self.directory / f"{table}.json",
            {"table": str(table), "records": [record.to_json() for record in records]},
        )

    def finish(self, counts: Mapping[SourceTable, int]) -> None:
        _write_atomically(
            self.directory / MANIFEST,
            {
                "format": FORMAT,
                "version": VERSION,
                "base_id": self.base_id,
                "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "counts": {str(table): count for table, count in counts.items()},
            },
        )


class SnapshotSource:
    """Read a snapshot back as a :class:`~podium.domain.backfill.RecordSource`, page by page."""

    def __init__(self, directory: Path, *, page_size: int = 100) -> None:
        self.directory = directory
        self.page_size = page_size
        manifest_path = directory / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SourceError(
                f"{directory} is not a complete snapshot (no {MANIFEST}); run `podium airtable export` again"
            ) from exc
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot read {manifest_path}: {exc}") from exc
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise SourceError(f"{manifest_path} is not a {FORMAT} v{VERSION} manifest")
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
        return records

    async def pages(self, table: SourceTable) -> AsyncIterator[Sequence[SourceRecord]]:
        records = self.read_table(table)
        for start in range(0, len(records), self.page_size):
            yield records[start : start + self.page_size]
