"""CSV files: Footfall's own CSV export and PostHog's CSV export import."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from footfall.model import Scope
from footfall.portability.formats import writer_for
from footfall.portability.importer import _rows
from footfall.portability.sources import decoder_for
from footfall.store.base import ExportQuery
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_duckdb_store import SCOPE, ev, ndjson


def test_footfall_csv_export_imports_back(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    events = [ev(1, name="two\nlines", properties='{"a":"x,\\ny"}', url="https://x/?a=1,2", latitude=1.25, is_bot=True), ev(2)]
    store.append(ndjson(*events), b"", 1)
    w = writer_for("csv")
    path = tmp_path / "events.csv"
    path.write_bytes(b"".join(w.write(b) for b in store.export(ExportQuery(scope=SCOPE, table="events"))) + w.finish())
    store.close()
    rows = list(_rows(path))
    assert [n for n, _ in rows] == [2, 4]  # the first record spans two lines
    got = [decoder_for("footfall")(row, Scope("prj_a", "live")).events[0] for _, row in rows]
    assert [msgspec.structs.asdict(e) for e in got] == [msgspec.structs.asdict(e) for e in events]


def test_posthog_csv_with_json_properties(tmp_path: Path) -> None:
    path = tmp_path / "posthog.csv"
    path.write_text(
        'uuid,event,distinct_id,timestamp,properties\n'
        'p1,$pageview,d1,2026-01-01T00:00:00Z,"{""$device_id"": ""d1"", ""$current_url"": ""https://x/a"", ""k"": ""v""}"\n'
        'p2,signup,d1,2026-01-01T00:01:00Z,\n'
    )
    rows = list(_rows(path))
    assert [n for n, _ in rows] == [2, 3]
    first, second = (decoder_for("posthog")(row, Scope("p", "live")).events[0] for _, row in rows)
    assert first.url == "https://x/a" and json.loads(first.properties) == {"k": "v"}
    assert second.name == "signup" and second.anonymous_id == "d1"
