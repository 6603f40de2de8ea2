"""The real `posthog` Python SDK (pinned, from PyPI) against a real server, unchanged but for
`host`: capture, identify (posthog < 6), set / set_once, alias, flush; plain and gzip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import msgspec
import pytest

from tests.dialects.posthog.helpers import rows, uid
from tests.support.packages import pip_target
from tests.support.server import Server

SCRIPT = Path(__file__).parent / "scripts" / "posthog_python.py"


@pytest.mark.parametrize(("version", "gzip"), [("7.91.1", False), ("7.91.1", True), ("5.4.0", False)])
def test_posthog_python(tmp_path: Path, version: str, gzip: bool) -> None:
    target = pip_target(f"posthog=={version}")
    srv = Server(tmp_path / "data").start()
    ids = {"user": uid("py_user"), "other": uid("py_other"), "uuid": str(uuid.uuid4()), "session": uid("sess")}
    try:
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), srv.url, srv.keys["sk_live"], "1" if gzip else "0", json.dumps(ids)],
            env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout.splitlines()[-1]) == {"errors": []}
        got = rows(srv, user_id=ids["user"])
        names = sorted(r["event_name"] for r in got)
        identify = ["$identify"] if version.startswith("5.") else []
        assert names == sorted(["py_pageview", *identify, "$set", "$set_once", "$set_once", "$create_alias", "py_after_alias"])
        (page,) = [r for r in got if r["event_name"] == "py_pageview"]
        assert (page["event_id"], page["session_id"], page["source"], page["medium"], page["path"]) == (
            ids["uuid"], ids["session"], "python", "sdk", "/landing")
        assert page["user_id"] == ids["user"] and json.loads(page["properties"])["n"] == 1
        (after,) = [r for r in got if r["event_name"] == "py_after_alias"]
        assert after["anonymous_id"] == ids["other"]  # stitched to the user by the alias link
    finally:
        srv.stop()
    with duckdb.connect(str(tmp_path / "data" / "events.duckdb"), read_only=True) as con:
        (attrs,) = con.execute("SELECT attributes FROM profiles WHERE subject_id = ?", [ids["user"]]).fetchone()
    want = {"plan": "pro", "first_plan": "free"} | ({"email": "ama@example.com"} if version.startswith("5.") else {})
    assert msgspec.json.decode(attrs) == want
