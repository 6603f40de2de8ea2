"""IP geolocation: bundled country data, optional MaxMind city/ASN databases.

Without configuration the country comes from ``iptocc`` (offline, data bundled in the wheel).
With MMDB files (GeoLite2/GeoIP2 City, ASN or ISP) lookups use the ``maxminddb`` C extension
over a memory map. Non-public addresses (private, loopback, link-local, documentation, CGNAT,
...) and invalid input give an empty :class:`Geo`; nothing here raises on bad input.

>>> GeoIP().lookup("8.8.8.8").country
'US'
>>> GeoIP().lookup("192.168.1.10") == Geo()
True
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

import iptocc
import maxminddb
import msgspec

__all__ = ["Geo", "GeoIP", "normalise_ip"]

_CACHE_SIZE = 65536


class Geo(msgspec.Struct, frozen=True, kw_only=True):
    """Where an IP address is. ``country`` is an ISO 3166-1 alpha-2 code."""

    country: str | None = None
    region: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    time_zone: str | None = None
    isp: str | None = None
    organization: str | None = None


_EMPTY = Geo()


def normalise_ip(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse ``ip`` (IPv4-mapped IPv6 is unwrapped, ``[v6]`` brackets and zone ids dropped).

    >>> normalise_ip("::ffff:8.8.8.8"), normalise_ip("nonsense")
    (IPv4Address('8.8.8.8'), None)
    """
    if not ip or not isinstance(ip, str):
        return None
    text = ip.strip().strip("[]").split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _get(record: Any, *path: str | int) -> Any:
    cur = record
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, list) or len(cur) <= key:
                return None
            cur = cur[key]
        else:
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(key)
    return cur


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _name(record: Any, *path: str | int) -> str | None:
    names = _get(record, *path, "names")
    if isinstance(names, Mapping):
        return _str(names.get("en")) or next((v for v in names.values() if _str(v)), None)
    return None


class GeoIP:
    """Geolocation lookups with an LRU cache. Safe to share between threads (read-only)."""

    def __init__(self, city_mmdb: str | None = None, asn_mmdb: str | None = None) -> None:
        self._city = self._open(city_mmdb)
        self._asn = self._open(asn_mmdb)
        self._cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._lookup)
        # The raw text first: parsing an address costs more than the lookup it saves.
        self._by_text = functools.lru_cache(maxsize=_CACHE_SIZE)(self._lookup_text)

    @staticmethod
    def _open(path: str | None) -> maxminddb.Reader | None:
        if not path:
            return None
        return maxminddb.open_database(path, maxminddb.MODE_MMAP_EXT)

    @property
    def uses_c_extension(self) -> bool:
        """True when every configured MMDB reader is the C extension's reader."""
        from maxminddb import extension

        readers = [r for r in (self._city, self._asn) if r is not None]
        return all(isinstance(r, extension.Reader) for r in readers)

    def close(self) -> None:
        for reader in (self._city, self._asn):
            if reader is not None:
                reader.close()
        self._cached.cache_clear()
        self._by_text.cache_clear()

    def lookup(self, ip: str | None) -> Geo:
        """Geolocate ``ip``. Invalid or non-public addresses give an empty :class:`Geo`."""
        if ip is None:
            return _EMPTY
        return self._by_text(ip)

    def _lookup_text(self, ip: str) -> Geo:
        addr = normalise_ip(ip)
        if addr is None or not addr.is_global:
            return _EMPTY
        return self._cached(str(addr))

    def _record(self, reader: maxminddb.Reader | None, ip: str) -> Any:
        if reader is None:
            return None
        try:
            return reader.get(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return None

    def _lookup(self, ip: str) -> Geo:
        city = self._record(self._city, ip)
        asn = self._record(self._asn, ip)
        country = _str(_get(city, "country", "iso_code")) or _str(
            _get(city, "registered_country", "iso_code")
        )
        if country is None:
            try:
                country = iptocc.country_code(ip)
            except Exception:  # pragma: no cover - defensive; iptocc returns None on bad input
                country = None
        as_org = _str(_get(asn, "autonomous_system_organization"))
        region = _name(city, "subdivisions", 0) or _str(_get(city, "subdivisions", 0, "iso_code"))
        return Geo(
            country=country.upper() if country else None,
            region=region,
            city=_name(city, "city"),
            latitude=_float(_get(city, "location", "latitude")),
            longitude=_float(_get(city, "location", "longitude")),
            time_zone=_str(_get(city, "location", "time_zone")),
            isp=_str(_get(asn, "isp")) or as_org,
            organization=_str(_get(asn, "organization")) or as_org,
        )
