"""Dashboard users, the projects a viewer may see, and login sessions (control plane: SQLite or
PostgreSQL, through `meta.dialect`).

Only hashes are stored: the password's scrypt hash and the SHA-256 of each session cookie, so a
copy of meta.sqlite neither logs anyone in nor reveals a password.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import msgspec

from footfall.store.meta.dialect import Connection

__all__ = ["SESSION_LIFETIME", "DashboardSession", "DashboardUser", "DashboardUsers"]

SESSION_LIFETIME = timedelta(days=14)
_FMT = "%Y-%m-%dT%H:%M:%SZ"


class DashboardUser(msgspec.Struct, frozen=True):
    email: str
    role: str  # admin | viewer
    created_at: str
    projects: tuple[str, ...] = ()  # a viewer's projects (admins see every project)

    def may_see(self, project_id: str) -> bool:
        return self.role == "admin" or project_id in self.projects


class DashboardSession(msgspec.Struct, frozen=True):
    user: DashboardUser
    csrf_token: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DashboardUsers:
    def __init__(
        self,
        db: Connection,
        lock: threading.RLock,
        transaction: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self._db = db
        self._lock = lock
        self._transaction = transaction

    def create(
        self, email: str, password_hash: str, role: str, projects: tuple[str, ...] = ()
    ) -> DashboardUser:
        """Raises ValueError when the user exists or a project does not."""
        email = email.strip().lower()
        now = datetime.now(UTC).strftime(_FMT)
        with self._transaction():
            db = self._db
            # Checked first, in the transaction (one writer at a time on either engine), so
            # neither engine's integrity error needs telling apart.
            if db.execute("SELECT 1 FROM dashboard_users WHERE email = ?", (email,)).fetchone():
                raise ValueError(f"user {email} exists")
            for project_id in projects:
                if not db.execute("SELECT 1 FROM projects WHERE id = ?", (project_id,)).fetchone():
                    raise ValueError(f"no project {project_id}")
            db.execute(
                "INSERT INTO dashboard_users (email, password_hash, role, created_at)"
                " VALUES (?,?,?,?)",
                (email, password_hash, role, now),
            )
            for project_id in projects:
                db.execute(
                    "INSERT INTO dashboard_user_projects (email, project_id) VALUES (?,?)",
                    (email, project_id),
                )
        return DashboardUser(email, role, now, tuple(sorted(projects)))

    def list(self) -> list[DashboardUser]:
        with self._lock:
            rows = self._db.execute(
                "SELECT email, role, created_at FROM dashboard_users ORDER BY email"
            ).fetchall()
            grants = self._db.execute(
                "SELECT email, project_id FROM dashboard_user_projects ORDER BY project_id"
            ).fetchall()
        projects: dict[str, list[str]] = {}
        for email, project_id in grants:
            projects.setdefault(email, []).append(project_id)
        return [DashboardUser(e, r, c, tuple(projects.get(e, ()))) for e, r, c in rows]

    def get(self, email: str) -> DashboardUser | None:
        email = email.strip().lower()
        return next((u for u in self.list() if u.email == email), None)

    def password_hash(self, email: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT password_hash FROM dashboard_users WHERE email = ?",
                (email.strip().lower(),),
            ).fetchone()
        return str(row[0]) if row else None

    def set_password(self, email: str, password_hash: str, keep_session: str | None = None) -> bool:
        """Replaces the user's password hash and ends their sessions but `keep_session` (the
        cookie of the one that changed it): a stolen session dies with the old password.
        False when there is no such user."""
        email = email.strip().lower()
        with self._transaction():
            cur = self._db.execute(
                "UPDATE dashboard_users SET password_hash = ? WHERE email = ?", (password_hash, email)
            )
            if cur.rowcount == 0:
                return False
            self._db.execute(
                "DELETE FROM dashboard_sessions WHERE email = ? AND token_hash <> ?",
                (email, _token_hash(keep_session) if keep_session else ""),
            )
        return True

    def delete(self, email: str) -> bool:
        """Deletes the user, its project grants and its sessions (logged out at once)."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM dashboard_users WHERE email = ?", (email.strip().lower(),)
            )
        return cur.rowcount > 0

    def any(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM dashboard_users LIMIT 1").fetchone() is not None

    # -- sessions ------------------------------------------------------------------------
    def open_session(self, email: str) -> str:
        """A new session for the user; returns the cookie value (stored only as a hash)."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._lock:
            self._db.execute(
                "DELETE FROM dashboard_sessions WHERE expires_at < ?", (now.strftime(_FMT),)
            )
            self._db.execute(
                "INSERT INTO dashboard_sessions (token_hash, email, csrf_token, created_at,"
                " expires_at) VALUES (?,?,?,?,?)",
                (_token_hash(token), email.strip().lower(), secrets.token_urlsafe(32),
                 now.strftime(_FMT), (now + SESSION_LIFETIME).strftime(_FMT)),
            )
        return token

    def session(self, token: str) -> DashboardSession | None:
        now = datetime.now(UTC).strftime(_FMT)
        with self._lock:
            row = self._db.execute(
                "SELECT email, csrf_token FROM dashboard_sessions"
                " WHERE token_hash = ? AND expires_at >= ?",
                (_token_hash(token), now),
            ).fetchone()
        if row is None:
            return None
        user = self.get(row[0])
        return DashboardSession(user, row[1]) if user else None

    def close_session(self, token: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM dashboard_sessions WHERE token_hash = ?", (_token_hash(token),)
            )
