"""Engagement events: time on a page and scroll depth kept, visit duration covers the last page."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.dialects.plausible.conftest import CHROME, SHOP, Site


def _visitor() -> str:
    return f"{CHROME} engaged/{uuid.uuid4().hex[:8]}"


def test_engagement_moves_the_visits_end_but_a_one_page_visit_stays_a_bounce(site: Site) -> None:
    ua = _visitor()
    page = f"https://{SHOP}/article-{uuid.uuid4().hex[:6]}"
    assert site.post({"n": "pageview", "u": page, "d": SHOP}, ua=ua).status_code == 202
    assert site.post({"n": "engagement", "u": page, "d": SHOP, "sd": 80, "e": 12000}, ua=ua).status_code == 202
    view = next(r for r in site.rows(event="$pageview") if r["url"] == page)
    engaged = next(r for r in site.rows(event="$engagement") if r["url"] == page)
    assert engaged["session_id"] == view["session_id"]
    assert json.loads(engaged["properties"]) == {"$scroll_depth": 80, "$engaged_ms": 12000}
    sessions = site.get("shop", "/v1/sessions", anonymous_id=view["anonymous_id"])["rows"]
    (session,) = [s for s in sessions if s["session_id"] == view["session_id"]]
    # Without the engagement event this visit would end where it began (duration 0).
    assert session["start"] == view["timestamp"] and session["end"] == engaged["timestamp"]
    assert session["duration_s"] > 0
    assert (session["pageviews"], session["events"], session["bounce"]) == (1, 1, True)
    assert session["exit_path"] == view["path"]


def test_engagement_without_an_open_visit_is_answered_and_not_stored(site: Site) -> None:
    page = f"https://{SHOP}/orphan-{uuid.uuid4().hex[:6]}"
    r = site.post({"n": "engagement", "u": page, "d": SHOP, "e": 4000}, ua=_visitor())
    assert (r.status_code, r.text) == (202, "ok")
    assert [r for r in site.rows(event="$engagement") if r["url"] == page] == []
    metrics = httpx.get(site.server.url + "/metrics").text
    assert 'footfall_pipeline_drops_total{reason="no_session"}' in metrics
