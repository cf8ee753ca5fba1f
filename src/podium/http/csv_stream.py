"""CSV bodies, streamed (issue 15): UTF-8 with a byte-order mark, so Excel reads the accents right (and
LibreOffice ignores it), CRLF line ends as RFC 4180 says, and every cell quoted when it needs to be.
Rows are encoded a chunk of about ``CHUNK_CHARS`` at a time, and each chunk is handed to the server only
once the one before has been taken by the client's socket (uvicorn awaits the transport's drain in
``send``): a client that stops reading holds one chunk and one fetch of rows, never the file
(``bench/stalled_exports.py`` measures it)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator

from litestar.response import Stream

from podium.domain.services.exports import Export

BOM = "\ufeff"
#: Characters per chunk: bounded in size, not in rows (a row may hold a long description).
CHUNK_CHARS = 32_768


async def csv_chunks(export: Export) -> AsyncIterator[bytes]:
    """The export as CSV (a BOM, the header, then the rows), in chunks of about ``CHUNK_CHARS``; the rows'
    iterator is closed however the stream ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(export.header)
    try:
        async for row in export.rows:
            writer.writerow(row)
            if buffer.tell() >= CHUNK_CHARS:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
    finally:
        aclose = getattr(export.rows, "aclose", None)
        if aclose is not None:
            await aclose()


def csv_response(export: Export) -> Stream:
    return Stream(
        csv_chunks(export),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", export.filename)}"'
        },
    )
