"""Share links (read-only, logged-out views of one project's report) and saved segments (named
filter sets of a project), in the control plane (SQLite or PostgreSQL, through `meta.dialect`).

A share link is opened by a long random token that is stored only as its SHA-256: a copy of
meta.sqlite opens no report. A link answers only while it is neither revoked nor expired, and
that is asked of the database on every request, so revoking takes effect at once on every node.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta

import msgspec

from footfall.store.meta.dialect import Connection

__all__ = ["SavedSegment", "SavedSegments", "ShareLink", "ShareLinks", "share_token_hash"]

_FMT = "%Y-%m-%dT%H:%M:%SZ"
# `last used` is a hint for the list, not an audit log: written at most once a minute per link.
_TOUCH_EVERY = timedelta(minutes=1)
_LINK_COLUMNS = (
    "id, project_id, env, label, password_hash, embed_origins, created_by, created_at,"
    " expires_at, revoked_at, last_used_at"
)


def share_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime(_FMT)


class ShareLink(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    env: str
    label: str
    password_hash: str | None
    embed_origins: tuple[str, ...]  # empty: any site may embed it
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


def _link(row: tuple[object, ...]) -> ShareLink:
    (id_, project_id, env, label, password_hash, origins, by, created, expires, revoked, used) = row
    return ShareLink(
        str(id_), str(project_id), str(env), str(label),
        None if password_hash is None else str(password_hash),
        tuple(str(origins or "").split()), str(by), str(created),
        None if expires is None else str(expires), None if revoked is None else str(revoked),
        None if used is None else str(used),
    )


class ShareLinks:
    def __init__(self, db: Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def create(
        self, project_id: str, env: str, created_by: str, *, label: str = "",
        password_hash: str | None = None, expires_at: datetime | None = None,
        embed_origins: tuple[str, ...] = (),
    ) -> tuple[ShareLink, str]:
        """A new link and its token (the only time the token exists outside the URL)."""
        token = secrets.token_urlsafe(32)
        link = ShareLink(
            "shr_" + secrets.token_hex(8), project_id, env, label, password_hash, embed_origins,
            created_by, _stamp(datetime.now(UTC)),
            None if expires_at is None else _stamp(expires_at), None, None,
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO share_links (id, token_hash, project_id, env, label, password_hash,"
                " embed_origins, created_by, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (link.id, share_token_hash(token), project_id, env, label, password_hash,
                 " ".join(embed_origins), created_by, link.created_at, link.expires_at),
            )
        return link, token

    def open(self, token: str) -> ShareLink | None:
        """The link this token opens, if it is neither revoked nor expired (and note its use)."""
        now = datetime.now(UTC)
        with self._lock:
            row = self._db.execute(
                f"SELECT {_LINK_COLUMNS} FROM share_links WHERE token_hash = ?"
                " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
                (share_token_hash(token), _stamp(now)),
            ).fetchone()
            if row is None:
                return None
            link = _link(row)
            if link.last_used_at is None or link.last_used_at < _stamp(now - _TOUCH_EVERY):
                self._db.execute(
                    "UPDATE share_links SET last_used_at = ? WHERE id = ?", (_stamp(now), link.id)
                )
        return link

    def list(self, project_id: str, env: str) -> list[ShareLink]:
        """The project's links in this env, newest first, revoked and expired ones too."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_LINK_COLUMNS} FROM share_links WHERE project_id = ? AND env = ?"
                " ORDER BY created_at DESC, id",
                (project_id, env),
            ).fetchall()
        return [_link(r) for r in rows]

    def revoke(self, project_id: str, env: str, link_id: str) -> bool:
        """Revoke one of the project's links in `env` (the page listing it is per env, and
        `live` and `test` never act on each other's); False when there is none to revoke."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE share_links SET revoked_at = ? WHERE id = ? AND project_id = ? AND env = ?"
                " AND revoked_at IS NULL",
                (_stamp(datetime.now(UTC)), link_id, project_id, env),
            )
        return cur.rowcount > 0


class SavedSegment(msgspec.Struct, frozen=True):
    id: str
    project_id: str
    name: str
    filters: tuple[tuple[str, str], ...]
    created_by: str
    created_at: str


def _segment(row: tuple[object, ...]) -> SavedSegment:
    id_, project_id, name, filters, by, created = row
    pairs = tuple((str(c), str(v)) for c, v in json.loads(str(filters)))
    return SavedSegment(str(id_), str(project_id), str(name), pairs, str(by), str(created))


class SavedSegments:
    """Named filter sets, shared by everyone who may see the project."""

    def __init__(self, db: Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def create(
        self, project_id: str, name: str, filters: tuple[tuple[str, str], ...], created_by: str
    ) -> SavedSegment:
        segment = SavedSegment(
            "seg_" + secrets.token_hex(6), project_id, name, filters, created_by,
            _stamp(datetime.now(UTC)),
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO saved_segments (id, project_id, name, filters, created_by, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (segment.id, project_id, name, json.dumps([list(f) for f in filters]),
                 created_by, segment.created_at),
            )
        return segment

    def list(self, project_id: str) -> list[SavedSegment]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, project_id, name, filters, created_by, created_at FROM saved_segments"
                " WHERE project_id = ? ORDER BY name, id",
                (project_id,),
            ).fetchall()
        return [_segment(r) for r in rows]

    def get(self, project_id: str, segment_id: str) -> SavedSegment | None:
        """Only within the project: another project's segment id is no segment here."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, project_id, name, filters, created_by, created_at FROM saved_segments"
                " WHERE id = ? AND project_id = ?",
                (segment_id, project_id),
            ).fetchone()
        return _segment(row) if row else None

    def delete(self, project_id: str, segment_id: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM saved_segments WHERE id = ? AND project_id = ?", (segment_id, project_id)
            )
        return cur.rowcount > 0
