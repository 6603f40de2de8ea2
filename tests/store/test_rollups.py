"""The daily rollup answers count stats exactly as counting the events does, and stays so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.model import IdentityLink
from footfall.read.queries import GROUP_BY_COLUMNS, StatsQuery
from footfall.store.duckdb import reads
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_stats_sources import EVENTS, LINKS, SCOPE, e

MORE = [
    e(20 + i, f"2026-05-{1 + i % 20:02d}T{i % 24:02d}:15:00", name=["$pageview", "signup", "purchase"][i % 3],
      anonymous_id=f"r{i % 7}", source=["google", "bing", None][i % 3], medium="organic", path=f"/p{i % 4}",
      country=["US", "DE"][i % 2], is_bot=(i % 11 == 0))
    for i in range(120)
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("rollup") / "e.duckdb")
    s.migrate()
    enc = msgspec.json.encode
    for n, chunk in enumerate((EVENTS, MORE[:60], MORE[60:])):  # several batches: several rows per key
        s.append(b"".join(enc(x) + b"\n" for x in chunk), b"".join(enc(x) + b"\n" for x in LINKS) if n == 0 else b"", n + 1)
    return s


def both(store: DuckDBStore, q: StatsQuery) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    return reads.stats(store.read, q, use_rollup=True), reads.stats(store.read, q, use_rollup=False)


days = st.integers(min_value=0, max_value=40).map(lambda d: datetime(2026, 4, 25, tzinfo=UTC) + timedelta(days=d))


@settings(max_examples=150, deadline=None)
@given(
    start=days, length=st.integers(min_value=1, max_value=40),
    group_by=st.lists(st.sampled_from(GROUP_BY_COLUMNS), unique=True, max_size=2),
    interval=st.sampled_from([None, "day", "week", "month"]),
    event=st.sampled_from([None, "$pageview", "signup", "purchase"]),
    country=st.sampled_from([None, "US", "DE"]),
    bots=st.booleans(),
)
def test_rollup_equals_counting_events(store: DuckDBStore, start: datetime, length: int, group_by: list[str], interval: str | None, event: str | None, country: str | None, bots: bool) -> None:
    q = StatsQuery(
        scope=SCOPE, start=start, end=start + timedelta(days=length), group_by=tuple(group_by),
        interval=interval, event=event, filters=(("country", country),) if country else (),
        include_bots=bots, limit=1000,
    )
    rolled, counted = both(store, q)
    assert rolled == counted


def test_forget_and_reclassify_keep_the_rollup_exact(tmp_path: Path) -> None:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    enc = msgspec.json.encode
    link = IdentityLink(project_id="prj_a", env="live", anonymous_id="r1", user_id="gone", ts=datetime(2026, 5, 1, tzinfo=UTC))
    s.append(b"".join(enc(x) + b"\n" for x in MORE), enc(link) + b"\n", 1)
    q = StatsQuery(scope=SCOPE, start=datetime(2026, 5, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC), group_by=("source",), interval="day", limit=1000)
    before = both(s, q)
    assert before[0] == before[1]
    assert s.forget(SCOPE, "gone").events > 0
    rolled, counted = both(s, q)
    assert rolled == counted != before[0]
    s.reclassify(datetime(2026, 5, 10, tzinfo=UTC), lambda p, u, r: {"source": "reclassified", "source_rule_id": "referral"}, ("source",))
    rolled, counted = both(s, q)
    assert rolled == counted
    assert any(r["source"] == "reclassified" for r in rolled)
