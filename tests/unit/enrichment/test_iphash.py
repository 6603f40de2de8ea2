"""IP hashing: keyed, normalised, fixed length; cookieless anonymous ids."""

from __future__ import annotations

import doctest
import hashlib
import hmac
import re

from footfall.enrichment import iphash
from footfall.enrichment.iphash import anonymous_id_for, ip_hash

SALT = b"\x01" * 32


def test_ip_hash_is_truncated_hmac_sha256() -> None:
    expected = hmac.new(SALT, b"203.0.113.9", hashlib.sha256).hexdigest()[:32]
    assert ip_hash("203.0.113.9", SALT) == expected
    assert re.fullmatch(r"[0-9a-f]{32}", expected)


def test_ip_hash_normalises() -> None:
    base = ip_hash("2001:db8::1", SALT)
    assert ip_hash("2001:0DB8:0000:0000:0000:0000:0000:0001", SALT) == base
    assert ip_hash(" 2001:db8::1 ", SALT) == base
    assert ip_hash("::ffff:192.0.2.1", SALT) == ip_hash("192.0.2.1", SALT)
    assert ip_hash("[2001:db8::1]", SALT) == base


def test_ip_hash_depends_on_salt_and_ip() -> None:
    assert ip_hash("192.0.2.1", SALT) != ip_hash("192.0.2.1", b"other-day-salt")
    assert ip_hash("192.0.2.1", SALT) != ip_hash("192.0.2.2", SALT)


def test_ip_hash_tolerates_non_ip_input() -> None:
    assert ip_hash("unknown", SALT) == ip_hash(" UNKNOWN ", SALT)
    assert len(ip_hash("", SALT)) == 32


def test_anonymous_id_shape_and_definition() -> None:
    aid = anonymous_id_for(SALT, "proj_1", "live", "192.0.2.1", "Mozilla/5.0")
    assert re.fullmatch(r"anon_[0-9a-f]{24}", aid)
    msg = b"proj_1\x00live\x00192.0.2.1\x00Mozilla/5.0"
    assert aid == "anon_" + hmac.new(SALT, msg, hashlib.sha256).hexdigest()[:24]


def test_anonymous_id_is_stable_and_scoped() -> None:
    args = ("proj_1", "live", "192.0.2.1", "Mozilla/5.0")
    aid = anonymous_id_for(SALT, *args)
    assert anonymous_id_for(SALT, *args) == aid
    assert anonymous_id_for(SALT, "proj_1", "live", "::ffff:192.0.2.1", "Mozilla/5.0") == aid
    assert anonymous_id_for(b"next-day", *args) != aid
    assert anonymous_id_for(SALT, "proj_2", "live", "192.0.2.1", "Mozilla/5.0") != aid
    assert anonymous_id_for(SALT, "proj_1", "test", "192.0.2.1", "Mozilla/5.0") != aid
    assert anonymous_id_for(SALT, "proj_1", "live", "192.0.2.2", "Mozilla/5.0") != aid
    assert anonymous_id_for(SALT, "proj_1", "live", "192.0.2.1", "curl/8") != aid
    # field boundaries are unambiguous
    assert anonymous_id_for(SALT, "ab", "c", "1.2.3.4", "u") != anonymous_id_for(
        SALT, "a", "bc", "1.2.3.4", "u"
    )


def test_raw_ip_not_in_output() -> None:
    assert "192.0.2.1" not in ip_hash("192.0.2.1", SALT)
    assert "192" not in anonymous_id_for(SALT, "p", "e", "192.0.2.1", "ua")[:5]


def test_doctests() -> None:
    assert doctest.testmod(iphash).failed == 0


def test_public_api() -> None:
    assert sorted(iphash.__all__) == ["anonymous_id_for", "ip_hash", "normalise_ip_text"]
