"""A CSV download whose store cannot answer (here: never caught up, `FOOTFALL_READ_TIMEOUT=0`)
answers 503 with `Retry-After` before any byte of CSV: it once sent 200 and the header, then
an empty body (the funnel people's CSV did until it read its first batch before answering)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from tests.dashboard.conftest import ADMIN, create_user, login
from tests.support.server import Server


def test_csv_downloads_say_the_store_is_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data).start()
    keys = srv.keys
    srv.stop()
    assert create_user(data, *ADMIN, "--role", "admin").returncode == 0
    srv = Server(data, env={"FOOTFALL_READ_TIMEOUT": "0"})
    srv.keys = keys
    srv.start()
    try:
        with closing(login(srv, *ADMIN)) as c:
            base = f"/dashboard/p/{keys['project_id']}/live"
            downloads = [
                (f"{base}/sessions", {"format": "csv"}),
                (f"{base}/events", {"format": "csv"}),
                (f"{base}/people/someone", {"format": "csv"}),
                (base, {"panel": "pages", "format": "csv"}),
                (base, {"panel": "entry_pages", "format": "csv"}),
                (f"{base}/attribution/conversions.csv", {"conversion": "buy", "bucket": "0"}),
                (f"{base}/funnels/people.csv", {"s1": "$pageview", "s2": "buy", "step": "1"}),
            ]
            for path, params in downloads:
                r = c.get(path, params=params)
                assert r.status_code == 503, (path, r.status_code, r.text[:300])
                assert int(r.headers["retry-after"]) >= 1 and "text/csv" not in r.headers["content-type"]
    finally:
        srv.stop()
