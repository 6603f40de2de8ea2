"""Raw IPs only for projects that opted in; geo from City/ISP MMDB files when configured; the
request's own IP and User-Agent when the init sends none."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.dialects.atrack.conftest import IPHONE_UA, ORIGIN, init, post, seed_init
from tests.support.mmdb import write_mmdb
from tests.support.server import Server, cli

CITY = {
    "50.89.98.0/24": {
        "country": {"iso_code": "US", "names": {"en": "United States"}},
        "subdivisions": [{"iso_code": "FL", "names": {"en": "Florida"}}],
        "city": {"names": {"en": "Orlando"}},
        "location": {"latitude": 28.53, "longitude": -81.4807, "time_zone": "America/New_York"},
    },
}
ISP = {
    "50.89.98.0/24": {
        "autonomous_system_number": 33363,
        "autonomous_system_organization": "CHARTER-20115",
        "isp": "Spectrum",
        "organization": "Spectrum",
    },
}


@pytest.fixture(scope="module")
def geo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any], dict[str, Any]]]:
    root = tmp_path_factory.mktemp("atrack-geo")
    data = root / "data"
    city = write_mmdb(root / "city.mmdb", CITY, "GeoLite2-City")
    isp = write_mmdb(root / "isp.mmdb", ISP, "GeoIP2-ISP")
    opted = json.loads(cli(data, "project", "create", "raw", "--origin", ORIGIN, "--json").stdout)
    cli(data, "project", "update", opted["project_id"], "--store-raw-ip")
    plain = json.loads(cli(data, "project", "create", "plain", "--origin", ORIGIN, "--json").stdout)
    srv = Server(data, env={"FOOTFALL_GEOIP_CITY": str(city), "FOOTFALL_GEOIP_ASN": str(isp)}).start()
    yield srv, opted["keys"], plain["keys"]
    if srv.proc is not None:
        srv.stop()


EXPECTED_IP_DATA = {
    "city": {
        "country": {"iso_code": "US", "names": {"en": "United States"}},
        "location": {"latitude": 28.53, "longitude": -81.4807, "time_zone": "America/New_York"},
    },
    "isp": {"isp": "Spectrum", "organization": "Spectrum"},
}


def test_opted_in_project_shows_the_raw_ip(geo_server: tuple[Server, dict[str, Any], dict[str, Any]]) -> None:
    srv, keys, _ = geo_server
    uuid = init(srv, keys["pk_live"], seed_init(), origin=ORIGIN)
    assert post(srv, keys["sk_live"], "/event", {"uuid": uuid, "event": "checkout_started"}).status_code == 200
    session = post(srv, keys["rk_live"], "/session/show", {"uuid": uuid}).json()["data"]["session"]
    assert session["ip_address"] == "50.89.98.90"
    assert session["ip_data"] == {"ip": "50.89.98.90", **EXPECTED_IP_DATA}
    # the tracked event came from the server itself: its own request IP and User-Agent
    rows = post(srv, keys["rk_live"], "/event/show", {"name": "checkout_started"}).json()["data"]
    assert [(r["uuid"], r["ip_address"], r["user_agent"]) for r in rows] == [(uuid, "127.0.0.1", IPHONE_UA)]
    # the init's event (hidden from A-TRACK's reads) carries the init's client IP's geo
    (landing,) = srv.query(keys["rk_live"], event="$init", anonymous_id=uuid)
    assert (landing["country"], landing["device_type"]) == ("US", "mobile")


def test_default_project_keeps_no_raw_ip_but_the_geo(
    geo_server: tuple[Server, dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    srv, _, keys = geo_server
    uuid = init(srv, keys["pk_live"], seed_init(), origin=ORIGIN)
    session = post(srv, keys["sk_live"], "/session/show", {"uuid": uuid}).json()["data"]["session"]
    assert session["ip_address"] is None
    assert session["ip_data"] == {"ip": None, **EXPECTED_IP_DATA}
    assert post(srv, keys["sk_live"], "/event", {"uuid": uuid, "event": "checkout_started"}).status_code == 200
    rows = post(srv, keys["sk_live"], "/event/show", {"name": "checkout_started"}).json()["data"]
    assert [(r["uuid"], r["ip_address"], r["user_agent"]) for r in rows] == [(uuid, None, IPHONE_UA)]

    # nothing of the raw address reached the store: not the event, not the profile's context
    srv.stop()
    con = duckdb.connect(str(srv.data / "events.duckdb"), read_only=True)
    try:
        ips = con.execute("SELECT ip FROM events WHERE anonymous_id = ?", [uuid]).fetchall()
        (context,) = con.execute("SELECT context FROM profiles WHERE subject_id = ?", [uuid]).fetchone() or (None,)
        opted_context = con.execute(
            "SELECT context FROM profiles WHERE project_id <> (SELECT project_id FROM profiles WHERE subject_id = ?)",
            [uuid],
        ).fetchall()
    finally:
        con.close()
    assert ips == [(None,), (None,)]
    assert "50.89.98.90" not in context and json.loads(context)["client"]["locale"] == "en-US"
    assert any("50.89.98.90" in row[0] for row in opted_context)  # the opted-in project keeps it


def test_request_ip_and_user_agent_when_the_init_sends_none(server: Server) -> None:
    pk, sk = server.keys["pk_live"], server.keys["sk_live"]
    uuid = init(server, pk, {"context": {"url": {"href": "https://a-track.io/"}}}, origin=ORIGIN)
    session = post(server, sk, "/session/show", {"uuid": uuid}).json()["data"]["session"]
    assert session["device_data"]["model"] == "iPhone"  # the request's User-Agent header
    assert session["ip_data"]["city"]["country"]["iso_code"] is None  # 127.0.0.1 has no country
    assert session["source"] == "direct"
    assert session["url_data"] == {
        "raw": "/", "href": "https://a-track.io/", "path": "/", "query": None,
        "query_all": {}, "source_url": None,
    }


def test_the_seeds_short_user_agent(server: Server) -> None:
    body = seed_init(ip="8.8.8.8")
    body["context"]["client"]["userAgent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X)"
    uuid = init(server, server.keys["sk_live"], body)
    session = post(server, server.keys["sk_live"], "/session/show", {"uuid": uuid}).json()["data"]["session"]
    device = session["device_data"]
    assert (device["model"], device["os"], device["is_mobile"], device["is_desktop"]) == (
        "iPhone", {"name": "iOS", "version": "17.2"}, True, False,
    )
    assert session["ip_data"]["city"]["country"] == {"iso_code": "US", "names": {"en": "United States"}}
