"""Stored profile and event rows → A-TRACK's read answers (`/session/show`, `/event/show`).

Response shaping only: the landing URL stored in the profile's context is split for display
(`url_data`, `utm_data`, `query_params`, `click_ids`); geo, device and source are the pipeline's
results stored on the profile at ingest. An A-TRACK session is the uuid's profile, so its `id`
is the uuid and every event's `session_id` is its uuid.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from footfall.attribution.rules import CLICK_IDS
from footfall.dialects.atrack import schema
from footfall.dialects.atrack._countries import country_name
from footfall.enrichment.urls import parse_url

__all__ = ["event_row", "page_meta", "session", "session_event"]

CLICK_ID_KEYS = frozenset(name for name, _source in CLICK_IDS)
UTM_EXTRA = frozenset({"campaign_id"})
_decode = msgspec.json.decode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short(version: str | None) -> str | None:
    """Major.minor, as A-TRACK shows versions: `17.2.1` → `17.2`."""
    return ".".join(version.split(".")[:2]) if version else None


def _ms(stamp: str) -> int:
    """Milliseconds since the epoch, in integers (no float rounding).

    >>> _ms("2026-04-12T01:52:35.156999Z")
    1775958755156
    """
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _url_parts(url: dict[str, Any], created_at: str) -> tuple[schema.UrlData, dict[str, str], dict[str, str], dict[str, str]]:
    href, raw, sent_query = url.get("href"), url.get("raw"), url.get("query")
    page = parse_url(href or raw)
    params = parse_url(sent_query).params if sent_query else page.params
    path = url.get("path") or page.path or None
    query = sent_query or (f"?{page.query}" if page.query else None)
    if raw is None and path is not None:
        raw = path + (query or "")
    utm: dict[str, str] = {}
    clicks: dict[str, str] = {}
    other: dict[str, str] = {}
    for key, value in params.items():
        if key.startswith("utm_") or key in UTM_EXTRA:
            utm[key] = value
        elif key in CLICK_ID_KEYS:
            clicks[key] = value
        else:
            other[key] = value
    if "fbclid" in clicks:
        clicks["fbc"] = f"fb.1.{_ms(created_at)}.{clicks['fbclid']}"
    data = schema.UrlData(
        raw=raw, href=href, path=path, query=query, query_all=dict(params),
        source_url=url.get("source_url"),
    )
    return data, utm, other, clicks


def session(uuid: str, profile: dict[str, Any], store_raw_ip: bool) -> schema.Session:
    context = _dict(profile.get("context"))
    enrichment = _dict(profile.get("enrichment"))
    geo = _dict(enrichment.get("geo"))
    device = _dict(enrichment.get("device"))
    url = _dict(context.get("url"))
    client = {k: v for k, v in _dict(context.get("client")).items() if k not in ("ipAddress", "userAgent")}
    ip = enrichment.get("ip") if store_raw_ip else None
    url_data, utm, other, clicks = _url_parts(url, profile["created_at"])
    device_type = device.get("device_type")
    return schema.Session(
        id=uuid,
        uuid=uuid,
        url_data=url_data,
        utm_data=utm,
        query_params=other,
        click_ids=clicks,
        source=enrichment.get("source"),
        referer=url.get("referer"),
        ip_address=ip,
        ip_data=schema.IpData(
            ip=ip,
            city=schema.City(
                country=schema.Country(
                    iso_code=geo.get("country"),
                    names=schema.CountryNames(en=country_name(geo.get("country"))),
                ),
                location=schema.Location(
                    latitude=geo.get("latitude"),
                    longitude=geo.get("longitude"),
                    time_zone=geo.get("time_zone"),
                ),
            ),
            isp=schema.Isp(isp=geo.get("isp"), organization=geo.get("organization")),
        ),
        device_data=schema.DeviceData(
            model=device.get("model"),
            os=schema.NameVersion(name=device.get("os"), version=_short(device.get("os_version"))),
            client=schema.NameVersion(
                name=device.get("browser"), version=_short(device.get("browser_version"))
            ),
            is_mobile=device_type in ("mobile", "tablet"),
            is_desktop=device_type == "desktop",
        ),
        client_attributes=client,
        user_attributes=_dict(_dict(context.get("user")).get("attributes")),
        custom_data=_dict(profile.get("custom_data")),
        created_at=profile["created_at"],
        updated_at=profile["updated_at"],
    )


def _attributes(row: dict[str, Any]) -> dict[str, Any]:
    try:
        return _dict(_decode(row.get("properties") or "{}"))
    except msgspec.DecodeError:
        return {}


def session_event(row: dict[str, Any]) -> schema.SessionEvent:
    return schema.SessionEvent(
        id=row["uid"], uuid=row.get("anonymous_id"), name=row["name"],
        attributes=_attributes(row), occurred_at=row["ts"],
    )


def event_row(row: dict[str, Any], store_raw_ip: bool) -> schema.EventRow:
    return schema.EventRow(
        id=row["uid"],
        session_id=row.get("anonymous_id"),
        uuid=row.get("anonymous_id"),
        name=row["name"],
        attributes=_attributes(row),
        ip_address=row.get("ip") if store_raw_ip else None,
        user_agent=row.get("user_agent"),
        occurred_at=row["ts"],
        created_at=row["received_at"],
        updated_at=row["received_at"],
    )


def page_meta(name: str | None, sort: str, per_page: int, page: int, count: int, total: int) -> schema.PageMeta:
    """Laravel's paginator fields: `from`/`to` are 1-based positions, null on an empty page."""
    start = (page - 1) * per_page
    return schema.PageMeta(
        name=name,
        sort=sort,
        per_page=per_page,
        current_page=page,
        last_page=max(1, math.ceil(total / per_page)),
        from_=start + 1 if count else None,
        to=start + count if count else None,
        total=total,
    )
