"""API keys: `{kind}_{env}_{prefix}_{secret}`.

The prefix (8 chars) identifies the key and is safe to log; the secret is 32 url-safe random
bytes, shown once and stored only as its SHA-256 (a slow hash buys nothing for 256 bits of
randomness). Verification compares hashes in constant time and caches the verdict briefly so a
revocation takes effect within `CACHE_SECONDS` even while the server runs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import UTC, datetime

import msgspec

from footfall.cache import TtlCache
from footfall.errors import Unauthorized
from footfall.model import Env, KeyKind, Principal
from footfall.store.meta import ApiKeyRow, MetaStore

__all__ = ["CACHE_SECONDS", "IssuedKey", "KeyRing", "issue_key", "parse_key"]

CACHE_SECONDS = 10.0
_KEY_RE = re.compile(r"^(pk|sk|rk|ak)_(live|test)_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{16,128})$")
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


class IssuedKey(msgspec.Struct, frozen=True):
    key: str  # the full key, shown once
    prefix: str
    kind: str
    env: str
    project_id: str | None


def parse_key(token: str) -> tuple[KeyKind, Env, str, str]:
    """Split a key into (kind, env, prefix, secret) or raise `malformed_api_key`."""
    match = _KEY_RE.match(token)
    if not match:
        raise Unauthorized("malformed_api_key", "API key is not {kind}_{env}_{prefix}_{secret}")
    kind, env, prefix, secret = match.groups()
    return KeyKind(kind), Env(env), prefix, secret


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(meta: MetaStore, project_id: str | None, kind: KeyKind, env: Env) -> IssuedKey:
    if kind is KeyKind.ACCOUNT and project_id is not None:
        project_id = None  # account keys read across every project
    if kind is not KeyKind.ACCOUNT and project_id is None:
        raise ValueError("project keys need a project")
    if project_id is not None and meta.project(project_id) is None:
        raise ValueError(f"no project {project_id}")
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    secret = secrets.token_urlsafe(32)
    meta.insert_key(
        ApiKeyRow(
            prefix=prefix,
            project_id=project_id,
            kind=kind.value,
            env=env.value,
            secret_hash=_hash(secret),
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            revoked_at=None,
        )
    )
    return IssuedKey(
        key=f"{kind.value}_{env.value}_{prefix}_{secret}",
        prefix=prefix,
        kind=kind.value,
        env=env.value,
        project_id=project_id,
    )


class KeyRing:
    """Verifies bearer keys against the meta store, with a short in-process cache (served
    stale while the control plane is unreachable, `footfall.cache`)."""

    def __init__(self, meta: MetaStore, ttl: float = CACHE_SECONDS) -> None:
        self._meta = meta
        # Keyed by the whole token (in memory only): a hit costs no hashing.
        self.cache: TtlCache[str, Principal | None] = TtlCache(ttl)

    def verify(self, token: str) -> Principal:
        principal = self.cache.get(token, lambda: self._load(token))
        if principal is None:
            raise Unauthorized("invalid_api_key", "API key is unknown or revoked")
        return principal

    def _load(self, token: str) -> Principal | None:
        kind, env, prefix, secret = parse_key(token)
        return self._lookup(kind, env, prefix, _hash(secret))

    def _lookup(self, kind: KeyKind, env: Env, prefix: str, digest: str) -> Principal | None:
        row = self._meta.key(prefix)
        # Compare even when the row is missing so timing does not tell which prefixes exist.
        stored = row.secret_hash if row else "0" * 64
        ok = hmac.compare_digest(stored, digest)
        if not ok or row is None or row.revoked_at is not None:
            return None
        if row.kind != kind.value or row.env != env.value:
            return None
        return Principal(project_id=row.project_id, env=env, kind=kind, prefix=prefix)

    def forget_cached(self) -> None:
        self.cache.clear()
