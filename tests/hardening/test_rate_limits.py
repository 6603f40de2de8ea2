"""Token buckets per project and route, in each dialect's error format."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.server import Server, cli


def test_track_burst_then_429_with_retry_after(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "p", "--json").stdout)
    other = json.loads(cli(data, "project", "create", "q", "--json").stdout)
    cli(data, "project", "limit", project["project_id"], "--route", "track", "--rate", "0.5", "--burst", "3")
    srv = Server(data, env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    try:
        with srv.client(project["keys"]["sk_live"]) as c:
            codes = [c.post("/v1/track", json={"event": "x"}).status_code for _ in range(3)]
            assert codes == [202, 202, 202]
            r = c.post("/v1/track", json={"event": "x"})
            assert r.status_code == 429
            assert r.json()["error"] == "rate_limited"
            assert r.json()["retry_after_s"] >= 1 and r.headers["retry-after"] == str(r.json()["retry_after_s"])
            # batch has its own bucket (default 5/s burst 20)
            assert c.post("/v1/batch", json={"events": [{"event": "x"}]}).status_code == 202
        with srv.client(other["keys"]["sk_live"]) as c:  # another project is unaffected
            assert c.post("/v1/track", json={"event": "x"}).status_code == 202
    finally:
        srv.stop()
    reset = json.loads(cli(data, "project", "limit", project["project_id"], "--route", "track", "--reset", "--json").stdout)
    assert (reset["default"], reset["rate"], reset["burst"]) == (True, 50, 200)


def test_default_batch_limit_and_the_off_switch(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {srv.keys['sk_live']}"}) as c:
            codes = [c.post("/v1/batch", json={"events": [{"event": "x"}]}).status_code for _ in range(25)]
        assert codes[:20] == [202] * 20 and 429 in codes[20:]
    finally:
        srv.stop()
    srv = Server(tmp_path / "data2", env={"FOOTFALL_RATE_LIMITS": "off"}).start()
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {srv.keys['sk_live']}"}) as c:
            codes = [c.post("/v1/batch", json={"events": [{"event": "x"}]}).status_code for _ in range(25)]
        assert codes == [202] * 25
    finally:
        srv.stop()


def test_limit_cli_validates(tmp_path: Path) -> None:
    pid = json.loads(cli(tmp_path, "project", "create", "p", "--json").stdout)["project_id"]
    assert cli(tmp_path, "project", "limit", pid, "--route", "query", "--rate", "1", "--burst", "1", check=False).returncode != 0
    assert cli(tmp_path, "project", "limit", pid, "--route", "track", check=False).returncode != 0
    assert cli(tmp_path, "project", "limit", "prj_nope", "--route", "track", "--rate", "1", "--burst", "1", check=False).returncode == 1
