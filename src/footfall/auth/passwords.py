"""Dashboard passwords: scrypt (memory-hard, in the standard library), self-describing hashes.

`scrypt$N$r$p$salt$hash` keeps the cost parameters beside each hash, so raising them later
re-hashes nobody by force and old hashes still verify. N=2^15, r=8 costs 32 MiB and ~0.1 s per
hash here: cheap for one login, expensive for a guesser with the file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["MIN_PASSWORD", "hash_password", "verify_password"]

MIN_PASSWORD = 10  # characters, for `footfall user create/passwd` and the account page

_N, _R, _P = 2**15, 8, 1
_MAXMEM = 128 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def hash_password(password: str) -> str:
    """A new salted hash of `password`.

    >>> h = hash_password("correct horse")
    >>> h.startswith("scrypt$32768$8$1$"), verify_password("correct horse", h)
    (True, True)
    >>> verify_password("wrong", h)
    False
    """
    salt = secrets.token_bytes(16)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(_derive(password, salt, _N, _R, _P))}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; with `stored=None` (unknown user) the same work is done, so the
    answer time does not tell which e-mail addresses exist."""
    if stored is None:
        _derive(password, b"\0" * 16, _N, _R, _P)
        return False
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        got = _derive(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(expected))
