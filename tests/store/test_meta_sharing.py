"""Share links and saved segments in the control plane, on both engines (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from footfall.store.meta import MetaStore
from footfall.store.meta.sharing import share_token_hash


@pytest.fixture
def meta(tmp_path: Path, meta_url: str | None) -> Iterator[MetaStore]:
    m = MetaStore(meta_url or tmp_path / "meta.sqlite")
    m.migrate()
    yield m
    m.close()


def test_share_links_open_only_while_active(meta: MetaStore) -> None:
    p = meta.create_project("shop", [])
    link, token = meta.shares.create(
        p.id, "live", "ana@example.com", label="Investors", password_hash="scrypt$x",
        embed_origins=("https://blog.example",),
    )
    stored = meta._db.execute("SELECT token_hash FROM share_links").fetchall()
    assert [r[0] for r in stored] == [share_token_hash(token)] and token not in str(stored)
    opened = meta.shares.open(token)
    assert opened is not None and opened.id == link.id and opened.embed_origins == ("https://blog.example",)
    assert meta.shares.list(p.id, "live")[0].last_used_at is not None
    assert meta.shares.list(p.id, "test") == [] and meta.shares.open(token + "x") is None
    assert not meta.shares.revoke("prj_other", "live", link.id)  # only within its project
    assert not meta.shares.revoke(p.id, "test", link.id)  # and its env
    assert meta.shares.open(token) is not None
    assert meta.shares.revoke(p.id, "live", link.id) and not meta.shares.revoke(p.id, "live", link.id)
    assert meta.shares.open(token) is None
    _, short = meta.shares.create(p.id, "test", "ana@example.com", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert meta.shares.open(short) is None
    _, later = meta.shares.create(p.id, "test", "ana@example.com", expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert meta.shares.open(later) is not None


def test_saved_segments_stay_in_their_project(meta: MetaStore) -> None:
    a, b = meta.create_project("a", []), meta.create_project("b", [])
    seg = meta.segments.create(a.id, "Phones", (("device_type", "mobile"), ("country", "DE")), "ana@example.com")
    assert meta.segments.get(a.id, seg.id) == seg and meta.segments.get(b.id, seg.id) is None
    assert [s.name for s in meta.segments.list(a.id)] == ["Phones"] and meta.segments.list(b.id) == []
    assert not meta.segments.delete(b.id, seg.id) and meta.segments.delete(a.id, seg.id)
    assert meta.segments.list(a.id) == []
