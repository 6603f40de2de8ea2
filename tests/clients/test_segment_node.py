"""@segment/analytics-node, pinned from npm, under Node.js against a real Footfall server.

Its host option points at Footfall (`path: /segment/v1/batch`); its first upload is stored but
answered 503 on the way back, so its retry must be deduplicated by `messageId`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from typing import Any

import pytest

from tests.clients.segment_support import Recorder
from tests.support.packages import npm_install
from tests.support.server import Server

SCRIPT = r"""
const { Analytics } = require('@segment/analytics-node');
const [host, key, idsJson] = process.argv.slice(1);
const ids = JSON.parse(idsJson);
const errors = [];
const analytics = new Analytics({ writeKey: key, host, path: '/segment/v1/batch', flushInterval: 50 });
analytics.on('error', (e) => errors.push(String((e && (e.reason || e.message)) || e)));
const page = { url: 'https://shop.example/pricing?utm_source=google&utm_medium=cpc&utm_campaign=brand', path: '/pricing' };
analytics.page({ anonymousId: ids.anon, name: 'Pricing', properties: page });
analytics.track({ anonymousId: ids.anon, event: 'trial_started', properties: { plan: 'team', seats: 5 }, context: { page } });
analytics.screen({ anonymousId: ids.anon, name: 'Dashboard' });
analytics.identify({ anonymousId: ids.anon, userId: ids.user, traits: { email: 'grace@example.com' } });
analytics.alias({ previousId: ids.old, userId: ids.user });
analytics.group({ userId: ids.user, groupId: 'acme', traits: { employees: 40 } });
analytics.closeAndFlush({ timeout: 20000 }).then(() => console.log(JSON.stringify({ errors })));
"""


def _rows(server: Server, **params: Any) -> list[dict[str, Any]]:
    return list(reversed(server.query(server.keys["rk_live"], **params)))


def test_analytics_node_events_arrive_once_attributed_and_stitched(server: Server) -> None:
    if shutil.which("node") is None:
        pytest.skip("no node on this machine")
    folder = npm_install("@segment/analytics-node@3.1.0")
    ids = {"anon": f"anon_{uuid.uuid4().hex[:12]}", "old": f"old_{uuid.uuid4().hex[:12]}",
           "user": f"user_{uuid.uuid4().hex[:12]}"}
    with Recorder(server.url, lose=1) as recorder:
        proc = subprocess.run(
            ["node", "-e", SCRIPT, recorder.url, server.keys["sk_live"], json.dumps(ids)],
            cwd=folder, capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"errors": []}
    path, headers, _ = recorder.seen[0]
    assert path == "/segment/v1/batch" and headers["authorization"].startswith("Basic ")
    assert len(recorder.seen) >= 2 and all(status == 200 for _, _, status in recorder.seen)

    events = {r["event_name"]: r for r in _rows(server, anonymous_id=ids["anon"])}
    assert sorted(events) == ["$identify", "$pageview", "$screen", "trial_started"]  # each once
    assert len(_rows(server, anonymous_id=ids["anon"])) == 4
    for name in ("$pageview", "trial_started"):
        assert (events[name]["source"], events[name]["medium"], events[name]["campaign"]) == ("google", "paid", "brand")
        assert events[name]["path"] == "/pricing"
    assert json.loads(events["trial_started"]["properties"]) == {"plan": "team", "seats": 5}
    assert json.loads(events["$screen"]["properties"]) == {"$screen_name": "Dashboard"}
    by_user = sorted(r["event_name"] for r in _rows(server, user_id=ids["user"]))
    assert by_user == ["$groupidentify", "$identify", "$pageview", "$screen", "trial_started"]
