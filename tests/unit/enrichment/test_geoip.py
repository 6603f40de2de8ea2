"""GeoIP: bundled iptocc country data and MMDB files written by a tiny in-test writer."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import maxminddb
import pytest

from footfall.enrichment import geoip
from footfall.enrichment.geoip import Geo, GeoIP, normalise_ip
from tests.support.mmdb import write_mmdb

CITY = {
    "81.2.69.0/24": {
        "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
        "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
        "city": {"names": {"en": "London", "de": "London"}},
        "location": {"latitude": 51.5142, "longitude": -0.0931, "time_zone": "Europe/London"},
    },
    "2a02:8100::/32": {
        "country": {"iso_code": "DE", "names": {"en": "Germany"}},
        "city": {"names": {"de": "Köln"}},
        "location": {"latitude": 50.9, "longitude": 6.9, "time_zone": "Europe/Berlin"},
    },
    "203.0.114.0/24": {"registered_country": {"iso_code": "nz"}},  # no country: registered one
}
ASN = {
    "81.2.69.0/24": {
        "autonomous_system_number": 20712,
        "autonomous_system_organization": "Andrews",
    },
    "8.8.8.0/24": {"autonomous_system_number": 15169, "autonomous_system_organization": "GOOGLE"},
}


@pytest.fixture(scope="module")
def mmdb_geo(tmp_path_factory: pytest.TempPathFactory) -> GeoIP:
    d = tmp_path_factory.mktemp("mmdb")
    city = write_mmdb(d / "city.mmdb", CITY, "GeoLite2-City")
    asn = write_mmdb(d / "asn.mmdb", ASN, "GeoLite2-ASN")
    return GeoIP(city_mmdb=str(city), asn_mmdb=str(asn))


# --- bundled data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("193.99.144.80", "DE"),  # heise.de
        ("212.58.244.22", "GB"),  # bbc
        ("133.242.0.1", "JP"),
        ("1.1.1.1", "AU"),
        ("2001:4860:4860::8888", "US"),
        ("::ffff:8.8.8.8", "US"),  # IPv4-mapped IPv6 unwrapped before lookup
        (" 8.8.8.8 ", "US"),
    ],
)
def test_bundled_country(ip: str, country: str) -> None:
    assert GeoIP().lookup(ip).country == country


def test_bundled_fills_only_country() -> None:
    assert GeoIP().lookup("8.8.8.8") == Geo(country="US")


@pytest.mark.parametrize(
    "ip",
    [None, "", "nonsense", "999.1.1.1", "127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4",
     "169.254.1.1", "100.64.0.1", "::1", "fe80::1%eth0", "fc00::1", "2001:db8::1", "0.0.0.0",
     "224.0.0.1", "::ffff:10.0.0.1", "203.0.113.7", 12345],
)  # fmt: skip
def test_non_public_or_invalid_is_empty(ip: Any) -> None:
    assert GeoIP().lookup(ip) == Geo()


def test_normalise_ip() -> None:
    assert normalise_ip("[2001:4860:4860::8888]") == ipaddress.ip_address("2001:4860:4860::8888")
    assert normalise_ip("::ffff:1.2.3.4") == ipaddress.ip_address("1.2.3.4")
    assert normalise_ip("1.2.3") is None


def test_lookups_are_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = geoip.iptocc.country_code

    def spy(ip: str) -> str | None:
        calls.append(ip)
        return real(ip)

    monkeypatch.setattr(geoip.iptocc, "country_code", spy)
    g = GeoIP()
    assert g.lookup("8.8.4.4").country == "US"
    assert g.lookup("8.8.4.4").country == "US"
    assert g.lookup("::ffff:8.8.4.4").country == "US"
    assert calls == ["8.8.4.4"]


# --- MMDB -----------------------------------------------------------------------------------


def test_mmdb_uses_c_extension(mmdb_geo: GeoIP) -> None:
    from maxminddb import extension

    assert mmdb_geo.uses_c_extension
    assert isinstance(mmdb_geo._city, extension.Reader)
    assert isinstance(mmdb_geo._asn, extension.Reader)


def test_open_requests_mmap_ext(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[int] = []
    real = maxminddb.open_database

    def spy(path: str, mode: int = maxminddb.MODE_AUTO) -> maxminddb.Reader:
        seen.append(mode)
        return real(path, mode)

    monkeypatch.setattr(geoip.maxminddb, "open_database", spy)
    GeoIP(city_mmdb=str(write_mmdb(tmp_path / "c.mmdb", CITY, "GeoLite2-City")))
    assert seen == [maxminddb.MODE_MMAP_EXT]


def test_mmdb_city_and_asn(mmdb_geo: GeoIP) -> None:
    assert mmdb_geo.lookup("81.2.69.160") == Geo(
        country="GB",
        region="England",
        city="London",
        latitude=51.5142,
        longitude=-0.0931,
        time_zone="Europe/London",
        isp="Andrews",
        organization="Andrews",
    )


def test_mmdb_ipv6_and_non_english_names(mmdb_geo: GeoIP) -> None:
    geo = mmdb_geo.lookup("2a02:8100:1234::1")
    assert (geo.country, geo.city, geo.region, geo.time_zone) == (
        "DE",
        "Köln",
        None,
        "Europe/Berlin",
    )


def test_mmdb_registered_country_fallback_upper_cased(mmdb_geo: GeoIP) -> None:
    assert mmdb_geo.lookup("203.0.114.9").country == "NZ"


def test_mmdb_miss_falls_back_to_bundled_country(mmdb_geo: GeoIP) -> None:
    geo = mmdb_geo.lookup("8.8.8.8")  # only in the ASN db
    assert geo == Geo(country="US", isp="GOOGLE", organization="GOOGLE")
    assert mmdb_geo.lookup("193.99.144.80") == Geo(country="DE")


def test_mmdb_private_still_empty(mmdb_geo: GeoIP) -> None:
    assert mmdb_geo.lookup("10.0.0.1") == Geo()


def test_missing_mmdb_file_raises_at_startup(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        GeoIP(city_mmdb=str(tmp_path / "missing.mmdb"))


def test_public_api() -> None:
    assert sorted(geoip.__all__) == ["Geo", "GeoIP", "normalise_ip"]


def test_doctests() -> None:
    import doctest

    assert doctest.testmod(geoip).failed == 0
