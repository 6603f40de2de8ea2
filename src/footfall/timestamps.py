"""An event's time on the server's clock, from what a client's clock said.

One rule for every dialect whose clients send their own times: the client's `timestamp` is
moved by how far the client's clock was off when it sent the request (received - (sent -
timestamp)); a time later than the receipt is the receipt (an event cannot have happened after
it arrived: the future is a wrong clock); and a time that cannot be computed or stored (before
1970, or out of Python's range once corrected, say year 1 at +14:00) is the receipt too. Bad
times never fail a batch: SDKs retry a failed batch forever.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["corrected", "from_epoch_millis", "utc"]

# Anything earlier is a broken clock or a placeholder (0001-01-01), not an event.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def utc(ts: datetime) -> datetime | None:
    """`ts` in UTC (naive means UTC), or None when UTC is out of range.

    >>> utc(datetime.fromisoformat("0001-01-01T00:00:00+14:00")) is None
    True
    """
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        return None


def from_epoch_millis(text: str | None) -> datetime | None:
    """`?_=1778330000000`-style milliseconds since the epoch, or None (not ASCII digits, or
    past year 9999).

    >>> from_epoch_millis("1778330000000").isoformat()
    '2026-05-09T12:33:20+00:00'
    >>> [from_epoch_millis(t) for t in ("²", "999999999999999", "", None)]
    [None, None, None, None]
    """
    if not text or not (text.isascii() and text.isdigit()) or len(text) > 15:
        return None
    try:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def corrected(ts: datetime | None, sent: datetime | None, received: datetime) -> datetime:
    """The event's time by the server's clock (see the module's rule).

    >>> r = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    >>> corrected(datetime(2026, 5, 1, 13, 0, 0, tzinfo=UTC),
    ...           datetime(2026, 5, 1, 13, 0, 5, tzinfo=UTC), r).isoformat()  # clock 1h ahead
    '2026-05-01T11:59:55+00:00'
    >>> corrected(datetime(2030, 1, 1, tzinfo=UTC), None, r) == r  # the future is the receipt
    True
    >>> corrected(datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC), r) == r
    True
    """
    if ts is None or (at := utc(ts)) is None:
        return received
    if sent is not None and (sent_utc := utc(sent)) is not None:
        try:
            at = at + (received - sent_utc)
        except OverflowError:
            return received
    if at > received or at < _EARLIEST:
        return received
    return at

