"""The control plane: projects, API keys and daily salts, in SQLite or PostgreSQL.

Kept apart from the event store on purpose: it is small, transactional and shared between the
running server and the admin CLI (an embedded DuckDB file admits one writing process only), and
it stays the same whichever event backend is configured. One node keeps it in
`<data>/meta.sqlite`; several nodes share one PostgreSQL database (`--meta postgresql://…`).
Queries are written once, in SQL both accept (`dialect.py` bridges the rest).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec

from footfall.attribution.custom import CustomRule
from footfall.store.meta.dialect import MetaUnavailable, connect
from footfall.store.meta.funnels import SavedFunnels
from footfall.store.meta.sharing import SavedSegments, ShareLinks
from footfall.store.meta.users import DashboardUsers
from footfall.store.migrations import pending

__all__ = ["ApiKeyRow", "MetaStore", "MetaUnavailable", "Project", "normalise_domain"]


class Project(msgspec.Struct, frozen=True):
    id: str
    name: str
    origins: tuple[str, ...]
    store_raw_ip: bool
    created_at: str
    authorized_ips: tuple[str, ...] = ()  # CIDRs; empty = any caller
    timezone: str = "UTC"  # IANA name: the dashboard's day boundaries

    def ip_authorized(self, ip: str | None) -> bool:
        """No list means any caller; otherwise the IP must fall in one of the CIDRs."""
        if not self.authorized_ips:
            return True
        if ip is None:
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in ipaddress.ip_network(c, strict=False) for c in self.authorized_ips)

    @property
    def own_hosts(self) -> frozenset[str]:
        """Hosts of the allowed origins: a referrer from one of them is a self-referral."""
        hosts = set()
        for origin in self.origins:
            rest = origin.split("://", 1)[-1]
            host = rest.split("/", 1)[0].split(":", 1)[0].lower().removeprefix("*.")
            if host and host != "*":
                hosts.add(host)
        return frozenset(hosts)


class ApiKeyRow(msgspec.Struct, frozen=True):
    prefix: str
    project_id: str | None
    kind: str
    env: str
    secret_hash: str
    created_at: str
    revoked_at: str | None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MetaStore:
    """`target`: a SQLite file path, or a `postgresql://` URL shared by several nodes."""

    def __init__(self, target: Path | str) -> None:
        self._db = connect(target)
        self.target = self._db.target  # never holds a password
        # Re-entrant: `transaction()` holds it while the methods it wraps take it again.
        self._lock = threading.RLock()
        self._salt: tuple[str, bytes] | None = None  # today's salt: asked for on every event
        self.users = DashboardUsers(self._db, self._lock, self.transaction)
        self.funnels = SavedFunnels(self._db, self._lock)
        self.shares = ShareLinks(self._db, self._lock)
        self.segments = SavedSegments(self._db, self._lock)

    @property
    def reachable(self) -> bool:
        """False since the last failed call to a PostgreSQL control plane, until one succeeds."""
        return self._db.reachable

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the calls inside as one transaction, one process of the cluster at a time
        (SQLite's write lock; a PostgreSQL advisory lock), e.g. the first-run bootstrap."""
        with self._lock, self._db.transaction():
            yield

    def migrate(self, package: str = "footfall.store.meta") -> None:
        """Apply pending migrations (`<package>/migrations/NNN_name.sql`), all in one
        transaction: nodes starting together wait for the first one instead of racing it."""
        with self.transaction():
            db = self._db
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT)"
            )
            done = {r[0] for r in db.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, name, sql in pending(package, done):
                for statement in _statements(db.ddl(sql)):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, name))

    # -- projects ------------------------------------------------------------------------
    def create_project(self, name: str, origins: list[str], store_raw_ip: bool = False) -> Project:
        project = Project(
            id="prj_" + secrets.token_hex(6),
            name=name,
            origins=tuple(origins),
            store_raw_ip=store_raw_ip,
            created_at=_now(),
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO projects (id, name, origins, store_raw_ip, created_at) VALUES (?,?,?,?,?)",
                (project.id, name, json.dumps(origins), int(store_raw_ip), project.created_at),
            )
        return project

    def projects(self) -> list[Project]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, origins, store_raw_ip, created_at, authorized_ips, timezone FROM projects"
                " ORDER BY created_at, id"
            ).fetchall()
        return [_project(r) for r in rows]

    def project(self, project_id: str) -> Project | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, name, origins, store_raw_ip, created_at, authorized_ips, timezone FROM projects"
                " WHERE id = ?",
                (project_id,),
            ).fetchone()
        return _project(row) if row else None

    def update_project(
        self,
        project_id: str,
        *,
        origins: list[str] | None = None,
        store_raw_ip: bool | None = None,
        authorized_ips: list[str] | None = None,
        timezone: str | None = None,
    ) -> None:
        with self._lock:
            if timezone is not None:
                self._db.execute(
                    "UPDATE projects SET timezone = ? WHERE id = ?", (timezone, project_id)
                )
            if authorized_ips is not None:
                self._db.execute(
                    "UPDATE projects SET authorized_ips = ? WHERE id = ?",
                    (json.dumps(authorized_ips), project_id),
                )
            if origins is not None:
                self._db.execute(
                    "UPDATE projects SET origins = ? WHERE id = ?", (json.dumps(origins), project_id)
                )
            if store_raw_ip is not None:
                self._db.execute(
                    "UPDATE projects SET store_raw_ip = ? WHERE id = ?",
                    (int(store_raw_ip), project_id),
                )

    # -- site domains (Plausible) ---------------------------------------------------------
    def set_domains(self, project_id: str, domains: list[str]) -> None:
        """Replace the domains a project accepts Plausible events for. Raises ValueError when
        one already belongs to another project (a domain picks exactly one project)."""
        wanted = sorted({normalise_domain(d) for d in domains} - {""})
        with self.transaction():
            db = self._db
            if wanted:
                marks = ",".join("?" * len(wanted))
                taken = db.execute(
                    f"SELECT domain, project_id FROM project_domains WHERE domain IN ({marks})"
                    " AND project_id <> ?",
                    (*wanted, project_id),
                ).fetchall()
                if taken:
                    raise ValueError(", ".join(f"{d} belongs to {p}" for d, p in taken))
            db.execute("DELETE FROM project_domains WHERE project_id = ?", (project_id,))
            for domain in wanted:
                db.execute(
                    "INSERT INTO project_domains (domain, project_id) VALUES (?, ?)",
                    (domain, project_id),
                )

    def domains(self, project_id: str | None = None) -> dict[str, str]:
        """domain -> project id, for one project or all."""
        sql = "SELECT domain, project_id FROM project_domains"
        args: tuple[str, ...] = ()
        if project_id is not None:
            sql += " WHERE project_id = ?"
            args = (project_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY domain", args).fetchall()
        return {r[0]: r[1] for r in rows}

    # -- keys ----------------------------------------------------------------------------
    def insert_key(self, row: ApiKeyRow) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (prefix, project_id, kind, env, secret_hash, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (row.prefix, row.project_id, row.kind, row.env, row.secret_hash, row.created_at),
            )

    def key(self, prefix: str) -> ApiKeyRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT prefix, project_id, kind, env, secret_hash, created_at, revoked_at"
                " FROM api_keys WHERE prefix = ?",
                (prefix,),
            ).fetchone()
        return ApiKeyRow(*row) if row else None

    def keys(self, project_id: str | None = None) -> list[ApiKeyRow]:
        sql = "SELECT prefix, project_id, kind, env, secret_hash, created_at, revoked_at FROM api_keys"
        args: tuple[str, ...] = ()
        if project_id is not None:
            sql += " WHERE project_id = ?"
            args = (project_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, prefix", args).fetchall()
        return [ApiKeyRow(*r) for r in rows]

    def revoke_key(self, prefix: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL",
                (_now(), prefix),
            )
        return cur.rowcount > 0

    # -- attribution rules ---------------------------------------------------------------
    def add_rule(self, project_id: str, rule: CustomRule) -> CustomRule:
        with self._lock:
            row = self._db.execute(
                "SELECT coalesce(max(position), 0) + 1 FROM attribution_rules WHERE project_id = ?",
                (project_id,),
            ).fetchone()
            self._db.execute(
                "INSERT INTO attribution_rules (id, project_id, position, rule, created_at)"
                " VALUES (?,?,?,?,?)",
                (rule.id, project_id, row[0], msgspec.json.encode(rule).decode(), _now()),
            )
        return rule

    def rules(self, project_id: str) -> tuple[CustomRule, ...]:
        with self._lock:
            rows = self._db.execute(
                "SELECT rule FROM attribution_rules WHERE project_id = ? ORDER BY position",
                (project_id,),
            ).fetchall()
        return tuple(msgspec.json.decode(r[0], type=CustomRule) for r in rows)

    def remove_rule(self, rule_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM attribution_rules WHERE id = ?", (rule_id,))
        return cur.rowcount > 0

    # -- rate limits ---------------------------------------------------------------------
    def set_rate_limit(self, project_id: str, route: str, rate: float, burst: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO rate_limits (project_id, route, rate, burst) VALUES (?,?,?,?)"
                " ON CONFLICT (project_id, route) DO UPDATE SET rate = excluded.rate,"
                " burst = excluded.burst",
                (project_id, route, rate, burst),
            )

    def clear_rate_limit(self, project_id: str, route: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM rate_limits WHERE project_id = ? AND route = ?", (project_id, route)
            )
        return cur.rowcount > 0

    def rate_limits(self, project_id: str) -> dict[str, tuple[float, float]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT route, rate, burst FROM rate_limits WHERE project_id = ?", (project_id,)
            ).fetchall()
        return {r[0]: (float(r[1]), float(r[2])) for r in rows}

    # -- forget audit --------------------------------------------------------------------
    def audit_forget(
        self, project_id: str, env: str, user_id: str, key_prefix: str, counts: dict[str, int]
    ) -> str:
        subject = hashlib.sha256(f"{project_id}:{env}:{user_id}".encode()).hexdigest()
        with self._lock:
            self._db.execute(
                "INSERT INTO forget_audit (project_id, env, subject_hash, key_prefix, events,"
                " identities, sessions, at) VALUES (?,?,?,?,?,?,?,?)",
                (project_id, env, subject, key_prefix, counts["events"], counts["identities"],
                 counts["sessions"], _now()),
            )
        return subject

    def forget_audit(self, project_id: str) -> list[dict[str, object]]:
        with self._lock:
            cur = self._db.execute(
                "SELECT project_id, env, subject_hash, key_prefix, events, identities, sessions, at"
                " FROM forget_audit WHERE project_id = ? ORDER BY id",
                (project_id,),
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- salts ---------------------------------------------------------------------------
    def daily_salt(self, day: date) -> bytes:
        """The salt of a UTC day, created on first use; salts of days before yesterday are deleted.

        Nodes sharing a control plane share the salt: whichever inserts first wins (the primary
        key decides), and every node reads the winner back."""
        key = day.isoformat()
        cached = self._salt
        if cached is not None and cached[0] == key:
            return cached[1]
        with self._lock:
            row = self._db.execute("SELECT salt FROM daily_salts WHERE day = ?", (key,)).fetchone()
            if row:
                self._salt = (key, bytes(row[0]))
                return self._salt[1]
            salt = secrets.token_bytes(32)
            self._db.execute(
                "INSERT INTO daily_salts (day, salt) VALUES (?, ?) ON CONFLICT (day) DO NOTHING",
                (key, salt),
            )
            yesterday = (day - timedelta(days=1)).isoformat()
            self._db.execute("DELETE FROM daily_salts WHERE day < ?", (yesterday,))
            row = self._db.execute("SELECT salt FROM daily_salts WHERE day = ?", (key,)).fetchone()
            self._salt = (key, bytes(row[0]))
            return self._salt[1]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def normalise_domain(domain: str) -> str:
    """How domains are compared: trimmed, lower case, no leading `www.` (as Plausible does).

    >>> normalise_domain(" WWW.Shop.Example "), normalise_domain("blog.example")
    ('shop.example', 'blog.example')
    """
    return domain.strip().lower().removeprefix("www.")


def _project(row: tuple[str, str, str, int, str, str, str]) -> Project:
    return Project(
        id=row[0],
        name=row[1],
        origins=tuple(json.loads(row[2])),
        store_raw_ip=bool(row[3]),
        created_at=row[4],
        authorized_ips=tuple(json.loads(row[5])),
        timezone=row[6],
    )


def _statements(script: str) -> list[str]:
    # Our migrations keep "--" out of string literals, so every "--" starts a comment.
    lines = [ln.split("--", 1)[0] for ln in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
