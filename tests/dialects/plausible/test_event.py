"""`POST /api/event` beyond the case table: projects by domain, bots, limits, CORS, visitors."""

from __future__ import annotations

import uuid

import httpx

from tests.dialects.plausible.conftest import BLOG, CHROME, LIMITED, SHOP, Site

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _count(site: Site, project: str, event: str, include_bots: str = "false") -> int:
    rows = site.get(project, "/v1/stats", event=event, include_bots=include_bots)["rows"]
    return sum(int(r["value"]) for r in rows)


def _wal_commits(site: Site) -> float:
    text = httpx.get(site.server.url + "/metrics").text
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith("footfall_wal_commits"))


def test_an_event_for_two_sites_is_stored_once_in_each_project(site: Site) -> None:
    name = _name("rollup")
    before = _wal_commits(site)
    r = site.post({"n": name, "u": f"https://{SHOP}/", "d": f"{SHOP},{BLOG},www.{SHOP}"})
    assert (r.status_code, r.text, r.headers.get("x-plausible-dropped")) == (202, "ok", None)
    # One commit for both sites: stored for all or none, so a retry duplicates nothing (P1-4).
    assert _wal_commits(site) == before + 1
    assert len(site.rows("shop", event=name)) == 1
    assert len(site.rows("blog", event=name)) == 1


def test_projects_only_see_their_own_sites_events(site: Site) -> None:
    name = _name("isolated")
    assert site.post({"n": name, "u": f"https://{BLOG}/post", "d": BLOG}).status_code == 202
    assert len(site.rows("blog", event=name)) == 1
    assert site.rows("shop", event=name) == []


def test_bots_are_answered_202_and_left_out_of_reads(site: Site) -> None:
    name = _name("crawl")
    r = site.post({"n": name, "u": f"https://{SHOP}/", "d": SHOP}, ua=GOOGLEBOT)
    assert (r.status_code, r.text) == (202, "ok")
    assert _count(site, "shop", name) == 0
    assert _count(site, "shop", name, include_bots="true") == 1


def test_unknown_domains_are_counted_in_metrics(site: Site) -> None:
    def dropped() -> float:
        text = httpx.get(site.server.url + "/metrics").text
        line = next((ln for ln in text.splitlines() if ln.startswith("footfall_edge_drops_total{") and 'dialect="plausible"' in ln), None)
        return float(line.rsplit(" ", 1)[1]) if line else 0.0

    before = dropped()
    r = site.post({"n": "pageview", "u": "https://nobody.example/", "d": "nobody.example,nobody2.example"})
    assert (r.status_code, r.text, r.headers["x-plausible-dropped"]) == (202, "ok", "2")
    assert dropped() == before + 2


def test_rate_limited_in_plausibles_envelope_with_retry_after(site: Site) -> None:
    event = {"n": _name("limited"), "u": f"https://{LIMITED}/", "d": LIMITED}
    assert site.post(event).status_code == 202
    r = site.post(event)
    assert r.status_code == 429
    assert r.json() == {"errors": {"request": ["too many requests, slow down"]}}
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["access-control-allow-origin"] == "*"
    assert len(site.rows("limited", event=event["n"])) == 1


def test_a_body_over_1_mb_is_refused_in_the_envelope(site: Site) -> None:
    r = site.post('{"n": "big", "u": "https://shop.example/", "p": {"k": "' + "x" * 1_000_100 + '"}}')
    assert r.status_code == 413
    assert list(r.json()["errors"]) == ["request"]


def test_browsers_get_cors_answers_and_preflights(site: Site) -> None:
    with httpx.Client(base_url=site.server.url) as c:
        pre = c.options("/api/event", headers={"origin": "https://shop.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "*"
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert "content-type" in pre.headers["access-control-allow-headers"].lower()
    r = site.post({"n": _name("cors"), "u": f"https://{SHOP}/", "d": SHOP}, origin="https://shop.example")
    assert r.headers["access-control-allow-origin"] == "*"


def test_the_visitor_is_the_cookieless_daily_id_and_x_forwarded_for_needs_a_trusted_proxy(site: Site) -> None:
    # No FOOTFALL_TRUSTED_PROXIES here: a forwarded address from 127.0.0.1 is not believed, so
    # both events are one visitor (the peer's address and the User-Agent).
    name = _name("server_side")
    ua = f"{CHROME} visitor/{uuid.uuid4().hex[:6]}"
    for forwarded in ("81.2.69.160", "203.0.113.9"):
        r = site.post({"n": name, "u": f"https://{SHOP}/", "d": SHOP}, ua=ua, **{"x-forwarded-for": forwarded})
        assert r.status_code == 202
    rows = site.rows("shop", event=name)
    assert len(rows) == 2 and rows[0]["anonymous_id"] == rows[1]["anonymous_id"]
    assert rows[0]["anonymous_id"].startswith("anon_") and rows[0]["event_id"] is None
    other = site.post({"n": name, "u": f"https://{SHOP}/", "d": SHOP}, ua=CHROME + " other")
    assert other.status_code == 202
    assert len({r["anonymous_id"] for r in site.rows("shop", event=name)}) == 2


def test_a_plausible_event_never_needs_or_takes_a_key(site: Site) -> None:
    sk = site.projects["blog"]["keys"]["sk_live"]
    name = _name("with_key")
    r = site.post({"n": name, "u": f"https://{SHOP}/", "d": SHOP}, authorization=f"Bearer {sk}")
    assert r.status_code == 202
    # The domain chose the project, not the key.
    assert len(site.rows("shop", event=name)) == 1 and site.rows("blog", event=name) == []


def test_the_route_is_in_openapi_without_a_key(site: Site) -> None:
    op = httpx.get(site.server.url + "/openapi.json").json()["paths"]["/api/event"]["post"]
    assert "security" not in op and op["tags"] == ["plausible"]
    assert op["responses"]["202"]["content"] == {"text/plain": {"schema": {"type": "string"}}}
    assert op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("plausible.schema.ErrorBody")
