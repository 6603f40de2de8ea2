"""Three real nodes behind no balancer at all: the client round-robins, as a load balancer would."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.auth.keys import CACHE_SECONDS
from tests.multinode.conftest import Cluster
from tests.support.server import Server

pytestmark = pytest.mark.slow


def _track(node: Server, key: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    with node.client(key, **headers) as c:
        return c.post("/v1/track", json=body)


def _visits(prefix: str) -> list[dict[str, Any]]:
    """Two visitors' events, minutes apart: gaps over the 30-minute timeout, a late event, an
    ad landing whose attribution the session's later (signal-less) events inherit."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    gaps = [0, 2, 10, 25, 31, 5, 40, 1, 29, 3]
    events, minutes = [], 0
    for i, gap in enumerate(gaps * 2):
        minutes += gap
        visitor = f"{prefix}-{'ab'[i % 2]}"
        ts = start + timedelta(minutes=minutes - (45 if i == 13 else 0))
        body: dict[str, Any] = {
            "event": "page", "event_id": f"{prefix}-e{i}", "anonymous_id": visitor,
            "timestamp": ts.isoformat().replace("+00:00", "Z"), "path": f"/p{i}",
        }
        if i % 7 == 0:
            body["url"] = f"https://shop.example/p{i}?utm_source=news{i}&utm_medium=email"
        events.append(body)
    return events


def _by_event(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        r["event_id"]: (r["session_id"], r["source"], r["medium"], r["source_rule_id"])
        for r in rows
    }


def test_a_visitor_alternating_nodes_gets_the_sessions_of_one_node(
    cluster: Cluster, tmp_path: Path
) -> None:
    prefix = uuid.uuid4().hex[:8]
    events = _visits(prefix)
    sk, rk = cluster.key("sk_live"), cluster.key("rk_live")
    for i, body in enumerate(events):
        assert _track(cluster.nodes[i % 3], sk, body).status_code == 202
    spread: dict[str, tuple[Any, ...]] = {}
    for node in cluster.nodes:  # each node stores (and reads) the events it took
        spread.update(_by_event(node.query(rk, event="page")))

    single = Server(tmp_path / "single", env={"FOOTFALL_META": ""}).start()
    try:
        for body in events:
            assert _track(single, single.keys["sk_live"], body).status_code == 202
        alone = _by_event(single.query(single.keys["rk_live"], event="page"))
    finally:
        single.stop()
    assert len(alone) == len(events) and spread == alone
    sessions = {v[0] for v in alone.values()}
    assert 4 <= len(sessions) < len(events)  # the gaps did split visits
    assert any(v[3] == "session_inherited" for v in alone.values())


def test_cookieless_visitors_get_one_id_on_every_node(cluster: Cluster) -> None:
    """The daily salt is the cluster's: IP + User-Agent map to one visitor id everywhere."""
    ua = f"Mozilla/5.0 (X11; Linux x86_64) Test/{uuid.uuid4().hex[:6]}"
    name = "cookieless_" + uuid.uuid4().hex[:6]
    for node in cluster.nodes:
        assert _track(node, cluster.key("sk_live"), {"event": name}, **{"User-Agent": ua}).status_code == 202
    rows = [r for node in cluster.nodes for r in node.query(cluster.key("rk_live"), event=name)]
    assert len(rows) == 3
    assert len({r["anonymous_id"] for r in rows}) == 1 and rows[0]["anonymous_id"].startswith("anon_")
    assert len({r["session_id"] for r in rows}) == 1


def test_a_screen_is_pristine_once_across_nodes(cluster: Cluster) -> None:
    screen = "Screen_" + uuid.uuid4().hex[:6]
    commands = []
    for node in cluster.nodes * 2:
        with httpx.Client(base_url=node.url, headers={"x-api-key": cluster.key("sk_live")}) as c:
            r = c.post("/api/v1/track", json={
                "event_name": "$screen", "distinct_id": "person_" + uuid.uuid4().hex[:8],
                "properties": {"$screen_name": screen},
            })
        assert r.status_code == 200, r.text
        commands.append(r.json()["commands"])
    assert commands[0] == [{"type": "CAPTURE_PRISTINE", "params": {"screen": screen}}]
    assert commands[1:] == [[]] * 5


def test_a_revoked_key_is_refused_by_every_node_within_the_cache_ttl(cluster: Cluster) -> None:
    made = json.loads(cluster.admin_cli(
        "key", "create", "--project", str(cluster.project["project_id"]), "--kind", "sk", "--json"
    ))
    for node in cluster.nodes:  # every node has verified (and cached) the key
        assert _track(node, made["key"], {"event": "before_revoke"}).status_code == 202
    revoked_at = time.monotonic()
    cluster.admin_cli("key", "revoke", made["prefix"])
    refused_after: dict[int, float] = {}
    while len(refused_after) < 3 and time.monotonic() - revoked_at < CACHE_SECONDS + 5:
        for i, node in enumerate(cluster.nodes):
            if i not in refused_after:
                r = _track(node, made["key"], {"event": "after_revoke"})
                if r.status_code == 401:
                    assert r.json()["error"] == "invalid_api_key"
                    refused_after[i] = time.monotonic() - revoked_at
                else:
                    assert r.status_code == 202
        time.sleep(0.2)  # polling: the condition is the key being refused
    assert sorted(refused_after) == [0, 1, 2], refused_after
    assert max(refused_after.values()) <= CACHE_SECONDS + 1.0


def test_three_nodes_admit_one_budget(cluster: Cluster) -> None:
    """Rate 20/s, burst 20 for the project, shared: three nodes hammered at once for ~2 s admit
    burst + rate x elapsed (±10%), not three times it."""
    project = json.loads(cluster.admin_cli("project", "create", "budget", "--json"))
    pid = project["project_id"]
    cluster.admin_cli("project", "limit", pid, "--route", "track", "--rate", "20", "--burst", "20")
    sk = project["keys"]["sk_live"]
    deadline = time.monotonic() + 10

    def hammer(node: Server, seconds: float) -> tuple[int, int]:
        ok = limited = 0
        end = time.monotonic() + seconds
        with node.client(sk) as c:
            while time.monotonic() < end:
                code = c.post("/v1/track", json={"event": "budget"}).status_code
                ok += code == 202
                limited += code == 429
                assert code in (202, 429), code
        return ok, limited

    while time.monotonic() < deadline:  # a new project: its limit is read on first use
        if all(hammer(n, 0.3)[1] > 0 for n in cluster.nodes):
            break
    else:
        pytest.fail("the limit is not enforced on every node")
    # Empty the shared bucket, then measure from a known state: 0 tokens.
    while hammer(cluster.nodes[0], 0.05)[0] > 0:
        pass
    started = time.monotonic()  # the bucket is empty now, and refills from here

    def timed_hammer(node: Server) -> tuple[int, int, float]:
        ok, limited = hammer(node, 2.0)
        return ok, limited, time.monotonic()

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(timed_hammer, cluster.nodes))
    # Up to the last request's answer, not the pool's end: joining three threads on a loaded
    # machine took ~0.3 s more, in which no request was sent.
    elapsed = max(end for *_, end in results) - started
    admitted = sum(ok for ok, *_ in results)
    expected = 20 * elapsed  # the bucket started empty
    assert all(limited > 0 for _, limited, _ in results)
    assert abs(admitted - expected) <= 0.1 * expected + 1, (admitted, expected, results)



def test_a_share_link_made_on_one_node_opens_and_is_revoked_on_every_node(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Share links live in the shared control plane and are asked for on every request: no
    node caches one, so a revoked link is 404 everywhere at once."""
    import re

    from tests.dashboard.conftest import create_user, login

    monkeypatch.setenv("FOOTFALL_META", cluster.meta)  # `user create` reads the control plane from it
    out = create_user(cluster.admin, "share-admin@example.com", "share-admin-pw-1", "--role", "admin")
    assert out.returncode == 0, out.stderr
    admin = login(cluster.nodes[0], "share-admin@example.com", "share-admin-pw-1")
    page = f"/dashboard/p/{cluster.project['project_id']}/live/share"
    csrf = re.search(r'name="csrf" value="([^"]+)"', admin.get(page).text)
    assert csrf
    made = admin.post(page, data={"csrf": csrf.group(1), "label": "cluster"}, headers={"Origin": cluster.nodes[0].url})
    assert made.status_code == 201
    url = re.search(r'value="[^"]*(/dashboard/share/[^"]+)" data-testid="share-url"', made.text)
    link_id = re.search(r'data-testid="share-created" data-link-id="(shr_[0-9a-f]+)"', made.text)
    assert url and link_id
    for node in cluster.nodes:
        assert httpx.get(node.url + url.group(1)).status_code == 200
    revoked = admin.post(f"{page}/{link_id.group(1)}/revoke", data={"csrf": csrf.group(1)})
    assert revoked.status_code == 303
    for node in cluster.nodes:  # at once: no waiting for any cache
        assert httpx.get(node.url + url.group(1)).status_code == 404
    admin.close()
