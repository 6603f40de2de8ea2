"""A report panel's CSV rows are the panel's rows, every one, in its order, and come from the
store's batches of one read (at most a batch at a time, here 2 rows): every panel, with a
filter, on DuckDB and on ClickHouse (chDB)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from footfall.dashboard import report
from footfall.dashboard.state import ReportState
from tests.store.conformance import END, SCOPE, START, fill, open_backend


@pytest.mark.parametrize("backend", ["duckdb", "chdb"])
def test_a_panel_csv_is_the_panels_rows_in_batches(backend: str, tmp_path: Path) -> None:
    store = fill(open_backend(backend, tmp_path, lambda: None))  # type: ignore[arg-type,return-value]
    try:
        state = ReportState(filters=(("device_type", "mobile"),))
        service: Any = SimpleNamespace(store=store)  # all `_panel` reads through: the real store
        batched = 0
        for panel in report.PANELS:
            batches = list(report.panel_batches(store, SCOPE, (START, END), state, panel, 2))
            rows, more = report._panel(service, SCOPE, (START, END), state, panel, 100_000)
            assert not more and all(len(b) <= 2 for b in batches), panel.name
            got = [[r[c] for c in report.panel_header(panel)] for b in batches for r in b]
            assert got == [[*row.labels, int(row.value)] for row in rows], panel.name
            batched += len(batches) > 1
        assert batched >= 10  # most panels have more rows than a batch
    finally:
        store.close()
