"""Footfall's own events in bulk through a running server (`footfall import --server`: NDJSON,
CSV and Parquet exports parsed by Arrow at `POST /v1/import/events`, one WAL record a body) and
from CSV files offline: the same answers, rejects with line numbers, idempotency, raw-IP and
environment rules, and resume after kill -9, as the row-by-row path."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from footfall.model import Scope
from footfall.portability.exporter import HttpSource, export_tables
from tests.portability.conftest import new_project
from tests.portability.test_bulk_import import (
    END,
    START,
    _events,
    _tables,
    assert_stored_once,
    exported_events,
)
from tests.portability.test_import_cli import exported, kill_9_midway, run, write
from tests.portability.test_roundtrip import reads
from tests.support.server import Server, cli

FORMATS = ("ndjson", "csv", "parquet")


def _bad_csv(good: list[str]) -> tuple[str, list[int]]:
    """A CSV export with bad records among good ones (one spanning lines before them), and the
    line each bad record starts on."""
    header, rows = good[0], good[1:]
    cols = next(csv.reader([header]))
    uid = cols.index("uid")

    def with_(row: str, i: int, value: str) -> str:
        values = next(csv.reader([row]))
        values[i] = value
        return ",".join('"' + v.replace('"', '""') + '"' if v else "" for v in values)

    out = [header, with_(rows[0], cols.index("name"), "two\nlines"), *rows[1:4],
           rows[4] + ',"one too many"',                                # line 7: a field too many
           with_(rows[5], cols.index("ts"), "not a time"),             # line 8
           with_(rows[6], uid, ""),                                    # line 9: no uid
           with_(with_(rows[7], uid, "long"), cols.index("name"), "n" * 300),  # line 10: dropped
           rows[8][:-30] + '"']                                        # line 11: an unclosed quote
    return "\n".join(out) + "\n", [7, 8, 9, 10, 11]  # fmt: skip


def test_server_imports_of_ndjson_csv_and_parquet_exports_answer_every_read_the_same(tmp_path: Path) -> None:
    d = tmp_path / "data"
    srv = Server(d).start()
    try:
        src = new_project(srv, "src")
        with srv.client(src["sk_live"]) as c:
            assert c.post("/v1/batch", json={"events": _events()}).status_code == 202
            assert c.post("/v1/identify", json={"anonymous_id": "v1", "user_id": "u1", "traits": {"plan": "pro"}}).status_code == 200
        for fmt in FORMATS:
            source = HttpSource(srv.url, src["rk_live"])
            try:
                export_tables(source, Scope(src["project_id"], "live"), ["events", "links", "profiles"], fmt, tmp_path / fmt)  # type: ignore[arg-type]
            finally:
                source.close()
        dst = {fmt: new_project(srv, fmt) for fmt in (*FORMATS, "bad", "offline")}
        for fmt in FORMATS:
            key = dst[fmt]["sk_live"]
            report = run(d, str(tmp_path / fmt), "--server", srv.url, "--key", key, "--batch-rows", "7")
            assert (report["events"], report["links"], report["rejected"]) == (121, 9, 0), (fmt, report)
            again = run(d, str(tmp_path / fmt), "--server", srv.url, "--key", key)
            assert again["rejected"] == 0  # stored once: compared below
        # The test environment of the same project stays apart, and a raw IP goes unless stored.
        lines = [line for line in (tmp_path / "ndjson" / "events.ndjson").read_text().split("\n") if line]
        rows = [json.loads(line) for line in lines]
        test = write(tmp_path / "test-events.ndjson", [{**rows[0], "uid": "t1", "ip": "81.2.69.142", "env": "live"}])
        assert run(d, str(test), "--server", srv.url, "--key", dst["ndjson"]["sk_test"])["events"] == 1

        names = ["$pageview", "purchase"]
        live, live_tables = reads(srv, src["rk_live"], START, END, names), _tables(srv, src["rk_live"])
        assert live["query"][0] == 200 and len(live["query"][1]["rows"]) == 120
        for fmt in FORMATS:
            assert reads(srv, dst[fmt]["rk_live"], START, END, names) == live, fmt
            assert _tables(srv, dst[fmt]["rk_live"]) == live_tables, fmt
        [stored] = exported(srv, dst["ndjson"]["rk_test"])
        assert (stored["uid"], stored["env"], stored["ip"]) == ("t1", "test", None)

        # Bad rows in NDJSON through the server: each rejected with its line, the rest stored.
        bad = [
            (3, '{"uid": "x", "name": '),
            (10, '{"uid":"y1","name":"a","ts":"2026-03-01T00:00:00Z","received_at":"2026-03-01T00:00:00Z"}{"uid":"y2"}'),
            (20, json.dumps({**rows[5], "uid": None})),
            (30, json.dumps({**rows[6], "uid": "long", "name": "n" * 300})),
        ]
        mixed = lines[:]
        for line, text in bad:
            mixed.insert(line - 1, text)
        (tmp_path / "bad").mkdir()
        write(tmp_path / "bad" / "events.ndjson", mixed)
        report = run(d, str(tmp_path / "bad" / "events.ndjson"), "--server", srv.url, "--key", dst["bad"]["sk_live"], "--batch-rows", "16")
        assert report["rejected"] == 4 and report["rows"] == 125 and report["events"] == 121, report
        rejects = [json.loads(r) for r in (tmp_path / "bad" / "events.ndjson.rejects.ndjson").read_text().splitlines()]
        assert [r["line"] for r in rejects] == [line for line, _ in bad]
        assert "missing required field `uid`" in rejects[2]["error"] and "dropped as invalid" in rejects[3]["error"]
        assert rejects[0]["row"].startswith('{"uid": "x"')
        assert len(exported(srv, dst["bad"]["rk_live"])) == 121

        # Bad records in CSV through the server, and the same file offline below.
        csv_text, bad_lines = _bad_csv((tmp_path / "csv" / "events.csv").read_text().split("\n")[:10])
        bad_csv = tmp_path / "bad" / "events.csv"
        bad_csv.write_text(csv_text)
        report = run(d, str(bad_csv), "--server", srv.url, "--key", dst["bad"]["sk_test"], "--batch-rows", "4")
        assert (report["events"], report["rejected"]) == (4, 5), report
        rejects = [json.loads(r) for r in (tmp_path / "bad" / "events.csv.rejects.ndjson").read_text().splitlines()]
        assert [r["line"] for r in rejects] == bad_lines, rejects
        assert "the header has 46" in rejects[0]["error"] and "`$.uid`" in rejects[2]["error"]
        assert "dropped as invalid" in rejects[3]["error"]
        assert "two\nlines" in [r["name"] for r in exported(srv, dst["bad"]["rk_test"])]

        # Errors of the route itself, in Millimetric's format.
        with srv.client(dst["bad"]["sk_live"]) as c:
            r = c.post("/v1/import/events", content=b"{}", headers={"Content-Type": "application/json"})
            assert r.status_code == 400 and r.json()["error"] == "unsupported_media_type"
            r = c.post("/v1/import/events", content=b"\n\n", headers={"Content-Type": "application/x-ndjson"})
            assert r.status_code == 202 and r.json() == {"ok": True, "events": 0, "rejected": [], "dropped": []}
            r = c.post("/v1/import/events", content=b"\xff\xfe\n[1]\n", headers={"Content-Type": "application/x-ndjson"})
            assert r.status_code == 202 and [x["index"] for x in r.json()["rejected"]] == [0, 1]
            body = c.get("/openapi.json").json()["paths"]["/v1/import/events"]["post"]["requestBody"]
            assert set(body["content"]) == {"application/x-ndjson", "text/csv"}  # fuzzed with both
        with srv.client(dst["bad"]["rk_live"]) as c:
            r = c.post("/v1/import/events", content=lines[0].encode(), headers={"Content-Type": "application/x-ndjson"})
            assert r.status_code == 403 and r.json()["error"] == "import_requires_secret_key"
        offline_project = dst["offline"]["project_id"]
    finally:
        srv.stop()
    # Offline, a CSV export now takes the bulk path too: same rejects, same rows.
    report = run(d, str(bad_csv), "--project", offline_project, "--env", "test", "--batch-rows", "3")
    assert (report["events"], report["rejected"]) == (4, 5), report
    report = run(d, str(tmp_path / "csv"), "--project", offline_project)
    assert (report["events"], report["rejected"]) == (121, 0), report
    srv = Server(d).start()
    try:
        assert _tables(srv, dst["offline"]["rk_live"]) == live_tables
        assert reads(srv, dst["offline"]["rk_live"], START, END, names) == live
    finally:
        srv.stop()


@pytest.mark.slow
def test_kill_9_of_a_server_import_and_of_its_server_then_resume_stores_every_row_once(tmp_path: Path) -> None:
    d = tmp_path / "data"
    keys = json.loads(cli(d, "project", "create", "imp", "--json").stdout)
    n = 40_000
    src = exported_events(tmp_path / "events.ndjson", n)
    state = tmp_path / "events.ndjson.import-state.json"
    srv = Server(d).start()
    try:
        args = [sys.executable, "-m", "footfall", "import", str(src), "--server", srv.url,
                "--key", keys["keys"]["sk_live"], "--batch-rows", "500"]  # fmt: skip
        done = kill_9_midway(args, state, n)
        # What the server acknowledged is in its WAL, loaded or not: kill it too, then restart.
        srv.kill()
        srv.start()
        report = run(d, str(src), "--server", srv.url, "--key", keys["keys"]["sk_live"], "--resume")
        assert report["skipped"] == done and report["rows"] == n - done
        assert_stored_once(srv, keys["keys"]["rk_live"], n)
    finally:
        srv.stop()
