"""Every panel and list downloads as CSV: the same rows the page shows, streamed, no row cap.

Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) are sent with
a leading apostrophe: event names and URLs are attacker-controlled (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

from starlette.responses import Response, StreamingResponse

from footfall.dashboard.web import secure_headers

__all__ = ["csv_download", "safe_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FLUSH_ROWS = 1000


def safe_cell(value: Any) -> Any:
    """
    >>> safe_cell("=HYPERLINK(1)"), safe_cell("/pricing"), safe_cell(-3), safe_cell(None)
    ("'=HYPERLINK(1)", '/pricing', -3, '')
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_download(
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]] | AsyncIterable[Sequence[Any]],
) -> Response:
    """A streamed `text/csv` attachment; `rows` may be a list or a (async) generator of rows."""
    response = StreamingResponse(
        _lines(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_plain(filename)}"'},
    )
    return secure_headers(response)


def _plain(filename: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in filename) or "export.csv"


async def _lines(
    header: Sequence[str], rows: Iterable[Sequence[Any]] | AsyncIterable[Sequence[Any]]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(header)
    pending = 0
    async for row in _each(rows):
        out.writerow([safe_cell(v) for v in row])
        pending += 1
        if pending >= _FLUSH_ROWS:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


async def _each(
    rows: Iterable[Sequence[Any]] | AsyncIterable[Sequence[Any]],
) -> AsyncIterator[Sequence[Any]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row
