"""An in-memory :class:`~podium.domain.backfill.RecordSource`: records handed over as a dict of tables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from podium.domain.backfill import SourceRecord, SourceTable


class InMemorySource:
    """Serve fixed records a page at a time, like Airtable, without any HTTP."""

    def __init__(
        self, records: Mapping[SourceTable, Sequence[SourceRecord]], *, page_size: int = 100
    ) -> None:
        self.records = records
        self.page_size = page_size

    def expected_count(self, table: SourceTable) -> int | None:
        return len(self.records.get(table, ()))

    async def pages(self, table: SourceTable) -> AsyncIterator[Sequence[SourceRecord]]:
        rows = list(self.records.get(table, ()))
        for start in range(0, len(rows), self.page_size):
            yield rows[start : start + self.page_size]
