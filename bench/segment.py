"""The Segment adapter's cost: batches of 100 varied events through `/segment/v1/batch` beside
Millimetric's `/v1/batch` with the same events, same server, same run.

    .venv/bin/python bench/segment.py [--seconds 5] [--connections 16] [--repeat 3]

Needs `wrk`. One Footfall server on a fresh data directory with one project per dialect (so the
stored counts can be read apart); wrk alternates Millimetric and Segment `--repeat` times and the
median of each is reported. A 2xx means the batch is durable and visible to the next read, so
2xx/s x 100 is events stored and visible per second; afterwards the stores are counted to show
every acknowledged event is there. Segment items carry no `messageId`, like Millimetric's carry
no `event_id`, so wrk's repeated body stores every time on both sides (with ids, a replay is
deduplicated, which would flatter neither). Target: Segment >= 0.9x Millimetric.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _results import save  # noqa: E402
from ingest import UA, batch_body, wrk  # noqa: E402
from tests.support.server import Server, cli  # noqa: E402


def segment_body(n: int) -> dict[str, object]:
    """Millimetric's benchmark batch as Segment messages: page views as `page` with their URL in
    `properties`, the rest as `track` with `context.page`, and a batch-level context."""
    batch = []
    for i, e in enumerate(batch_body(n)["events"]):  # type: ignore[attr-defined]
        page = {"url": e["url"], "referrer": e["referrer"]}
        if e["event"] == "$pageview":
            batch.append({"type": "page", "anonymousId": e["anonymous_id"], "properties": {**page, **e["properties"]}})
        elif i % 2:
            batch.append({"type": "track", "event": e["event"], "anonymousId": e["anonymous_id"],
                          "properties": e["properties"], "context": {"page": page}})
        else:
            batch.append({"type": "screen", "name": f"Screen {i % 7}", "anonymousId": e["anonymous_id"],
                          "properties": e["properties"], "context": {"page": page}})
    return {"batch": batch, "context": {"library": {"name": "bench", "version": "1"}}}


def lua(headers: dict[str, str], body: object) -> Path:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    payload = json.dumps(body).replace("\\", "\\\\").replace("'", "\\'")
    script.write_text('wrk.method = "POST"\n' + "\n".join(lines) + f"\nwrk.body = '{payload}'\n")
    return script


def stored(srv: Server, rk: str) -> int:
    params = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "metric": "count", "include_bots": "true"}
    r = httpx.get(srv.url + "/v1/stats", params=params, headers={"Authorization": f"Bearer {rk}"}, timeout=60)
    r.raise_for_status()
    return int(sum(row["value"] for row in r.json()["rows"]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    common = {"Content-Type": "application/json", "User-Agent": UA}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        projects = {name: json.loads(cli(data, "project", "create", name, "--json").stdout)["keys"]
                    for name in ("millimetric", "segment")}
        mm_key, seg_key = projects["millimetric"]["sk_live"], projects["segment"]["sk_live"]
        basic = base64.b64encode(f"{seg_key}:".encode()).decode()
        sides = {
            "millimetric /v1/batch": ("/v1/batch", lua({**common, "Authorization": f"Bearer {mm_key}"}, batch_body(100))),
            "segment /segment/v1/batch": ("/segment/v1/batch", lua({**common, "Authorization": f"Basic {basic}"}, segment_body(100))),
        }
        srv = Server(data, env={"FOOTFALL_RATE_LIMITS": "off"}).start()
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        acked: dict[str, float] = dict.fromkeys(sides, 0.0)
        try:
            for _ in range(args.repeat):  # alternate: drift on the machine hits both sides
                for name, (path, script) in sides.items():
                    r = wrk(srv.url + path, script, args.seconds, args.connections)
                    samples[name].append(r)
                    acked[name] += r["rps"] * args.seconds * 100
            counts = {name: stored(srv, projects[name.split()[0]]["rk_live"]) for name in sides}
        finally:
            srv.stop()
    results = {}
    for name, runs in samples.items():
        ordered = sorted(runs, key=lambda r: r["rps"])
        results[name] = {**ordered[len(ordered) // 2], "rps_all": [r["rps"] for r in runs]}
    print(f"medians of {args.repeat} alternating runs of {args.seconds} s, {args.connections} connections")
    print(f"{'run':28} {'batches/s':>10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'stored':>9} {'~acked':>9}")
    for name, r in results.items():
        print(f"{name:28} {r['rps']:10.1f} {r['rps'] * 100:10.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {counts[name]:9d} {acked[name]:9.0f}")
    ratio = results["segment /segment/v1/batch"]["rps"] / results["millimetric /v1/batch"]["rps"]
    print(f"segment / millimetric: {ratio:.2f}x (target >= 0.90x)")
    save("segment", {"seconds": args.seconds, "repeat": args.repeat, "connections": args.connections,
                     "results": results, "stored": counts, "ratio": ratio})


if __name__ == "__main__":
    main()
