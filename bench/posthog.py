"""PostHog capture beside Millimetric `/v1/batch`, same server, same run: events stored and
visible per second.

    .venv/bin/python bench/posthog.py [--seconds 8] [--connections 16] [--repeat 3]

Both sides send batches of 100 varied events (pageviews with utm tags and click ids, signups,
purchases; many visitors) with wrk on 127.0.0.1: Millimetric as JSON to `/v1/batch`, PostHog
as posthog-js sends them, raw gzip as `text/plain` to `/e/?compression=gzip-js` (decompression,
token lookup and mapping included), once with the same information as the Millimetric events
(the adapter's cost: both store the same rows) and once with the properties posthog-js adds
(`posthog+sdk`: bigger rows, so more work for the WAL and the store too). After each wrk run one read waits until the store has
applied everything acknowledged, so a figure is events that are stored *and visible*, per
second of load plus catch-up. Runs alternate between the sides `--repeat` times; the medians are
compared (target: the adapter within 15% of Millimetric). Writes `bench/results/posthog-*.json`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import save  # noqa: E402
from ingest import UA, batch_body, wrk  # noqa: E402
from tests.support.server import Server  # noqa: E402


def posthog_batch(n: int, token: str, sdk_props: bool = False) -> list[dict[str, object]]:
    """The events of `batch_body(n)` as posthog-js sends them, carrying the same information
    (so both sides store the same rows and only the adapter differs); `sdk_props` adds what
    posthog-js adds besides (`$lib`, `$device_id`, `$session_id`, ...), stored as properties.
    No `timestamp`: a replayed body would freeze it in the past, so both sides' events are
    stamped on receipt."""
    out = []
    for i, e in enumerate(batch_body(n)["events"]):  # type: ignore[union-attr]
        url = str(e["url"])  # type: ignore[index]
        props: dict[str, object] = {
            "distinct_id": e["anonymous_id"], "token": token, "$current_url": url,  # type: ignore[index]
            "$pathname": "/p/" + url.split("/p/")[1].split("?")[0],
            "$referrer": e["referrer"] or "$direct", **e["properties"],  # type: ignore[index, dict-item]
        }
        if sdk_props:
            props |= {"$device_id": e["anonymous_id"], "$session_id": f"s_{i % 97}",  # type: ignore[index]
                      "$is_identified": False, "$process_person_profile": False,
                      "$lib": "web", "$lib_version": "1.449.2", "$browser": "Safari",
                      "$os": "iOS", "$screen_height": 844, "$screen_width": 390}
        out.append({"event": e["event"], "properties": props})  # type: ignore[index]
    return out


def lua_bytes(path: str, body: bytes, headers: dict[str, str]) -> Path:
    """A wrk script posting `body` (binary-safe: every byte as a Lua decimal escape)."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    escaped = "".join(f"\\{b}" for b in body)
    lines = ['wrk.method = "POST"', f'wrk.path = "{path}"', f'wrk.body = "{escaped}"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    return script


def stored(srv: Server, key: str) -> int:
    """Every event stored so far (the read waits for the store to apply all acknowledged)."""
    r = httpx.get(srv.url + "/v1/stats", headers={"Authorization": f"Bearer {key}"}, timeout=120,
                  params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z",
                          "metric": "count", "include_bots": "true"})
    r.raise_for_status()
    return int(sum(row["value"] for row in r.json()["rows"]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    samples: dict[str, list[dict[str, float]]] = {"millimetric": [], "posthog": [], "posthog+sdk": []}
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "data", env={"FOOTFALL_RATE_LIMITS": "off"}).start()
        try:
            sk, rk = srv.keys["sk_live"], srv.keys["rk_live"]
            mm_body = json.dumps(batch_body(100)).encode()
            ph = {"posthog": gzip.compress(json.dumps(posthog_batch(100, sk)).encode()),
                  "posthog+sdk": gzip.compress(json.dumps(posthog_batch(100, sk, True)).encode())}
            scripts = {
                "millimetric": lua_bytes("/v1/batch", mm_body, {
                    "Content-Type": "application/json", "User-Agent": UA, "Authorization": f"Bearer {sk}"}),
                **{side: lua_bytes("/e/?compression=gzip-js&ver=1.449.2", body, {
                    "Content-Type": "text/plain", "User-Agent": UA}) for side, body in ph.items()},
            }
            for _ in range(args.repeat):
                for side, script in scripts.items():
                    before = stored(srv, rk)
                    t0 = time.monotonic()
                    load = wrk(srv.url + "/", script, args.seconds, args.connections)
                    after = stored(srv, rk)
                    elapsed = time.monotonic() - t0
                    samples[side].append({**load, "visible_events_per_s": (after - before) / elapsed,
                                          "acknowledged_events_per_s": load["rps"] * 100})
        finally:
            srv.stop()
    medians = {side: statistics.median(s["visible_events_per_s"] for s in runs) for side, runs in samples.items()}
    ratio = medians["posthog"] / medians["millimetric"]
    print(f"batches of 100 events, {args.connections} connections, medians of {args.repeat} alternating runs of {args.seconds} s")
    print(f"{'side':12} {'visible ev/s':>13} {'acked ev/s':>11} {'p50 ms':>8} {'p99 ms':>8}  visible ev/s per run")
    for side, runs in samples.items():
        mid = sorted(runs, key=lambda r: r["visible_events_per_s"])[len(runs) // 2]
        each = ", ".join(f"{r['visible_events_per_s']:.0f}" for r in runs)
        print(f"{side:12} {medians[side]:13.0f} {mid['acknowledged_events_per_s']:11.0f} {mid['p50_ms']:8.1f} {mid['p99_ms']:8.1f}  {each}")
    print(f"PostHog (raw gzip, /e/) / Millimetric /v1/batch, same rows stored: {ratio:.2f} (target >= 0.85)")
    print(f"with posthog-js's own properties stored too: {medians['posthog+sdk'] / medians['millimetric']:.2f}")
    save("posthog", {"seconds": args.seconds, "connections": args.connections, "repeat": args.repeat,
                     "samples": samples, "medians": medians, "ratio": ratio})


if __name__ == "__main__":
    main()
