"""Saved funnels: named funnel definitions per project (control plane: SQLite or PostgreSQL,
through `meta.dialect`). The definition is opaque JSON here; the dashboard gives it meaning."""

from __future__ import annotations

import json
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

import msgspec

from footfall.store.meta.dialect import Connection

__all__ = ["SavedFunnel", "SavedFunnels"]

_COLUMNS = "id, project_id, name, definition, created_by, created_at"


class SavedFunnel(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    name: str
    definition: dict[str, Any]
    created_by: str
    created_at: str


def _row(row: tuple[str, str, str, str, str, str]) -> SavedFunnel:
    return SavedFunnel(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5])


class SavedFunnels:
    def __init__(self, db: Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def save(self, project_id: str, name: str, definition: dict[str, Any], created_by: str) -> SavedFunnel:
        funnel = SavedFunnel(
            id="fnl_" + secrets.token_hex(6), project_id=project_id, name=name,
            definition=definition, created_by=created_by,
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        with self._lock:
            self._db.execute(
                f"INSERT INTO saved_funnels ({_COLUMNS}) VALUES (?,?,?,?,?,?)",
                (funnel.id, project_id, name, json.dumps(definition, separators=(",", ":")),
                 created_by, funnel.created_at),
            )
        return funnel

    def list(self, project_id: str) -> list[SavedFunnel]:
        """The project's saved funnels, newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM saved_funnels WHERE project_id = ?"
                " ORDER BY created_at DESC, id",
                (project_id,),
            ).fetchall()
        return [_row(r) for r in rows]

    def get(self, project_id: str, funnel_id: str) -> SavedFunnel | None:
        """Only within the project: an id from another project is no funnel."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM saved_funnels WHERE project_id = ? AND id = ?",
                (project_id, funnel_id),
            ).fetchone()
        return _row(row) if row else None

    def delete(self, project_id: str, funnel_id: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM saved_funnels WHERE project_id = ? AND id = ?", (project_id, funnel_id)
            )
        return cur.rowcount > 0
