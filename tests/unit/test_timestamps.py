"""Client clocks → the server's: one rule for every dialect, never an exception (review P1-2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from footfall.dialects.atrack.mapping import _utc as atrack_utc
from footfall.dialects.millimetric.mapping import _utc as millimetric_utc
from footfall.dialects.sankofa.mapping import timestamp as sankofa_timestamp
from footfall.errors import Invalid
from footfall.timestamps import corrected, from_epoch_millis

R = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
YEAR_1_EAST = datetime.fromisoformat("0001-01-01T00:00:00+14:00")


@pytest.mark.parametrize(
    ("ts", "sent", "want"),
    [
        (None, None, R),
        (R - timedelta(hours=1), None, R - timedelta(hours=1)),
        (R + timedelta(hours=1), R + timedelta(hours=1, seconds=5), R - timedelta(seconds=5)),
        (R + timedelta(days=3), None, R),  # the future is the receipt
        (YEAR_1_EAST, None, R),  # out of range once in UTC
        (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), R),  # skew overflows
        (datetime(1969, 12, 31, tzinfo=UTC), None, R),  # before the epoch: a broken clock
        (R - timedelta(minutes=1), YEAR_1_EAST, R - timedelta(minutes=1)),  # a bad sent is ignored
        (datetime(2026, 5, 1, 11, 0), None, datetime(2026, 5, 1, 11, 0, tzinfo=UTC)),  # naive is UTC
    ],
)
def test_corrected(ts: datetime | None, sent: datetime | None, want: datetime) -> None:
    assert corrected(ts, sent, R) == want


def test_epoch_millis_take_ascii_digits_in_range_only() -> None:
    assert from_epoch_millis("1777636800000") == R
    assert [from_epoch_millis(t) for t in ("²", "١٢٣", "999999999999999", "-1", "1e3")] == [None] * 5


def test_dialects_that_keep_client_times_never_fail_on_out_of_range_ones() -> None:
    assert atrack_utc(YEAR_1_EAST, R) == R
    assert millimetric_utc(YEAR_1_EAST, R) == R
    with pytest.raises(Invalid):
        sankofa_timestamp("0001-01-01T00:00:00+14:00", R)
