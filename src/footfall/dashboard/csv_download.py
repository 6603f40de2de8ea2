"""Every panel and list downloads as CSV: the same rows the page shows, streamed, no row cap.

Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) are sent with
a leading apostrophe: event names and URLs are attacker-controlled (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from footfall.dashboard.web import secure_headers

__all__ = ["csv_download", "safe_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FLUSH_ROWS = 1000
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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
        headers={"Content-Disposition": _disposition(filename)},
    )
    return secure_headers(response)


def _disposition(filename: str) -> str:
    """The attachment header, ASCII whatever the name holds (Starlette sends headers as Latin-1
    and fails on anything else): a plain `filename` every client reads, and when the name has
    more than that, RFC 6266's `filename*` so that browsers save it as it was.

    >>> print(_disposition("attribution-models-注文€.csv"))
    attachment; filename="attribution-models--.csv"; filename*=UTF-8''attribution-models-%E6%B3%A8%E6%96%87-.csv
    >>> print(_disposition('注文/".csv'))
    attachment; filename="export.csv"; filename*=UTF-8''%E6%B3%A8%E6%96%87--.csv
    >>> print(_disposition("funnel.csv"))
    attachment; filename="funnel.csv"
    """
    # Event names are the user's: no path separator, quote or control character in a file name.
    name = "".join(
        c if unicodedata.category(c)[0] in "LMN" or c in "-_." else "-" for c in filename
    )
    plain = _NOT_ASCII_NAME.sub("-", filename)
    plain = plain if any(c.isalnum() for c in plain.rsplit(".", 1)[0]) else "export.csv"
    if name.isascii():
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


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
