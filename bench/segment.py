"""The Segment adapter's cost: batches of 100 events through `/segment/v1/batch` beside
Millimetric's `/v1/batch`, same server, same run.

    .venv/bin/python bench/segment.py [--seconds 5] [--connections 16] [--repeat 3]

Needs `wrk`. One Footfall server on a fresh data directory with one project per side (so the
stored counts can be read apart). Three sides, alternated `--repeat` times, medians reported:

- `millimetric`: Millimetric's benchmark batch (`bench/ingest.py`);
- `segment same`: the same 100 events as Segment `track` messages (`context.page`): the same
  rows stored, so the difference is the adapter alone;
- `segment varied`: a Segment mix of page, track and screen messages with a batch context.

A 2xx means the batch is durable and visible to the next read, so 2xx/s x 100 is events stored
and visible per second; afterwards the stores are counted to show every acknowledged event is
there. On a shared machine throughput moves with the neighbours, so the server's own CPU time
per acknowledged batch (its process, event loop and loader together) is reported too: it is the
steadier measure of what the adapter costs. Segment items carry no `messageId`, as Millimetric's
carry no `event_id`, so wrk's repeated body stores every time on every side. Target: Segment
>= 0.9x Millimetric.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
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


def same_as_millimetric(n: int) -> dict[str, object]:
    """Millimetric's benchmark batch, event for event, as Segment `track` messages."""
    return {"batch": [
        {"type": "track", "event": e["event"], "anonymousId": e["anonymous_id"], "properties": e["properties"],
         "context": {"page": {"url": e["url"], "referrer": e["referrer"]}}}
        for e in batch_body(n)["events"]  # type: ignore[attr-defined]
    ]}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        keys = {name: json.loads(cli(data, "project", "create", name.replace(" ", "-"), "--json").stdout)["keys"]
                for name in ("millimetric", "segment same", "segment varied")}

        def basic(name: str) -> str:
            return "Basic " + base64.b64encode(f"{keys[name]['sk_live']}:".encode()).decode()

        sides = {
            "millimetric": ("/v1/batch", lua({**common, "Authorization": f"Bearer {keys['millimetric']['sk_live']}"}, batch_body(100))),
            "segment same": ("/segment/v1/batch", lua({**common, "Authorization": basic("segment same")}, same_as_millimetric(100))),
            "segment varied": ("/segment/v1/batch", lua({**common, "Authorization": basic("segment varied")}, segment_body(100))),
        }
        srv = Server(data, env={"FOOTFALL_RATE_LIMITS": "off"}).start()
        assert srv.proc is not None
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        acked: dict[str, float] = dict.fromkeys(sides, 0.0)
        try:
            names = list(sides)
            for round_ in range(args.repeat):
                # Alternate, and rotate who goes first: drift on the machine and whatever one
                # run leaves behind (loader backlog, store compaction) hit every side alike.
                for name in names[round_ % 3:] + names[: round_ % 3]:
                    path, script = sides[name]
                    before = cpu_seconds(srv.proc.pid)
                    r = wrk(srv.url + path, script, args.seconds, args.connections)
                    stored(srv, keys[name]["rk_live"])  # waits until the loader has applied it all
                    batches = r["rps"] * args.seconds
                    r["cpu_ms_per_batch"] = (cpu_seconds(srv.proc.pid) - before) / batches * 1000
                    samples[name].append(r)
                    acked[name] += batches * 100
            counts = {name: stored(srv, keys[name]["rk_live"]) for name in sides}
        finally:
            srv.stop()
    results: dict[str, dict[str, object]] = {}
    for name, runs in samples.items():
        ordered = sorted(runs, key=lambda r: r["rps"])
        cpu = sorted(r["cpu_ms_per_batch"] for r in runs)[len(runs) // 2]
        results[name] = {**ordered[len(ordered) // 2], "cpu_ms_per_batch": cpu, "rps_all": [r["rps"] for r in runs]}
    print(f"medians of {args.repeat} alternating runs of {args.seconds} s, {args.connections} connections")
    print(f"{'run':16} {'batches/s':>10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/batch':>13} {'stored':>9} {'~acked':>9}")
    for name, r in results.items():
        print(f"{name:16} {r['rps']:10.1f} {r['rps'] * 100:10.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "  # type: ignore[operator]
              f"{r['cpu_ms_per_batch']:13.2f} {counts[name]:9d} {acked[name]:9.0f}")
    base = results["millimetric"]
    ratios = {}
    for name in ("segment same", "segment varied"):
        ratios[name] = {"throughput": results[name]["rps"] / base["rps"],  # type: ignore[operator]
                        "cpu": base["cpu_ms_per_batch"] / results[name]["cpu_ms_per_batch"]}  # type: ignore[operator]
        print(f"{name} / millimetric: {ratios[name]['throughput']:.2f}x the batches/s, "
              f"{ratios[name]['cpu']:.2f}x by CPU per batch (target >= 0.90x)")
    save("segment", {"seconds": args.seconds, "repeat": args.repeat, "connections": args.connections,
                     "results": results, "stored": counts, "ratios": ratios})


if __name__ == "__main__":
    main()
