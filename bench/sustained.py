"""Sustained durable ingestion: varied, high-cardinality `/v1/batch` traffic until it is visible.

    .venv/bin/python bench/sustained.py [--seconds 30] [--connections 16] [--batch 100]

What users get from a server is not the rate it acknowledges bursts at but the rate at which
events become stored *and visible to reads*. This loads a bare ASGI ceiling (read body, msgspec
decode, 202) and a real Footfall server (fresh data directory, durable: every 2xx is fsynced)
with the same generated traffic through wrk, then asks `/v1/stats` for the count, which waits
until the loader has applied everything acknowledged. The sustained rate is that count divided
by the time from the first request until the read returned.

The traffic is never a repeated payload: a wrk Lua script fills templates per request with a
unique request number (event ids, click ids and URL paths never repeat) and a visitor group
(2,000 groups x 100 positions = 200,000 visitors, each returning every ~2,000 requests, so
sessions span store transactions). After the sustained run, an overload run offers twice the
connections (503s allowed) and the server's peak RSS over the whole process life is reported.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import UA, parse_wrk  # noqa: E402

VISITOR_GROUPS = 2000
_TEMPLATES = 16
_REQ = "@R@"  # replaced by the request's unique number
_GROUP = "@G@"  # replaced by the request's visitor group

_PATHS = ["/", "/pricing", "/blog/launch", "/docs/start", "/p/shoes", "/p/hats", "/cart", "/about"]
_REFERRERS = [
    "https://www.google.com/", "https://t.co/x", "", "https://news.ycombinator.com/",
    "https://www.facebook.com/", "https://duckduckgo.com/", "https://www.bing.com/search?q=x",
    "https://l.instagram.com/", "https://mail.google.com/",
]
# Campaigns as sites run them: each has its own source, medium and click id parameter, so
# the tags repeat across visits while every click id value is new.
_CAMPAIGNS = [
    (source, medium, f"{source}-{n}", click)
    for source, medium, click in [
        ("google", "cpc", "gclid"), ("facebook", "paid_social", "fbclid"), ("bing", "cpc", "msclkid"),
        ("newsletter", "email", "mc_eid"), ("tiktok", "paid_social", "ttclid"), ("partner", "referral", "irclickid"),
    ]
    for n in range(10)
]
_NAMES = ["$pageview"] * 6 + ["signup", "add_to_cart", "purchase", "search"]


def template(seed: int, n: int) -> str:
    """One batch body with placeholders for the request number and the visitor group."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        name = rng.choice(_NAMES)
        path = rng.choice(_PATHS)
        query = ""
        if rng.random() < 0.6:
            source, medium, campaign, click = rng.choice(_CAMPAIGNS)
            query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}&{click}=k{_REQ}x{i}"
        event: dict[str, object] = {
            "event": name,
            "event_id": f"e{_REQ}x{i}",
            "anonymous_id": f"v{_GROUP}x{i}",
            "url": f"https://shop{seed % 3}.example{path}/{_REQ}{query}",
            "referrer": rng.choice(_REFERRERS),
            "properties": {"i": i, "plan": rng.choice(["free", "pro", "team"])},
        }
        if name == "purchase":
            event["properties"] = {"amount_cents": rng.randrange(100, 90000), "currency": "EUR"}
        if rng.random() < 0.05:
            event["user_id"] = f"user{_GROUP}x{i}"
        events.append(event)
    return json.dumps({"events": events}, separators=(",", ":"))


def lua_script(path: str, key: str | None, batch: int) -> Path:
    """A wrk script whose every request carries a distinct body (across scripts too)."""
    run = secrets.token_hex(4)
    bodies = []
    for t in range(_TEMPLATES):
        body = template(t, batch)
        pieces = re.split(f"({_REQ}|{_GROUP})", body)
        parts, kinds = pieces[0::2], ["1" if k == _REQ else "2" for k in pieces[1::2]]
        lua_parts = ",".join(f"[==[{p}]==]" for p in parts)
        bodies.append(f"{{parts={{{lua_parts}}},kinds={{{','.join(kinds)}}}}}")
    headers = {"Content-Type": "application/json", "User-Agent": UA}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    header_lua = ",".join(f'["{k}"]="{v}"' for k, v in headers.items())
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f"""
local templates = {{{",".join(bodies)}}}
local headers = {{{header_lua}}}
local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end
local counter = 0
request = function()
  counter = counter + 1
  local t = templates[(counter % #templates) + 1]
  local unique = "{run}" .. tostring(tid) .. "r" .. tostring(counter)
  local group = tostring((counter * 7 + tid) % {VISITOR_GROUPS})
  local buf = {{}}
  local parts, kinds = t.parts, t.kinds
  for j = 1, #parts do
    buf[#buf + 1] = parts[j]
    local k = kinds[j]
    if k == 1 then buf[#buf + 1] = unique elseif k == 2 then buf[#buf + 1] = group end
  end
  return wrk.format("POST", "{path}", headers, table.concat(buf))
end
""")
    return script


def visible(url: str, rk: str) -> int:
    """Events visible to /v1/stats (the read waits until everything acknowledged is applied)."""
    params = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "metric": "count",
              "include_bots": "true"}
    r = httpx.get(url + "/v1/stats", params=params, headers={"Authorization": f"Bearer {rk}"}, timeout=300)
    r.raise_for_status()
    return int(sum(row["value"] for row in r.json()["rows"]))


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> str:
    return subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sustained(url: str, key: str, rk: str, seconds: int, connections: int, batch: int, pid: int) -> dict[str, float]:
    """Load, then read until visible: stored events per second from the first request, and the
    server's CPU time per stored event (steadier than the rate on a shared machine)."""
    before = visible(url, rk)
    script = lua_script("/v1/batch", key, batch)
    cpu0 = cpu_seconds(pid)
    t0 = time.monotonic()
    out = run_wrk(url + "/v1/batch", script, seconds, connections)
    t_load = time.monotonic() - t0
    stored = visible(url, rk) - before
    elapsed = time.monotonic() - t0
    r = parse_wrk(out)
    return {
        "events_visible_per_s": stored / elapsed, "events_visible": stored, "seconds_to_visible": elapsed,
        "server_cpu_us_per_event": (cpu_seconds(pid) - cpu0) / max(1, stored) * 1e6,
        "seconds_loaded": t_load, "acked_events_per_s": r["rps"] * batch, "p50_ms": r["p50_ms"],
        "p99_ms": r["p99_ms"], "non_2xx": r["non_2xx"],
    }


def ceiling(url: str, seconds: int, connections: int, batch: int) -> dict[str, float]:
    r = parse_wrk(run_wrk(url + "/v1/batch", lua_script("/v1/batch", None, batch), seconds, connections))
    return {"events_per_s": r["rps"] * batch, "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"]}
