"""The README's quickstart runs, as written, against a real server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clickhouse import ClickHouseHTTP, new_database
from tests.support.server import Server

README = Path(__file__).resolve().parents[1] / "README.md"


def quickstart_block() -> str:
    text = README.read_text()
    section = text.split("## Quickstart", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match
    return match.group(1)


@pytest.fixture(params=["duckdb", "clickhouse"])
def store_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The server's store: the embedded default, or ClickHouse over real HTTP (chDB behind the
    test server in tests/support/clickhouse.py)."""
    if request.param == "duckdb":
        yield {}
        return
    http = ClickHouseHTTP().start()
    try:
        yield {"FOOTFALL_STORE": http.url(new_database("readme"))}
    finally:
        http.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_quickstart_curl_examples(tmp_path: Path, store_env: dict[str, str]) -> None:
    srv = Server(tmp_path / "data", env=store_env).start()
    try:
        script = quickstart_block().replace("http://localhost:8787", srv.url)
        # every curl prints its status after the body, one answer per line
        script = script.replace("curl ", "curl -sS -w ' %{http_code}\\n' ")
        env = {**os.environ, "SK_KEY": srv.keys["sk_live"], "RK_KEY": srv.keys["rk_live"], "PK_KEY": srv.keys["pk_live"]}
        out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    finally:
        srv.stop()
    answers = [line.rsplit(" ", 1) for line in out.strip().splitlines()]
    statuses = [int(code) for _body, code in answers]
    assert statuses == [202, 202, 200, 200, 200, 202]
    bodies = [json.loads(body) for body, _code in answers]
    assert bodies[0] == {"ok": True, "event_id": None}
    assert bodies[1] == {"ok": True, "count": 2}
    assert bodies[2] == {"ok": True}
    assert {r["event_name"] for r in bodies[3]["rows"]} == {"signup", "$identify"}
    assert bodies[4]["ok"] is True and bodies[4]["queued"] is False and bodies[4]["deleted_events"] == 2
    assert bodies[5] == {"ok": True, "event_id": None}


def test_readme_python_example(server: Server) -> None:
    text = README.read_text().split("## Clients", 1)[1]
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match
    code = match.group(1).replace("sk_live_…", server.keys["sk_live"]).replace("http://localhost:8787", server.url)
    code = code.replace("anonymous_id=\"u_abc\"", "anonymous_id=\"readme_py\"")
    assert "readme_py" in code
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    (row,) = server.query(server.keys["rk_live"], anonymous_id="readme_py")
    assert (row["event_name"], row["properties"]) == ("purchase", '{"amount_cents":4900}')
