from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.auth.keys import KeyRing, issue_key, parse_key
from footfall.errors import Unauthorized
from footfall.model import Env, KeyKind
from footfall.store.meta import MetaStore


@pytest.fixture
def meta(tmp_path: Path, meta_url: str | None) -> Iterator[MetaStore]:
    m = MetaStore(meta_url or tmp_path / "meta.sqlite")
    m.migrate()
    yield m
    m.close()


def test_key_shape_and_only_a_hash_is_stored(
    meta: MetaStore, tmp_path: Path, meta_url: str | None
) -> None:
    project = meta.create_project("p", [])
    issued = issue_key(meta, project.id, KeyKind.SECRET, Env.LIVE)
    kind, env, prefix, secret = parse_key(issued.key)
    assert (kind, env, prefix) == (KeyKind.SECRET, Env.LIVE, issued.prefix)
    assert len(prefix) == 8
    if meta_url is not None:
        import psycopg

        with psycopg.connect(meta_url) as conn:
            rows = conn.execute("SELECT * FROM api_keys").fetchall()
        assert secret not in repr(rows)
        assert [len(r[4]) for r in rows] == [64]
        return
    raw = (tmp_path / "meta.sqlite").read_bytes()
    wal = tmp_path / "meta.sqlite-wal"
    if wal.exists():
        raw += wal.read_bytes()
    assert secret.encode() not in raw
    rows = sqlite3.connect(tmp_path / "meta.sqlite").execute("SELECT secret_hash FROM api_keys").fetchall()
    assert rows and all(len(r[0]) == 64 for r in rows)


def test_verify_revoke_and_cache_expiry(meta: MetaStore) -> None:
    project = meta.create_project("p", [])
    key = issue_key(meta, project.id, KeyKind.READ, Env.TEST)
    ring = KeyRing(meta, ttl=0.0)
    principal = ring.verify(key.key)
    assert (principal.project_id, principal.env, principal.kind) == (project.id, Env.TEST, KeyKind.READ)
    assert principal.can_read and not principal.can_ingest
    assert meta.revoke_key(key.prefix)
    with pytest.raises(Unauthorized) as err:
        ring.verify(key.key)
    assert err.value.code == "invalid_api_key"


def test_cached_verdict_is_used_within_the_ttl(meta: MetaStore) -> None:
    project = meta.create_project("p", [])
    key = issue_key(meta, project.id, KeyKind.SECRET, Env.LIVE)
    ring = KeyRing(meta, ttl=3600)
    ring.verify(key.key)
    meta.revoke_key(key.prefix)
    assert ring.verify(key.key).prefix == key.prefix  # cached for up to the TTL
    ring.forget_cached()
    with pytest.raises(Unauthorized):
        ring.verify(key.key)


@pytest.mark.parametrize("token", ["", "sk_live", "sk_live_short_" + "a" * 30, "zz_live_abcdefgh_" + "a" * 30, "sk_live_abcdefgh_tiny"])
def test_malformed_keys(token: str) -> None:
    with pytest.raises(Unauthorized) as err:
        parse_key(token)
    assert err.value.code == "malformed_api_key"


def test_account_keys_have_no_project_and_project_keys_need_one(meta: MetaStore) -> None:
    ak = issue_key(meta, None, KeyKind.ACCOUNT, Env.LIVE)
    assert ak.project_id is None
    assert KeyRing(meta).verify(ak.key).project_id is None
    with pytest.raises(ValueError):
        issue_key(meta, None, KeyKind.SECRET, Env.LIVE)
    with pytest.raises(ValueError):
        issue_key(meta, "prj_missing", KeyKind.SECRET, Env.LIVE)
