"""The Plausible adapter's cost: `POST /api/event` beside Millimetric's `/v1/track`, same server,
same run.

    .venv/bin/python bench/plausible.py [--seconds 8] [--connections 64] [--repeat 3]

Needs `wrk`. One Footfall server on a fresh data directory whose default project lists the
site's domain; wrk sends the same page view (URL with utm tags and a click id, referrer, one
prop) as a Millimetric event and as a Plausible event, alternating `--repeat` times, and the
table reports the median 2xx/s of each and their ratio (each 2xx is synced and readable), and
the server's CPU time per request (user + system, every thread, from /proc): on a machine shared
with other work the throughput moves with the neighbours, the CPU per request much less.
The Plausible event has no visitor id, so the pipeline derives the cookieless one: that HMAC is
part of what this measures. Results go to `bench/results/plausible-*.json`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import save  # noqa: E402
from ingest import TRACK, load_args, lua, wrk  # noqa: E402
from tests.support.server import Server, cli  # noqa: E402

PLAUSIBLE = {
    "n": "pageview",
    "u": TRACK["url"],
    "d": "yoursite.com",
    "r": TRACK["referrer"],
    "p": TRACK["properties"],
}


def cpu_seconds(server: Server) -> float:
    """User + system CPU the server process has used so far (all threads)."""
    assert server.proc is not None
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    args = load_args()
    samples: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "data", env={"FOOTFALL_RATE_LIMITS": "off"}).start()
        try:
            cli(srv.data, "project", "update", srv.keys["project_id"], "--domain", "yoursite.com")
            targets = (
                ("millimetric /v1/track", srv.url + "/v1/track", lua("/", srv.keys["sk_live"], TRACK)),
                ("plausible /api/event", srv.url + "/api/event", lua("/", None, PLAUSIBLE)),
            )
            for _ in range(args.repeat):  # alternate: drift on the machine hits both sides
                for name, url, script in targets:
                    before = cpu_seconds(srv)
                    run = wrk(url, script, args.seconds, args.connections)
                    srv.query(srv.keys["rk_live"], limit=1)  # waits until the store has it all
                    run["cpu_us_per_request"] = (cpu_seconds(srv) - before) / run["requests"] * 1e6
                    samples.setdefault(name, []).append(run)
        finally:
            srv.stop()
    results = {}
    for name, runs in samples.items():
        ordered = sorted(runs, key=lambda r: r["rps"])
        results[name] = {**ordered[len(ordered) // 2], "rps_all": [r["rps"] for r in runs]}
    print(f"medians of {args.repeat} alternating runs of {args.seconds} s, {args.connections} connections")
    print(f"{'run':24} {'2xx/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'CPU us/req':>11}  2xx/s range")
    for name, r in results.items():
        spread = f"{min(r['rps_all']):.0f}-{max(r['rps_all']):.0f}"  # type: ignore[type-var]
        cpu = sorted(x["cpu_us_per_request"] for x in samples[name])[len(samples[name]) // 2]
        r["cpu_us_per_request_median"] = cpu
        print(f"{name:24} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8.0f} {cpu:11.0f}  {spread}")
    mm, pl = results["millimetric /v1/track"], results["plausible /api/event"]
    ratio = pl["rps"] / mm["rps"]
    cpu_ratio = pl["cpu_us_per_request_median"] / mm["cpu_us_per_request_median"]
    print(f"/api/event: {ratio:.2f}x the 2xx/s of /v1/track, {cpu_ratio:.2f}x its CPU per request")
    save("plausible", {"seconds": args.seconds, "repeat": args.repeat, "connections": args.connections,
                       "results": results, "ratio": ratio, "cpu_ratio": cpu_ratio})


if __name__ == "__main__":
    main()
