"""`/session/show` and `/event/show`: pagination edges, sort order, caps; `/attributes` merge vs
replace. Runs in a project of its own so project-wide totals are exact."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from tests.dialects.atrack.conftest import init, post
from tests.support.server import Server


def track(server: Server, key: str, uuid: str, name: str, minute: int, **attrs: Any) -> None:
    r = post(server, key, "/event", {
        "uuid": uuid, "event": name, "attributes": attrs,
        "timestamp": f"2020-04-12T02:{minute:02d}:00Z",
    })
    assert r.status_code == 200, r.text


def show(server: Server, key: str, **body: Any) -> dict[str, Any]:
    r = post(server, key, "/event/show", body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def test_event_show_pagination(server: Server, project: dict[str, Any]) -> None:
    sk, rk = project["keys"]["sk_live"], project["keys"]["rk_live"]
    name = "paged_" + uuidlib.uuid4().hex[:8]
    uuid = init(server, sk)
    for minute in range(7):
        track(server, sk, uuid, name, minute, n=minute)

    first = show(server, rk, name=name, per_page=3)
    assert [row["attributes"]["n"] for row in first["data"]] == [6, 5, 4]  # desc by default
    assert first["meta"] == {
        "name": name, "sort": "desc", "per_page": 3, "current_page": 1, "last_page": 3,
        "from": 1, "to": 3, "total": 7,
    }
    last = show(server, rk, name=name, per_page=3, page=3)
    assert [row["attributes"]["n"] for row in last["data"]] == [0]
    assert (last["meta"]["from"], last["meta"]["to"], last["meta"]["last_page"]) == (7, 7, 3)
    beyond = show(server, rk, name=name, per_page=3, page=4)
    assert beyond["data"] == []
    assert beyond["meta"] == {
        "name": name, "sort": "desc", "per_page": 3, "current_page": 4, "last_page": 3,
        "from": None, "to": None, "total": 7,
    }
    ascending = show(server, rk, name=name, per_page=3, page=2, sort="asc")
    assert [row["attributes"]["n"] for row in ascending["data"]] == [3, 4, 5]
    assert ascending["meta"]["sort"] == "asc"
    # defaults: page 1, 25 per page
    default = show(server, rk, name=name)
    assert (default["meta"]["per_page"], default["meta"]["current_page"], len(default["data"])) == (25, 1, 7)
    # per_page above 100 is capped (the answer says so)
    capped = show(server, rk, name=name, per_page=5000)
    assert capped["meta"]["per_page"] == 100 and len(capped["data"]) == 7


def test_event_show_empty_and_project_wide(server: Server, project: dict[str, Any]) -> None:
    sk, rk = project["keys"]["sk_live"], project["keys"]["rk_live"]
    empty = show(server, rk, name="never_" + uuidlib.uuid4().hex[:8])
    assert empty["data"] == []
    assert empty["meta"]["total"] == 0 and empty["meta"]["last_page"] == 1
    assert (empty["meta"]["from"], empty["meta"]["to"]) == (None, None)
    # without a name every event of the project (and environment) is listed
    before = show(server, rk, per_page=1)["meta"]["total"]
    uuid = init(server, sk)
    track(server, sk, uuid, "anything", 1)
    after = show(server, rk, per_page=100)
    assert after["meta"]["total"] == before + 1  # the event; the init's `$init` stays hidden
    assert after["meta"]["name"] is None
    names = {row["name"] for row in after["data"]}
    assert "anything" in names and "$init" not in names
    # asked for by name, `$init` (Footfall's bookkeeping, not an A-TRACK event) is still hidden
    hidden = show(server, rk, name="$init")
    assert hidden["data"] == [] and hidden["meta"]["total"] == 0
    # /v1/query still sees it
    assert [row["event_name"] for row in server.query(rk, event="$init", anonymous_id=uuid)] == ["$init"]
    # another project never sees them
    other = show(server, server.keys["rk_live"], name="anything")
    assert all(row["uuid"] != uuid for row in other["data"])


def test_session_show_events_limit_and_sort(server: Server, project: dict[str, Any]) -> None:
    sk = project["keys"]["sk_live"]
    uuid = init(server, sk)
    for minute in range(4):
        track(server, sk, uuid, "step", minute, n=minute)
    r = post(server, sk, "/session/show", {"uuid": uuid, "events_limit": 2, "sort": "asc"})
    data = r.json()["data"]
    assert [e["attributes"].get("n") for e in data["events"]] == [0, 1]
    assert data["meta"] == {"uuid": uuid, "events_limit": 2, "events_count": 2, "sort": "asc"}
    r = post(server, sk, "/session/show", {"uuid": uuid, "events_limit": 2})
    assert [e["attributes"]["n"] for e in r.json()["data"]["events"]] == [3, 2]  # newest first
    r = post(server, sk, "/session/show", {"uuid": uuid, "events_limit": 99999})
    data = r.json()["data"]
    assert (data["meta"]["events_limit"], data["meta"]["events_count"]) == (1000, 4)  # no `$init`
    assert {e["name"] for e in data["events"]} == {"step"}


def test_attributes_merge_then_replace(server: Server, project: dict[str, Any]) -> None:
    sk, rk = project["keys"]["sk_live"], project["keys"]["rk_live"]
    uuid = init(server, sk, {"context": {"user": {"attributes": {"plan": "free", "a": 1}}}})

    def attributes() -> dict[str, Any]:
        got: dict[str, Any] = post(server, rk, "/session/show", {"uuid": uuid}).json()["data"]["attributes"]
        return got

    assert attributes() == {"plan": "free", "a": 1}
    r = post(server, sk, "/attributes", {"uuid": uuid, "attributes": {"plan": "pro", "custom_flags": {"beta": True}}})
    assert r.status_code == 200 and r.json() == {"success": True, "uuid": uuid, "queued": False}
    assert attributes() == {"plan": "pro", "a": 1, "custom_flags": {"beta": True}}
    r = post(server, sk, "/attributes", {"uuid": uuid, "attributes": {"crm_id": "lead_2048"}, "replace": True})
    assert r.status_code == 200
    assert attributes() == {"crm_id": "lead_2048"}
    post(server, sk, "/attributes", {"uuid": uuid, "attributes": {}, "replace": True})
    assert attributes() == {}
    # the init-time user attributes stay as the init sent them
    session = post(server, rk, "/session/show", {"uuid": uuid}).json()["data"]["session"]
    assert session["user_attributes"] == {"plan": "free", "a": 1}
    assert session["created_at"] <= session["updated_at"]
