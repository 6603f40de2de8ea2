"""Saved funnels in the control plane, on SQLite and PostgreSQL (migration 008)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.store.meta import MetaStore


@pytest.fixture
def meta(tmp_path: Path, meta_url: str | None) -> Iterator[MetaStore]:
    m = MetaStore(meta_url or tmp_path / "meta.sqlite")
    m.migrate()
    yield m
    m.close()


def test_save_list_get_delete_within_the_project(meta: MetaStore) -> None:
    shop, blog = meta.create_project("shop", []), meta.create_project("blog", [])
    definition = {"steps": [{"event": "$pageview", "where": [["path", "/pricing"]]}, {"event": "signup", "where": []}],
                  "window": "7d", "breakdown": "channel"}  # fmt: skip
    first = meta.funnels.save(shop.id, "Pricing → signup", definition, "ana@example.com")
    second = meta.funnels.save(shop.id, "Second", {"steps": []}, "bo@example.com")
    assert first.id.startswith("fnl_") and first.id != second.id
    got = meta.funnels.get(shop.id, first.id)
    assert got == first and got.definition == definition and got.name == "Pricing → signup"
    assert {f.id for f in meta.funnels.list(shop.id)} == {first.id, second.id}
    # Another project neither lists, reads nor deletes it.
    assert meta.funnels.list(blog.id) == []
    assert meta.funnels.get(blog.id, first.id) is None
    assert not meta.funnels.delete(blog.id, first.id)
    assert meta.funnels.delete(shop.id, first.id) and not meta.funnels.delete(shop.id, first.id)
    assert [f.id for f in meta.funnels.list(shop.id)] == [second.id]
