"""The CSV form of an Airtable snapshot: one spreadsheet-readable file per table, read back losslessly.

Each ``<table>.csv`` starts with the columns ``id`` and ``createdTime``, then one column per field (in the
order fields first appear). A cell holds the value as a person would type it:

* text as it is (JSON-in-text such as ``cached_auto_quality`` too, line breaks and NULs included), but
  for a value a spreadsheet would run as a formula: its cell gets a leading apostrophe (the manifest keeps
  the exact value, below);
* linked records (and other lists of texts) as the record ids joined by commas: ``recA,recB``;
* numbers and checkboxes as JSON (``12``, ``1.5``, ``true``), anything else as JSON;
* an empty cell for a field the record does not have (Airtable omits empty fields).

Every column has a *kind* (``text``, ``list``, ``json``), the kind most of its values have, and the
manifest records it. A value the cell cannot carry exactly in its column's kind (an empty text, an empty
list, a list in a text column, an id holding a comma, …) is listed in the manifest as an *exception*
(record id, field, the JSON value), and the cell shows it as readably as it can. The writer proves each
cell by decoding it again, so reading the CSV with :func:`read_csv_tables` gives back exactly the
records the API returned.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from podium.adapters.airtable.manifest import read_manifest, verify_files
from podium.adapters.private_files import open_private
from podium.domain.backfill import SourceError, SourceRecord, SourceTable
from podium.domain.rules import neutralise_csv_cell

TEXT = "text"
LIST = "list"
JSON = "json"
KINDS = (TEXT, LIST, JSON)
FIXED_COLUMNS = ("id", "createdTime")


def _kind_of(value: Any) -> str:
    if isinstance(value, str):
        return TEXT
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return LIST
    return JSON


def _render(value: Any) -> str:
    """The most readable rendering of any value, whatever its column."""
    kind = _kind_of(value)
    if kind == TEXT:
        return str(value)
    if kind == LIST:
        return ",".join(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _decode(cell: str, kind: str) -> Any:
    if kind == TEXT:
        return cell
    if kind == LIST:
        return cell.split(",")
    return json.loads(cell)


def _same(left: Any, right: Any) -> bool:
    """Equal and of the same JSON types (``1`` is not ``1.0`` nor ``True``)."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _roundtrips(value: Any, cell: str, kind: str) -> bool:
    if cell == "":
        return False  # an empty cell means "no such field"
    try:
        return _same(_decode(cell, kind), value)
    except ValueError:
        return False


def write_csv_table(path: Path, records: Sequence[SourceRecord]) -> dict[str, Any]:
    """Write ``records`` to ``path``; return the table's manifest entry (columns and exceptions)."""
    names: list[str] = []
    kinds: dict[str, Counter[str]] = {}
    for record in records:
        for name, value in record.fields.items():
            if name not in kinds:
                names.append(name)
                kinds[name] = Counter()
            kinds[name][_kind_of(value)] += 1
    # The kind most values have; ties go to the more readable kind (text, then list).
    column_kinds = {
        name: max(KINDS, key=lambda kind, c=counts: (c[kind], -KINDS.index(kind)))  # type: ignore[misc]
        for name, counts in kinds.items()
    }
    exceptions: list[list[Any]] = []
    with open_private(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([*FIXED_COLUMNS, *names])
        for record in records:
            row = [record.id, record.created_time]
            for name in names:
                if name not in record.fields:
                    row.append("")
                    continue
                value = record.fields[name]
                # A person opens this file in a spreadsheet: no cell runs as a formula. A neutralised cell
                # does not decode to its value, so the manifest keeps the value exactly (an exception).
                cell = neutralise_csv_cell(_render(value))
                if not _roundtrips(value, cell, column_kinds[name]):
                    exceptions.append([record.id, name, value])
                row.append(cell)
            writer.writerow(row)
    return {"columns": [[name, column_kinds[name]] for name in names], "exceptions": exceptions}


def read_csv_table(path: Path, entry: Mapping[str, Any]) -> list[SourceRecord]:
    """The records of one CSV file, given its manifest entry (see :func:`write_csv_table`)."""
    columns = [(str(name), str(kind)) for name, kind in entry.get("columns", [])]
    exceptions: dict[tuple[str, str], Any] = {
        (str(record_id), str(name)): value for record_id, name, value in entry.get("exceptions", [])
    }
    records: list[SourceRecord] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            header = next(rows, None)
            if header != [*FIXED_COLUMNS, *(name for name, _ in columns)]:
                raise SourceError(f"{path}: the header does not match the manifest's columns")
            for row in rows:
                if len(row) != len(header):
                    raise SourceError(f"{path}: a row has {len(row)} cells, the header {len(header)}")
                record_id, created_time = row[0], row[1]
                fields: dict[str, Any] = {}
                for (name, kind), cell in zip(columns, row[2:], strict=True):
                    if (record_id, name) in exceptions:
                        fields[name] = exceptions[record_id, name]
                    elif cell != "":
                        fields[name] = _decode(cell, kind)
                records.append(SourceRecord(id=record_id, created_time=created_time, fields=fields))
    except (OSError, ValueError, csv.Error) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    return records


def read_csv_tables(directory: Path) -> dict[SourceTable, list[SourceRecord]]:
    """Every table of a CSV export, checked against the manifest's counts and sha256 sums."""
    manifest = read_manifest(directory)
    tables = manifest.get("csv")
    if not isinstance(tables, Mapping):
        raise SourceError(f"{directory} holds no CSV export (export with --format csv)")
    verify_files(directory, manifest, suffix=".csv")
    result: dict[SourceTable, list[SourceRecord]] = {}
    for table in SourceTable:
        entry = tables.get(str(table))
        if entry is None:
            raise SourceError(f"{directory}: the manifest lists no CSV file for {table}")
        records = read_csv_table(directory / f"{table}.csv", entry)
        expected = int(manifest["counts"][str(table)])
        if len(records) != expected:
            raise SourceError(f"{table}.csv holds {len(records)} records but the manifest says {expected}")
        result[table] = records
    return result
