"""Custom attribution rules from the CLI to stored events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from footfall.store.duckdb.store import DuckDBStore
from tests.support.server import Server, cli

# Rules and reclassify against both control planes: <data>/meta.sqlite and PostgreSQL.
pytestmark = pytest.mark.usefixtures("meta_env")

def test_custom_rule_is_applied_before_the_built_in_rules(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "shop", "--json").stdout)
    pid, sk = project["project_id"], project["keys"]["sk_live"]
    added = json.loads(cli(data, "rule", "add", "--project", pid, "--when", "utm_source=partner_x", "--channel", "Affiliates", "--medium", "affiliate", "--json").stdout)
    assert added["when"] == {"utm_source": "partner_x"}
    assert [r["id"] for r in json.loads(cli(data, "rule", "list", "--project", pid, "--json").stdout)] == [added["id"]]
    srv = Server(data).start()
    try:
        with srv.client(sk) as c:
            for anon, url in (("cr1", "https://shop.example/?utm_source=Partner_X&utm_medium=cpc"), ("cr2", "https://shop.example/?utm_source=other&utm_medium=cpc")):
                assert c.post("/v1/track", json={"event": "$pageview", "anonymous_id": anon, "url": url}).status_code == 202
        (matched,) = srv.query(sk, anonymous_id="cr1")
        (built_in,) = srv.query(sk, anonymous_id="cr2")
    finally:
        srv.stop()
    assert (matched["source"], matched["medium"], matched["channel"]) == ("partner_x", "affiliate", "Affiliates")
    assert matched["source_rule_id"] == f"custom:{added['id']}"
    assert (built_in["source"], built_in["medium"], built_in["source_rule_id"]) == ("other", "paid", "utm_paid_medium")
    assert json.loads(cli(data, "rule", "remove", added["id"], "--json").stdout) == {"removed": True, "id": added["id"]}
    assert cli(data, "rule", "remove", added["id"], check=False).returncode == 1


def test_rule_add_validates_its_input(tmp_path: Path) -> None:
    pid = json.loads(cli(tmp_path, "project", "create", "p", "--json").stdout)["project_id"]
    bad = cli(tmp_path, "rule", "add", "--project", pid, "--when", "nonsense", "--channel", "Affiliates", check=False)
    channel = cli(tmp_path, "rule", "add", "--project", pid, "--when", "a=b", "--channel", "Nope", check=False)
    assert channel.returncode != 0 and "Affiliates" in channel.stderr
    assert bad.returncode != 0 and "key=value" in bad.stderr
    nothing = cli(tmp_path, "rule", "add", "--project", pid, "--when", "a=b", check=False)
    assert nothing.returncode != 0 and "--source" in nothing.stderr
    unknown = cli(tmp_path, "rule", "add", "--project", "prj_nope", "--when", "a=b", "--channel", "Affiliates", check=False)
    assert unknown.returncode == 1


def test_reclassify_applies_new_rules_to_stored_events(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data).start()
    sk, pid = srv.keys["sk_live"], srv.keys["project_id"]
    try:
        with srv.client(sk) as c:
            events = [
                {"event": "$pageview", "anonymous_id": "rc", "timestamp": "2026-04-01T10:00:00Z", "url": "https://shop.example/?utm_source=partner_y"},
                {"event": "signup", "anonymous_id": "rc", "timestamp": "2026-04-01T10:05:00Z"},
                {"event": "$pageview", "anonymous_id": "old", "timestamp": "2026-01-01T10:00:00Z", "url": "https://shop.example/?utm_source=partner_y"},
            ]
            assert c.post("/v1/batch", json={"events": events}).status_code == 202
    finally:
        srv.stop()
    cli(data, "rule", "add", "--project", pid, "--when", "utm_source=partner_y", "--channel", "Affiliates", "--medium", "affiliate")
    busy = Server(data).start()
    try:
        locked = cli(data, "reclassify", check=False)
        assert locked.returncode == 1 and "stop `footfall serve`" in locked.stderr
    finally:
        busy.stop()
    out = json.loads(cli(data, "reclassify", "--since", "2026-03-01T00:00:00Z", "--json").stdout)
    assert out["updated"] == 2
    srv = Server(data)
    srv.keys = busy.keys
    srv.start()
    try:
        rows = {r["event_name"]: r for r in srv.query(sk, anonymous_id="rc")}
        (old,) = srv.query(sk, anonymous_id="old")
    finally:
        srv.stop()
    assert (rows["$pageview"]["medium"], rows["$pageview"]["channel"]) == ("affiliate", "Affiliates")
    assert rows["$pageview"]["source_rule_id"].startswith("custom:")
    assert (rows["signup"]["medium"], rows["signup"]["source_rule_id"]) == ("affiliate", "session_inherited")
    assert old["medium"] == "unknown"  # before --since: untouched


def test_reclassify_out_of_memory_says_so_and_how_to_go_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = DuckDBStore(data / "events.duckdb")
    store.migrate()
    store._con.execute(
        """INSERT INTO events (project_id, env, uid, name, ts, received_at, anonymous_id,
                               session_id, url, referrer, properties, dialect, is_bot)
           SELECT 'prj_m', 'live', 'u' || i, '$pageview', TIMESTAMP '2026-04-01' + to_seconds(i),
                  TIMESTAMP '2026-04-01', 'a' || (i % 5000), 's' || (i % 20000),
                  'https://shop.example/p' || (i % 50) || '?utm_source=s' || (i % 7),
                  'https://ref' || (i % 30) || '.example/', '{}', 'millimetric', false
           FROM range(200000) r(i)"""
    )
    store.close()
    out = cli(data, "reclassify", "--memory", "4MB", check=False)
    assert out.returncode == 1
    assert "needs more than --memory 4MB" in out.stderr and "--since" in out.stderr
    assert "in use" not in out.stderr  # not mistaken for the server holding the store
    ok = json.loads(cli(data, "reclassify", "--memory", "1GB", "--json").stdout)
    assert ok["updated"] == 200_000
