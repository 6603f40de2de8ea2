"""The real posthog-node (pinned, from npm) under Node.js against a real server, unchanged but
for `host`: gzip batches (`Content-Encoding: gzip`), identify, person properties, alias."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import duckdb
import msgspec
import pytest

from tests.dialects.posthog.helpers import rows, send, uid
from tests.support.packages import npm_install
from tests.support.server import Server

SCRIPT = Path(__file__).parent / "scripts" / "posthog_node.cjs"


def test_posthog_node(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("no node on this machine")
    target = npm_install("posthog-node@5.70.0")
    srv = Server(tmp_path / "data").start()
    ids = {"user": uid("node_user"), "anon": uid("node_anon"), "other": uid("node_other"), "uuid": str(uuid.uuid4())}
    try:
        # an earlier anonymous visit, from the browser side, under the id identify will link
        send(srv, "/e/", {"event": "$pageview", "distinct_id": ids["anon"], "token": srv.keys["sk_live"],
                          "properties": {"$process_person_profile": False}})
        proc = subprocess.run(
            ["node", str(SCRIPT), srv.url, srv.keys["sk_live"], json.dumps(ids)],
            env={**os.environ, "NODE_PATH": str(target / "node_modules")}, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout.splitlines()[-1]) == {"errors": []}
        got = rows(srv, user_id=ids["user"])
        assert sorted(r["event_name"] for r in got) == sorted(["$pageview", "node_order_paid", "$identify", "$set", "$set", "$create_alias"])
        (paid,) = [r for r in got if r["event_name"] == "node_order_paid"]
        assert (paid["event_id"], paid["user_id"], paid["source"]) == (ids["uuid"], ids["user"], "node")
        assert json.loads(paid["properties"])["amount_cents"] == 4900
        assert json.loads(paid["properties"])["$geoip_disable"] is True  # posthog-node default: honoured, no geo
    finally:
        srv.stop()
    with duckdb.connect(str(tmp_path / "data" / "events.duckdb"), read_only=True) as con:
        (attrs,) = con.execute("SELECT attributes FROM profiles WHERE subject_id = ?", [ids["user"]]).fetchone()
        links = con.execute("SELECT anonymous_id FROM identities WHERE user_id = ? ORDER BY 1", [ids["user"]]).fetchall()
    assert msgspec.json.decode(attrs) == {"plan": "pro", "first_plan": "free"}
    assert sorted(a for (a,) in links) == sorted([ids["anon"], ids["other"]])
