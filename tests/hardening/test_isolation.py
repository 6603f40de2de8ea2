"""No read route of any dialect crosses a project or an environment."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.server import Server

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
RANGE = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}


@pytest.fixture(scope="module")
def marker(server: Server) -> str:
    """Events that exist only in the default project's live environment."""
    name = "iso_" + uuid.uuid4().hex[:8]
    with server.client(server.keys["sk_live"], **{"User-Agent": CHROME}) as c:
        events = [
            {"event": name, "anonymous_id": f"{name}_a", "user_id": f"{name}_u", "timestamp": "2026-03-01T10:00:00Z", "url": "https://s.example/?utm_source=iso"},
            {"event": f"{name}_buy", "anonymous_id": f"{name}_a", "timestamp": "2026-03-01T10:05:00Z", "properties": {"amount_cents": 100}},
        ]
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    return name


def reads(name: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/v1/query", {"event": name}),
        ("/v1/stats", {"event": name}),
        ("/v1/sources", {}),
        ("/v1/sessions", {"anonymous_id": f"{name}_a"}),
        ("/v1/sessions/summary", {"source": "iso"}),
        # An event column: the sessions that had such an event, looked up in the events too.
        ("/v1/sessions/summary", {"source": "iso", "group_by": "entry_path", "path": "/"}),
        ("/v1/funnel", {"steps": f"{name},{name}_buy"}),
        ("/v1/attribution", {"conversion": f"{name}_buy"}),
        ("/v1/attribution", {"conversion": f"{name}_buy", "model": "all"}),
        ("/v1/attribution/paths", {"conversion": f"{name}_buy"}),
        ("/v1/attribution/time_to_convert", {"conversion": f"{name}_buy"}),
        ("/v1/funnel/people", {"steps": f"{name},{name}_buy", "step": "1", "outcome": "converted"}),
        ("/v1/attribution/conversions", {"conversion": f"{name}_buy", "bucket": "0"}),
        ("/v1/attribution/conversions", {"conversion": f"{name}_buy", "model": "linear", "dimension": "source", "key": "iso"}),
    ]


def answered(body: dict[str, Any]) -> int:
    """How many of the marker's events an answer reflects."""
    if "outcome" in body:
        return int(body["total"])
    if "steps" in body:
        return int(body["steps"][0]["people"])
    if "totals" in body:
        return int(body["totals"]["conversions"])
    rows = body["rows"]
    if rows and "value" in rows[0]:
        return int(sum(r["value"] for r in rows))
    if rows and "events" in rows[0]:
        return int(sum(r["events"] for r in rows if r["source"] == "iso"))
    if rows and "bounces" in rows[0]:  # a sessions summary has a row even when it is zero
        return int(sum(r["sessions"] for r in rows))
    return len(rows)


@pytest.mark.parametrize("index", range(len(reads(""))))
def test_reads_see_only_their_own_project_and_environment(server: Server, other_project: dict[str, Any], marker: str, index: int) -> None:
    path, params = reads(marker)[index]
    with server.client(server.keys["rk_live"]) as c:
        own = c.get(path, params={**RANGE, **params})
    assert own.status_code == 200, own.text
    assert answered(own.json()) >= 1, own.json()  # the owner sees it
    for key in (server.keys["rk_test"], server.keys["sk_test"], other_project["keys"]["rk_live"], other_project["keys"]["sk_live"]):
        with server.client(key) as c:
            r = c.get(path, params={**RANGE, **params})
        assert r.status_code == 200, r.text
        assert answered(r.json()) == 0, (path, r.json())


def test_atrack_reads_stay_in_their_project_and_environment(server: Server, other_project: dict[str, Any]) -> None:
    key = server.keys["sk_live"]
    with server.client(None, **{"x-a-track-key": key, "User-Agent": CHROME}) as c:
        r = c.post("/init", json={"context": {"url": {"href": "https://s.example/?utm_source=iso"}}})
        assert r.status_code == 201, r.text
        uuid_ = r.json()["uuid"]
        assert c.post("/event", json={"uuid": uuid_, "event": "iso_atrack"}).status_code == 200
        own = c.post("/event/show", json={"name": "iso_atrack"}).json()
        assert any(row["uuid"] == uuid_ for row in own["data"])
    for other in (server.keys["rk_test"], other_project["keys"]["rk_live"]):
        with server.client(None, **{"x-a-track-key": other}) as c:
            assert c.post("/session/show", json={"uuid": uuid_}).status_code == 404
            rows = c.post("/event/show", json={"name": "iso_atrack"}).json()["data"]
            assert all(row["uuid"] != uuid_ for row in rows)
