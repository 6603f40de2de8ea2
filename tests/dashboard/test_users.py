"""`footfall user create/list/delete` and the first run's one-time admin login."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from tests.dashboard.conftest import create_user, login
from tests.support.server import Server, cli


def test_create_list_delete(fresh_data: Path) -> None:
    project = json.loads(cli(fresh_data, "project", "create", "shop", "--json").stdout)["project_id"]
    out = create_user(fresh_data, "Ana@Example.com", "a-long-password", "--project", project, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"email": "ana@example.com", "role": "viewer", "projects": [project]}
    users = json.loads(cli(fresh_data, "user", "list", "--json").stdout)
    assert [(u["email"], u["role"], u["projects"]) for u in users] == [("ana@example.com", "viewer", [project])]
    # Only a scrypt hash is stored, never the password.
    with sqlite3.connect(fresh_data / "meta.sqlite") as db:
        (stored,) = db.execute("SELECT password_hash FROM dashboard_users").fetchone()
    assert stored.startswith("scrypt$32768$8$1$") and "a-long-password" not in stored
    assert b"a-long-password" not in (fresh_data / "meta.sqlite").read_bytes()
    assert "deleted" in cli(fresh_data, "user", "delete", "ana@example.com").stdout
    assert json.loads(cli(fresh_data, "user", "list", "--json").stdout) == []


def test_generated_password_is_shown_once(fresh_data: Path) -> None:
    out = cli(fresh_data, "user", "create", "bo@example.com", "--role", "admin", "--json")
    password = json.loads(out.stdout)["password"]
    assert len(password) >= 16
    assert password not in cli(fresh_data, "user", "list").stdout


def test_create_errors(fresh_data: Path) -> None:
    assert create_user(fresh_data, "x@example.com", "short").returncode != 0
    assert create_user(fresh_data, "not-an-email", "a-long-password").returncode != 0
    assert create_user(fresh_data, "x@example.com", "a-long-password", "--role", "owner").returncode != 0
    out = create_user(fresh_data, "x@example.com", "a-long-password", "--project", "prj_missing")
    assert out.returncode == 1 and "no project prj_missing" in out.stderr
    assert create_user(fresh_data, "x@example.com", "a-long-password").returncode == 0
    again = create_user(fresh_data, "X@example.com", "a-long-password")
    assert again.returncode == 1 and "exists" in again.stderr
    missing = cli(fresh_data, "user", "delete", "nobody@example.com", check=False)
    assert missing.returncode == 1


def test_project_timezone(fresh_data: Path) -> None:
    project = json.loads(cli(fresh_data, "project", "create", "shop", "--json").stdout)["project_id"]
    out = cli(fresh_data, "project", "update", project, "--timezone", "Europe/Berlin", "--json")
    assert json.loads(out.stdout)["timezone"] == "Europe/Berlin"
    listed = json.loads(cli(fresh_data, "project", "list", "--json").stdout)
    assert [p["timezone"] for p in listed] == ["Europe/Berlin"]
    for zone in ("Mars/Olympus", "America"):  # "America" is a folder of the zone database
        bad = cli(fresh_data, "project", "update", project, "--timezone", zone, check=False)
        assert bad.returncode != 0 and "IANA" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_first_serve_prints_a_one_time_admin_login(fresh_data: Path) -> None:
    srv = Server(fresh_data).start()
    try:
        printed = re.search(r"log in as (\S+), password (\S+):", srv.log.read_text())
        assert printed, srv.log.read_text()
        email, password = printed.groups()
        c = login(srv, email, password)
        page = c.get("/dashboard/", follow_redirects=True)
        c.close()
        assert page.status_code == 200 and 'data-testid="kpi-visitors"' in page.text
    finally:
        srv.stop()
    # A second start finds the admin and prints no password again.
    srv = Server(fresh_data)
    srv.log = fresh_data.parent / "second.log"
    srv.start()
    srv.stop()
    assert "password" not in srv.log.read_text()
