"""segment-analytics-python 2.3.x (write key only in the body) and 2.4.x (Basic), and
rudder-sdk-python (gzip by default), pinned from PyPI, against a real Footfall server.

Each SDK runs in its own process with only its own install on the path. Its first upload is
stored by Footfall but answered 503 on the way back, so the SDK's retry must be deduplicated by
`messageId`: every event is stored once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from tests.clients.segment_support import Recorder
from tests.support.packages import pip_target
from tests.support.server import Server

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
LANDING = "https://shop.example/landing?utm_source=newsletter&utm_medium=email&utm_campaign=may"

SCRIPT = r"""
import json, sys
kind, host, key, ids = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if kind == "rudder":
    from rudderstack.analytics.client import Client
else:
    from segment.analytics.client import Client
errors = []
client = Client(write_key=key, host=host, on_error=lambda e, batch: errors.append(repr(e)),
                max_retries=5)
anon, old, user, clicker = ids["anon"], ids["old"], ids["user"], ids["clicker"]
visitor = {"ip": "81.2.69.160", "userAgent": ids["ua"]}
client.page(anonymous_id=anon, name="Landing", properties={"url": ids["landing"]},
            context={"page": {"path": "/landing", "referrer": "https://mail.example/"}, **visitor})
client.page(anonymous_id=old, name="Old device", context={"page": {"url": "https://shop.example/old"}})
client.track(anonymous_id=clicker, event="ad_click",
             context={"campaign": {"name": "spring", "source": "facebook", "medium": "cpc"}})
client.track(anonymous_id=anon, event="signup_started", properties={"plan": "pro"})
client.identify(user_id=user, anonymous_id=anon, traits={"email": "ada@example.com"})
client.alias(previous_id=old, user_id=user)
client.group(user_id=user, group_id="acme", traits={"plan": "team"})
client.track(user_id=user, event="purchase", properties={"amount_cents": 4900})
client.flush()
print(json.dumps({"errors": errors}))
"""

SDKS = {
    # (requirement, import kind, path prefix on the host, what its requests carry)
    "segment-2.3": ("segment-analytics-python==2.3.6", "segment", "", "no auth header"),
    "segment-2.4": ("segment-analytics-python==2.4.0", "segment", "/segment", "basic"),
    "rudder": ("rudder-sdk-python==2.1.9", "rudder", "", "basic+gzip"),
}


def _uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _rows(server: Server, **params: Any) -> list[dict[str, Any]]:
    return list(reversed(server.query(server.keys["rk_live"], **params)))


@pytest.mark.parametrize("sdk", SDKS)
def test_python_sdk_events_are_stored_once_stitched_and_attributed(server: Server, sdk: str) -> None:
    requirement, kind, prefix, carries = SDKS[sdk]
    target = pip_target(requirement)
    ids = {"anon": _uid("anon"), "old": _uid("old"), "user": _uid("user"), "clicker": _uid("click"),
           "ua": IPHONE, "landing": LANDING}
    with Recorder(server.url, lose=1) as recorder:
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, kind, recorder.url + prefix, server.keys["sk_live"], json.dumps(ids)],
            env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"errors": []}

    # What the SDK put on the wire, as the spec says it does.
    path, headers, _ = recorder.seen[0]
    assert path == f"{prefix}/v1/batch"
    assert ("authorization" in headers) == (carries != "no auth header")
    if "basic" in carries:
        assert headers["authorization"].startswith("Basic ")
    assert (headers.get("content-encoding") == "gzip") == ("gzip" in carries)
    assert [status for _, _, status in recorder.seen] == [200] * len(recorder.seen)
    assert len(recorder.seen) >= 2  # the lost answer was retried

    # Every event once, though the first upload was sent twice.
    anon_rows = _rows(server, anonymous_id=ids["anon"])
    # (sorted: events sent within a millisecond tie on time)
    assert sorted(r["event_name"] for r in anon_rows) == ["$identify", "$pageview", "signup_started"]
    assert len({r["event_id"] for r in anon_rows}) == 3 and all(r["event_id"] for r in anon_rows)
    # The user's events include both devices' anonymous ones (identify and alias stitched them).
    assert sorted(r["event_name"] for r in _rows(server, user_id=ids["user"])) == [
        "$groupidentify", "$identify", "$pageview", "$pageview", "purchase", "signup_started"]

    # Attribution from context.page (the landing URL's utm tags) and from context.campaign.
    (landing,) = (r for r in anon_rows if r["event_name"] == "$pageview")
    assert (landing["source"], landing["medium"], landing["campaign"], landing["path"]) == ("newsletter", "email", "may", "/landing")
    # The server said who the visitor was: an iPhone in Great Britain, not the SDK's host.
    assert (landing["device_type"], landing["country"]) == ("mobile", "GB")
    (click,) = _rows(server, anonymous_id=ids["clicker"])
    assert (click["source"], click["medium"], click["campaign"]) == ("facebook", "paid", "spring")

    # Identity stitched: identify (anon) and alias (old device) both lead to the user.
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.keys['rk_live']}"}) as c:
        r = c.get("/v1/sessions", params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "user_id": ids["user"]})
    assert r.status_code == 200, r.text
    assert {ids["anon"], ids["old"]} <= {s["anonymous_id"] for s in r.json()["rows"]}
