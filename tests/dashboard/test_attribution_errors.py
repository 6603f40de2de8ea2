"""A store that answers 503 (out of memory) shows a retryable message in each attribution panel,
never a 500; the CSV download answers 503 with Retry-After."""

from __future__ import annotations

import os
import re
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.dashboard.conftest import ADMIN, create_user, login
from tests.support.server import Server

PEOPLE = 4000  # enough that the attribution reads cannot fit in 4 MB


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("FOOTFALL_TEST_CLICKHOUSE_URL")), reason="DuckDB's memory limit")
def test_out_of_memory_is_said_in_the_panels(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data).start()
    keys = srv.keys
    now = datetime.now(UTC)
    events = []
    for i in range(PEOPLE):
        visit, bought = now - timedelta(days=5, seconds=i), now - timedelta(days=4, seconds=i)
        events += [
            {"event": "$pageview", "anonymous_id": f"p{i}", "timestamp": visit.isoformat(),
             "url": f"https://shop.example/?utm_source=s{i % 500}&utm_campaign=c{i}"},
            {"event": "purchase", "anonymous_id": f"p{i}", "timestamp": bought.isoformat()},
        ]  # fmt: skip
    try:
        with srv.client(keys["sk_live"]) as c:
            for start in range(0, len(events), 1000):
                assert c.post("/v1/batch", json={"events": events[start : start + 1000]}).status_code == 202
    finally:
        srv.stop()
    assert create_user(data, *ADMIN, "--role", "admin").returncode == 0
    srv = Server(data, env={"FOOTFALL_STORE_MEMORY": "4MB"})
    srv.keys = keys
    srv.start()
    try:
        with closing(login(srv, *ADMIN)) as c:
            path = f"/dashboard/p/{keys['project_id']}/live/attribution"
            r = c.get(path, params={"conversion": "purchase", "by": "campaign"})
            assert r.status_code == 200
            errors = re.findall(r'data-testid="panel-error">(.*?)</p>', r.text, re.S)
            assert len(errors) == 3  # models, paths, time to convert
            assert all("more memory" in e and "try again" in e for e in errors)
            assert 'data-testid="api-models"' in r.text  # the call is still shown
            csv = c.get(path, params={"conversion": "purchase", "table": "models", "format": "csv"})
            assert csv.status_code == 503 and int(csv.headers["retry-after"]) >= 1
    finally:
        srv.stop()
