"""WAL records of canonical events, as the committer writes them for the loader."""

from __future__ import annotations

import json

from footfall.writer.loader import KIND_EVENT


def event_records(first: int, n: int) -> list[tuple[int, bytes]]:
    """Events `first`…`first + n - 1`, each with its own event id and uid."""
    return [(KIND_EVENT, json.dumps(_event(i)).encode()) for i in range(first, first + n)]


def _event(i: int) -> dict[str, str]:
    return {
        "project_id": "p", "env": "live", "uid": f"u{i}", "event_id": f"e{i}", "name": "e",
        "ts": f"2026-01-01T00:{i:02d}:00Z", "received_at": "2026-01-01T01:00:00Z", "anonymous_id": "v",
    }  # fmt: skip
