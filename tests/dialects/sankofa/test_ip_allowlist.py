"""Sankofa's authorized-IP allowlist: checked when no Origin is sent."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.server import Server, cli

BODY = {"event_name": "ip_probe", "distinct_id": "ip_user_1"}


def test_authorized_ips(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "p", "--origin", "https://shop.example", "--json").stdout)
    pid, sk = project["project_id"], project["keys"]["sk_live"]
    updated = json.loads(cli(data, "project", "update", pid, "--authorized-ip", "10.0.0.0/8", "--authorized-ip", "192.168.1.7", "--json").stdout)
    assert updated["authorized_ips"] == ["10.0.0.0/8", "192.168.1.7"]
    assert cli(data, "project", "update", pid, "--authorized-ip", "not-an-ip", check=False).returncode != 0
    srv = Server(data).start()
    try:
        with srv.client(None, **{"x-api-key": sk}) as c:
            r = c.post("/api/v1/track", json=BODY)  # from 127.0.0.1, not on the list
            assert (r.status_code, r.json()) == (403, {"ok": False, "error": "Unauthorized IP Address"})
            r = c.post("/api/v1/track", json=BODY, headers={"Origin": "https://shop.example"})
            assert r.status_code == 200  # a browser call is checked by its Origin instead
    finally:
        srv.stop()
    cleared = json.loads(cli(data, "project", "update", pid, "--any-ip", "--json").stdout)
    assert cleared["authorized_ips"] == []
    srv = Server(data).start()
    try:
        with srv.client(None, **{"x-api-key": sk}) as c:
            assert c.post("/api/v1/track", json=BODY).status_code == 200
    finally:
        srv.stop()
