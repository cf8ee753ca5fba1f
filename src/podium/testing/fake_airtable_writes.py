"""The fake Airtable's create, update and delete endpoints, with Airtable's request and response shapes
and limits (https://airtable.com/developers/web/api):

* ``POST /v0/{base}/{table}`` ``{"records": [{"fields": {…}}, …], "typecast": …}`` → ``{"records":
  [{"id", "createdTime", "fields"}, …]}``;
* ``PATCH /v0/{base}/{table}`` ``{"records": [{"id", "fields"}, …]}`` → the updated records (fields
  merged; ``PUT`` replaces them);
* ``DELETE /v0/{base}/{table}?records[]=rec…&records[]=…`` → ``{"records": [{"id", "deleted": true}]}``.

At most 10 records a request (422 ``INVALID_RECORDS`` beyond), a body that is not such an object is 422
``INVALID_REQUEST_UNKNOWN``, an unknown record id is 404 ``NOT_FOUND``; a failing request changes nothing.
Link fields hold arrays of record ids, as when read.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import string
from collections.abc import Iterator, Mapping
from typing import Any

MAX_RECORDS_PER_REQUEST = 10
_ALPHABET = string.ascii_letters + string.digits

Answer = tuple[int, dict[str, Any]]


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def record_ids(prefix: str = "recW") -> Iterator[str]:
    """Fresh record ids, ``rec`` + 14 characters like Airtable's, distinct from the synthetic ones."""
    for n in itertools.count(1):
        digits = ""
        while n:
            n, rest = divmod(n, len(_ALPHABET))
            digits = _ALPHABET[rest] + digits
        yield prefix + digits.rjust(17 - len(prefix), "0")


def apply_write(
    records: list[dict[str, Any]],
    method: str,
    query: Mapping[str, list[str]],
    raw_body: bytes,
    new_ids: Iterator[str],
) -> Answer:
    """Apply one write request to ``records`` (a table's records, changed in place) and answer it."""
    if method == "DELETE":
        ids = query.get("records[]", [])
        if not ids or len(ids) > MAX_RECORDS_PER_REQUEST:
            return 422, _error("INVALID_RECORDS", f"Delete between 1 and {MAX_RECORDS_PER_REQUEST} records")
        by_id = {record["id"]: record for record in records}
        missing = [record_id for record_id in ids if record_id not in by_id]
        if missing:
            return 404, _error("NOT_FOUND", f"Could not find record {missing[0]}")
        doomed = set(ids)
        records[:] = [record for record in records if record["id"] not in doomed]
        return 200, {"records": [{"id": record_id, "deleted": True} for record_id in ids]}
    try:
        body = json.loads(raw_body or b"null")
    except ValueError:
        body = None
    items = body.get("records") if isinstance(body, dict) else None
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("fields", {}), dict) for item in items
    ):
        return 422, _error("INVALID_REQUEST_UNKNOWN", "Invalid request: parameter validation failed")
    if not 1 <= len(items) <= MAX_RECORDS_PER_REQUEST:
        return 422, _error("INVALID_RECORDS", f"Send between 1 and {MAX_RECORDS_PER_REQUEST} records")
    if method == "POST":
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        created = [
            {"id": next(new_ids), "createdTime": now, "fields": _without_empty(item.get("fields", {}))}
            for item in items
        ]
        records.extend(created)
        return 200, {"records": created}
    by_id = {record["id"]: record for record in records}
    for item in items:
        if item.get("id") not in by_id:
            return 404, _error("NOT_FOUND", f"Could not find record {item.get('id')}")
    updated = []
    for item in items:
        record = by_id[item["id"]]
        fields = {} if method == "PUT" else dict(record["fields"])
        fields.update(item.get("fields", {}))
        record["fields"] = _without_empty(fields)
        updated.append(record)
    return 200, {"records": updated}


def _without_empty(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Airtable does not return empty fields (``""``, ``[]``, ``false``, ``null``)."""
    return {name: value for name, value in fields.items() if value not in ("", [], None, False)}
