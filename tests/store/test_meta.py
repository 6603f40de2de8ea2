"""The control plane on both engines: SQLite (one node) and PostgreSQL (shared by a cluster)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from footfall.attribution.custom import CustomRule
from footfall.store.meta import MetaStore, MetaUnavailable
from footfall.store.migrations import pending

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def target(tmp_path: Path, meta_url: str | None) -> str | Path:
    return meta_url or tmp_path / "meta.sqlite"


@pytest.fixture
def meta(target: str | Path) -> Iterator[MetaStore]:
    m = MetaStore(target)
    m.migrate()
    yield m
    m.close()


def _days(meta: MetaStore) -> list[str]:
    return sorted(r[0] for r in meta._db.execute("SELECT day FROM daily_salts").fetchall())


def test_projects_keys_rules_limits_and_audit_round_trip(meta: MetaStore) -> None:
    p = meta.create_project("shop", ["https://shop.example"])
    meta.update_project(p.id, store_raw_ip=True, authorized_ips=["10.0.0.0/8"])
    got = meta.project(p.id)
    assert got is not None and got.store_raw_ip and got.authorized_ips == ("10.0.0.0/8",)
    assert [x.id for x in meta.projects()] == [p.id]
    assert meta.project("prj_missing") is None

    rule = meta.add_rule(p.id, CustomRule(id="r1", when={"utm_source": "x"}, channel="Affiliates"))
    meta.add_rule(p.id, CustomRule(id="r2", when={"utm_source": "y"}, channel="Affiliates"))
    assert [r.id for r in meta.rules(p.id)] == [rule.id, "r2"]
    assert meta.remove_rule("r1") and not meta.remove_rule("r1")

    meta.set_rate_limit(p.id, "track", 1.5, 3)
    meta.set_rate_limit(p.id, "track", 2.25, 4)  # an upsert, on both engines
    assert meta.rate_limits(p.id) == {"track": (2.25, 4.0)}
    assert meta.clear_rate_limit(p.id, "track") and meta.rate_limits(p.id) == {}

    counts = {"events": 3, "identities": 1, "sessions": 2}
    meta.audit_forget(p.id, "live", "u1", "abcdefgh", counts)
    meta.audit_forget(p.id, "live", "u2", "abcdefgh", counts)
    rows = meta.forget_audit(p.id)
    assert [r["events"] for r in rows] == [3, 3] and rows[0]["subject_hash"] != rows[1]["subject_hash"]


def test_migrating_twice_and_concurrently_is_one_migration(target: str | Path) -> None:
    stores = [MetaStore(target) for _ in range(4)]
    errors: list[BaseException] = []

    def run(m: MetaStore) -> None:
        try:
            m.migrate()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(m,)) for m in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stores[0].migrate()
    versions = [r[0] for r in stores[0]._db.execute("SELECT version FROM schema_migrations").fetchall()]
    assert sorted(versions) == [v for v, _, _ in pending("footfall.store.meta", set())]
    for m in stores:
        m.close()


def test_nodes_racing_for_the_first_salt_of_a_day_all_get_the_winner(target: str | Path) -> None:
    nodes = [MetaStore(target) for _ in range(4)]
    nodes[0].migrate()
    day = date(2030, 5, 17)
    salts: list[bytes] = []
    barrier = threading.Barrier(len(nodes))

    def race(m: MetaStore) -> None:
        barrier.wait()
        salts.append(m.daily_salt(day))

    threads = [threading.Thread(target=race, args=(m,)) for m in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(salts) == 4 and len(set(salts)) == 1 and len(salts[0]) == 32
    for m in nodes:
        m.close()


def test_salts_of_days_before_yesterday_are_deleted(meta: MetaStore) -> None:
    day = date(2030, 1, 10)
    first = meta.daily_salt(day)
    second = meta.daily_salt(day + timedelta(days=1))
    assert first != second
    assert _days(meta) == ["2030-01-10", "2030-01-11"]
    meta.daily_salt(day + timedelta(days=2))
    assert _days(meta) == ["2030-01-11", "2030-01-12"]  # the 10th can no longer be recomputed


def test_a_migration_written_in_sqlite_sql_runs_on_both(
    tmp_path: Path, target: str | Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule for migration authors (docs/multinode.md): plain SQLite DDL, INTEGER 0/1
    flags, timestamps as TEXT written by Python. Here, two migrations of the kind other
    features add (a table with an implicit rowid id, a column with a default)."""
    package = tmp_path / "pkg" / "later_meta"
    shutil.copytree(ROOT / "src" / "footfall" / "store" / "meta" / "migrations", package / "migrations")
    (package / "__init__.py").write_text("")
    last = max(int(f.name.split("_", 1)[0]) for f in (package / "migrations").glob("*.sql"))
    (package / "migrations" / f"{last + 1:03d}_sample_domains.sql").write_text(
        "-- the domains a project answers for\n"
        "CREATE TABLE sample_domains (\n"
        "    domain      TEXT PRIMARY KEY,\n"
        "    project_id  TEXT NOT NULL REFERENCES projects(id)\n"
        ");\n"
    )
    (package / "migrations" / f"{last + 2:03d}_sample_users.sql").write_text(
        "CREATE TABLE sample_users (\n"
        "    id            INTEGER PRIMARY KEY AUTOINCREMENT,\n"
        "    email         TEXT NOT NULL UNIQUE,\n"
        "    password_hash TEXT NOT NULL,\n"
        "    is_admin      INTEGER NOT NULL DEFAULT 0,\n"
        "    avatar        BLOB,\n"
        "    created_at    TEXT NOT NULL\n"
        ");\n"
        "ALTER TABLE projects ADD COLUMN sample_zone TEXT NOT NULL DEFAULT 'UTC';\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    meta = MetaStore(target)
    try:
        meta.migrate("later_meta")
        p = meta.create_project("p", [])
        for email in ("a@example.com", "b@example.com"):
            meta._db.execute(
                "INSERT INTO sample_users (email, password_hash, avatar, created_at) VALUES (?,?,?,?)",
                (email, "h", b"\x00\xff", "2030-01-01T00:00:00Z"),
            )
        meta._db.execute("INSERT OR IGNORE INTO sample_domains VALUES (?, ?)", ("a.example", p.id))
        meta._db.execute("INSERT OR IGNORE INTO sample_domains VALUES (?, ?)", ("a.example", p.id))
        users = meta._db.execute("SELECT id, is_admin, avatar FROM sample_users ORDER BY id").fetchall()
        assert [tuple(u) for u in users] == [(1, 0, b"\x00\xff"), (2, 0, b"\x00\xff")]
        tz = meta._db.execute("SELECT sample_zone FROM projects WHERE id = ?", (p.id,)).fetchone()
        assert tz[0] == "UTC"
        assert meta._db.execute("SELECT count(*) FROM sample_domains").fetchone()[0] == 1
    finally:
        meta.close()


def test_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    from tests.support.server import free_port

    url = f"postgresql://footfall:hunter2@127.0.0.1:{free_port()}/footfall"
    with pytest.raises(MetaUnavailable) as err:
        MetaStore(url)
    assert err.value.code == "control_plane_unavailable" and err.value.status == 503
    assert "127.0.0.1" in err.value.message and "hunter2" not in err.value.message


def test_nodes_starting_together_bootstrap_one_default_project(target: str | Path) -> None:
    from footfall.service import bootstrap_default_project

    nodes = [MetaStore(target) for _ in range(3)]
    nodes[0].migrate()
    barrier = threading.Barrier(len(nodes))
    printed: list[dict[str, str] | None] = []

    def start(m: MetaStore) -> None:
        barrier.wait()
        printed.append(bootstrap_default_project(m))

    threads = [threading.Thread(target=start, args=(m,)) for m in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(p is not None for p in printed) == 1
    assert [p.name for p in nodes[0].projects()] == ["default"]
    for m in nodes:
        m.close()


def test_a_lost_postgres_fails_fast_and_is_reconnected() -> None:
    from tests.support.services import Postgres

    with Postgres.running() as pg:
        meta = MetaStore(pg.database())
        meta.migrate()
        assert meta.projects() == [] and meta.reachable
        pg.stop()
        with pytest.raises(MetaUnavailable, match="lost the control plane"):
            meta.projects()
        with pytest.raises(MetaUnavailable, match="cannot reach the control plane"):
            meta.projects()
        assert not meta.reachable
        started = time.monotonic()
        with pytest.raises(MetaUnavailable, match="is unreachable") as err:
            meta.projects()  # within the backoff: no connection attempt at all
        assert time.monotonic() - started < 0.1 and 0 < (err.value.retry_after or 0) <= 1
        pg.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                assert meta.projects() == []
                break
            except MetaUnavailable:
                assert time.monotonic() < deadline
                time.sleep(0.1)  # polling for the backoff to pass
        assert meta.reachable
        meta.close()
