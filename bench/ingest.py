"""Ingestion throughput: `POST /v1/track` and `/v1/batch` against a bare ASGI ceiling, same run.

    .venv/bin/python bench/ingest.py [--seconds 8] [--connections 64] [--repeat 3]
        [--sustained-seconds 30] [--only track|batch] [--baseline-src /tmp/base/src]

`--baseline-src` also serves the `footfall` package under that directory (e.g. `git archive main
src | tar -x -C /tmp/base`): for `/v1/track` both servers run at once and their wrk runs
alternate with the ceiling's, each with the server's CPU time per acknowledged request.

Needs `wrk` (Debian: `apt-get install wrk`). Starts a bare ASGI app (read body, msgspec decode,
answer 202) and a real Footfall server on a fresh data directory, loads each with wrk on
127.0.0.1, prints the ratio to the ceiling and writes `bench/results/ingest-*.json`.

* `/v1/track`: alternates ceiling and Footfall `--repeat` times and reports the median of each,
  so a noisy neighbour on the machine moves both sides alike instead of skewing the ratio; at
  `--connections` and at 4 (about half load, for the p99).
* `/v1/batch`: the sustained rate of varied, high-cardinality batches of 100 (bench/sustained.py:
  events visible to `/v1/stats` per second from the first request until visible) beside the
  ceiling's rate on the same traffic, then twice the connections (overload, 503s allowed) and
  the server's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import save  # noqa: E402
from tests.support.server import Server, free_port  # noqa: E402

BARE_APP = """
import msgspec, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    msgspec.json.decode(body)
    await send({"type": "http.response.start", "status": 202,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})

uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]), loop="uvloop",
            http="httptools", log_level="warning", access_log=False)
"""

UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
TRACK = {
    "event": "$pageview",
    "anonymous_id": "u_bench",
    "url": "https://yoursite.com/?utm_source=facebook&utm_medium=cpc&fbclid=abc",
    "referrer": "https://l.facebook.com/",
    "properties": {"plan": "free"},
}


def batch_body(n: int) -> dict[str, object]:
    events = []
    for i in range(n):
        events.append({
            "event": ["$pageview", "signup", "purchase"][i % 3],
            "anonymous_id": f"u_{i % 97}",
            "url": f"https://shop.example/p/{i}?utm_source=src{i % 13}&utm_medium={['cpc', 'email', 'social'][i % 3]}&gclid=g{i}",
            "referrer": ["https://www.google.com/", "https://t.co/x", "", "https://news.ycombinator.com/"][i % 4],
            "properties": {"i": i, "amount_cents": i * 7},
        })
    return {"events": events}


def lua(path: str, key: str | None, body: object) -> Path:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    headers = ['wrk.headers["Content-Type"] = "application/json"', f'wrk.headers["User-Agent"] = "{UA}"']
    if key:
        headers.append(f'wrk.headers["Authorization"] = "Bearer {key}"')
    payload = json.dumps(body).replace("\\", "\\\\").replace("'", "\\'")
    script.write_text("wrk.method = \"POST\"\n" + "\n".join(headers) + f"\nwrk.body = '{payload}'\n")
    return script


def wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    """wrk's report as numbers; `rps` counts only 2xx answers."""

    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = float(non2xx_match.group(1)) if non2xx_match else 0.0
    # Only acknowledged requests count: a 503 under backpressure stored nothing.
    ok_rps = rps * (1 - non2xx / total) if total else 0.0
    return {"rps": ok_rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "non_2xx": non2xx, "requests": total}


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling for readiness


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_args() -> argparse.Namespace:
    """`--seconds`, `--connections`, `--repeat` of a wrk benchmark; exits when wrk is missing."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sustained-seconds", type=int, default=30, help="length of the /v1/batch load")
    ap.add_argument("--only", choices=("track", "batch"), help="run one half only")
    ap.add_argument("--baseline-src", help="also measure the server from this src/ directory")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    return args


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time a process (or one of its threads) has used so far."""
    stat = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def track_runs(
    args: argparse.Namespace, ceiling: str, servers: dict[str, Server], ceiling_pid: int | None = None
) -> dict[str, dict[str, float]]:
    """`/v1/track` at full and about half load against the ceiling, alternating (each server
    given, e.g. this tree and a baseline, in turn), medians; with each server's CPU time per
    acknowledged request (all its threads), which a busy machine moves far less than req/s."""
    runs = [("/v1/track", args.connections), ("/v1/track light load", 4)]
    samples: dict[str, list[dict[str, float]]] = {}
    for name, conns in runs:
        targets: list[tuple[str, str, Path, int | None]] = [("ceiling", ceiling + "/v1/track", lua("/", None, TRACK), ceiling_pid)]
        for label, srv in servers.items():
            assert srv.proc is not None
            targets.append((label, srv.url + "/v1/track", lua("/", srv.keys["sk_live"], TRACK), srv.proc.pid))
        for _ in range(args.repeat):  # alternate: drift on the machine hits every side
            for side, url, script, pid in targets:
                # the process, and its main thread: the event loop (uvicorn and the request path)
                before = (cpu_seconds(pid), cpu_seconds(pid, pid)) if pid else (0.0, 0.0)
                result = wrk(url, script, args.seconds, conns)
                if pid:
                    ok = result["rps"] * args.seconds or float("nan")
                    result["server_cpu_us_per_request"] = (cpu_seconds(pid) - before[0]) / ok * 1e6
                    result["loop_cpu_us_per_request"] = (cpu_seconds(pid, pid) - before[1]) / ok * 1e6
                samples.setdefault(f"{side} {name}", []).append(result)
    results: dict[str, dict[str, float]] = {}
    for key, runs_of_key in samples.items():
        ordered = sorted(runs_of_key, key=lambda r: r["rps"])
        results[key] = {**ordered[len(ordered) // 2], "rps_all": [r["rps"] for r in runs_of_key]}  # type: ignore[dict-item]
        for measure in ("server_cpu_us_per_request", "loop_cpu_us_per_request"):
            cpu = sorted(r.get(measure, float("nan")) for r in runs_of_key)
            results[key][measure] = cpu[len(cpu) // 2]
    print(f"/v1/track: medians of {args.repeat} alternating runs of {args.seconds} s each")
    print(f"{'run':34} {'2xx/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'CPU µs/req':>10}"
          f" {'of it loop':>10}  2xx/s range")
    for name, r in results.items():
        spread = f"{min(r['rps_all']):.0f}-{max(r['rps_all']):.0f}"  # type: ignore[type-var]
        print(f"{name:34} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8.0f}"
              f" {r['server_cpu_us_per_request']:10.0f} {r['loop_cpu_us_per_request']:10.0f}  {spread}")
    for label in servers:
        ratio = results[f"{label} /v1/track"]["rps"] / results["ceiling /v1/track"]["rps"]
        light = results[f"{label} /v1/track light load"]
        print(f"{label} /v1/track: {ratio:.2f}x the ceiling (target >= 0.25x); at light load (4 connections,"
              f" {light['rps']:.0f} req/s): p99 {light['p99_ms']:.1f} ms (target <= 20 ms at half load)")
    return results


def batch_runs(args: argparse.Namespace, ceiling_url: str, srv: Server) -> dict[str, dict[str, float]]:
    """Sustained `/v1/batch` (bench/sustained.py) beside the ceiling, then 2x the connections."""
    from sustained import ceiling, sustained

    secs, conns = args.sustained_seconds, 16
    rk, sk = srv.keys["rk_live"], srv.keys["sk_live"]
    assert srv.proc is not None
    out = {
        "ceiling": ceiling(ceiling_url, secs, conns, 100),
        "sustained": sustained(srv.url, sk, rk, secs, conns, 100, srv.proc.pid),
    }
    out["sustained"]["peak_rss_mb"] = peak_rss_mb(srv.proc.pid)
    out["overload"] = sustained(srv.url, sk, rk, secs, 2 * conns, 100, srv.proc.pid)
    out["overload"]["peak_rss_mb"] = peak_rss_mb(srv.proc.pid)
    c, s, o = out["ceiling"], out["sustained"], out["overload"]
    print(f"/v1/batch, 100 varied events, {conns} connections, {secs} s, then until visible")
    print(f"ceiling (decode only): {c['events_per_s']:,.0f} events/s")
    for name, r in (("sustained", s), (f"overload ({2 * conns} conn.)", o)):
        print(f"{name:24} visible {r['events_visible_per_s']:9,.0f} events/s ({r['events_visible']:,.0f} in"
              f" {r['seconds_to_visible']:.1f} s; server CPU {r['server_cpu_us_per_event']:.0f} µs/event), acked {r['acked_events_per_s']:9,.0f}/s, p50"
              f" {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, 503s {r['non_2xx']:.0f},"
              f" peak RSS so far {r['peak_rss_mb']:.0f} MB")
    print(f"sustained: {s['events_visible_per_s'] / c['events_per_s']:.3f}x the ceiling (target >= 60,000 events/s);"
          f" peak RSS {o['peak_rss_mb']:.0f} MB (target <= 300 MB)")
    return out


def main() -> None:
    args = load_args()
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)])
    wait_for_port(port)
    ceiling_url = f"http://127.0.0.1:{port}"
    out: dict[str, object] = {"seconds": args.seconds, "repeat": args.repeat,
                              "sustained_seconds": args.sustained_seconds}
    # A baseline tree (e.g. `git archive main | tar -x -C /tmp/base`) runs the same load in the
    # same minutes, so a change is measured against what it replaces on an equally busy machine.
    sides = [("footfall", {})] + ([("baseline", {"PYTHONPATH": args.baseline_src})] if args.baseline_src else [])
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if args.only in (None, "track"):
                # Every side's server at once, so their runs alternate in the same minutes.
                servers = {label: Server(Path(tmp) / f"track-{label}", env={"FOOTFALL_RATE_LIMITS": "off", **env})
                           for label, env in sides}
                try:
                    for srv in servers.values():
                        srv.start()
                    track = track_runs(args, ceiling_url, servers, bare.pid)
                    for label in servers:
                        out[f"track {label}"] = {k: v for k, v in track.items() if k.startswith(("ceiling ", f"{label} "))}
                finally:
                    for srv in servers.values():
                        if srv.proc is not None:
                            srv.stop()
            if args.only in (None, "batch"):
                for label, env in sides:
                    # A fresh server per part: the track runs leave no backlog to the batch runs.
                    print(f"--- {label}")
                    srv = Server(Path(tmp) / f"batch-{label}", env={"FOOTFALL_RATE_LIMITS": "off", **env}).start()
                    try:
                        out[f"batch {label}"] = batch_runs(args, ceiling_url, srv)
                    finally:
                        srv.stop()
        finally:
            bare.terminate()
            bare.wait()
    save("ingest", out)


if __name__ == "__main__":
    main()
