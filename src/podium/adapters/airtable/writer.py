"""Writing to the v1 Airtable base, for ``podium airtable write-back``: a separate adapter, so the
backfill's :class:`~podium.adapters.airtable.source.AirtableSource` stays read-only.

pyairtable's ``Table`` sends the requests (one per call here, at most 10 records: Airtable's limit), over
the same throttled transport as the reads and the same per-base limiter, so reads and writes together
never exceed 5 requests per second as Airtable counts them; a 429 is waited out as ``Retry-After`` says.
A create is not retried after a server error or a lost connection (it may have been done).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from podium.adapters.airtable.source import (
    AIRTABLE_REQUESTS_PER_SECOND,
    DEFAULT_RETRY_AFTER,
    missing_settings,
    throttled_api,
)
from podium.domain.backfill import SourceTable
from podium.domain.backfill.writeback_run import BATCH, WriteBackError


class AirtableWriter:
    """Create, update and delete records of the five v1 tables (needs the ``data.records:write`` scope)."""

    def __init__(
        self,
        *,
        token: str,
        base_id: str,
        table_ids: Mapping[SourceTable, str],
        endpoint_url: str = "https://api.airtable.com",
        requests_per_second: int | None = AIRTABLE_REQUESTS_PER_SECOND,
        timeout: tuple[int, int] = (10, 60),
        default_retry_after: float = DEFAULT_RETRY_AFTER,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if missing := missing_settings(token, base_id, table_ids):
            raise WriteBackError(f"Airtable is not configured: set {missing}")
        self.base_id = base_id
        self.table_ids = dict(table_ids)
        self.api, self.transport = throttled_api(
            token,
            base_id,
            endpoint_url,
            requests_per_second,
            timeout,
            default_retry_after,
            retry_creates=False,
        )
        self.transport.announce_waits(notify, table_ids)
        self.requests = 0

    def _table(self, table: SourceTable) -> Any:
        return self.api.table(self.base_id, self.table_ids[table])

    def create(self, table: SourceTable, records: Sequence[Mapping[str, Any]]) -> list[str]:
        self._check(records)
        created = self._send(table, lambda t: t.batch_create([dict(fields) for fields in records]))
        return [record["id"] for record in created]

    def update(self, table: SourceTable, records: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        self._check(records)
        self._send(table, lambda t: t.batch_update([{"id": rid, "fields": dict(f)} for rid, f in records]))

    def delete(self, table: SourceTable, record_ids: Sequence[str]) -> None:
        self._check(record_ids)
        self._send(table, lambda t: t.batch_delete(list(record_ids)))

    def check_write_scope(self) -> None:
        """Ask Airtable (read-only: ``GET /v0/meta/whoami``) whether the token may write records.

        A token whose scopes Airtable does not list (an OAuth token, an older API) is not judged here.
        """
        try:
            scopes = self.api.whoami().get("scopes")
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (401, 403):
                raise WriteBackError(
                    f"Airtable refused the token (HTTP {status}): check PODIUM_AIRTABLE_TOKEN"
                ) from exc
            return
        except requests.RequestException as exc:
            raise WriteBackError(f"cannot reach Airtable: {exc}") from exc
        if isinstance(scopes, list) and "data.records:write" not in scopes:
            raise WriteBackError(
                "the token in PODIUM_AIRTABLE_TOKEN lacks the data.records:write scope (it has "
                f"{', '.join(map(str, scopes)) or 'none'}): the write-back would be refused"
            )

    def list_records(self, table: SourceTable) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self._send(table, lambda t: t.all(page_size=100))
        return records

    @staticmethod
    def _check(items: Sequence[Any]) -> None:
        if not 1 <= len(items) <= BATCH:
            raise ValueError(f"one request carries 1 to {BATCH} records, not {len(items)}")

    def _send(self, table: SourceTable, action: Any) -> Any:
        try:
            result = action(self._table(table))
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            body = exc.response.text[:300] if exc.response is not None else ""
            hint = " (the token needs the data.records:write scope)" if status in (401, 403) else ""
            raise WriteBackError(
                f"Airtable answered HTTP {status} writing the {table} table{hint}: {body}"
            ) from exc
        except requests.RequestException as exc:
            raise WriteBackError(f"cannot reach Airtable: {exc}") from exc
        self.requests += 1
        return result
