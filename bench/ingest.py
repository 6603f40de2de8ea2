"""Ingestion throughput: `POST /v1/track` and `/v1/batch` against a bare ASGI ceiling, same run.

    .venv/bin/python bench/ingest.py [--seconds 8] [--connections 64] [--repeat 3]

Needs `wrk` (Debian: `apt-get install wrk`). Starts a bare ASGI app (read body, msgspec decode,
answer 202) and a real Footfall server on a fresh data directory, loads each with wrk on
127.0.0.1, prints a table with the ratio to the ceiling and writes `bench/results/ingest-*.json`.
Each run alternates ceiling and Footfall `--repeat` times and reports the median of each, so a
noisy neighbour on the machine moves both sides alike instead of skewing the ratio.
"""

from __future__ import annotations

import argparse
import json
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
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    return args


def main() -> None:
    args = load_args()
    # (name, path, body, connections, events per request)
    runs = [
        ("/v1/track", "/v1/track", TRACK, args.connections, 1),
        ("/v1/track light load", "/v1/track", TRACK, 4, 1),
        ("/v1/batch 100", "/v1/batch", batch_body(100), 16, 100),
        ("/v1/batch 1000", "/v1/batch", batch_body(1000), 8, 1000),
    ]
    results: dict[str, dict[str, float]] = {}
    samples: dict[str, list[dict[str, float]]] = {}
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)])
    wait_for_port(port)
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "data", env={"FOOTFALL_RATE_LIMITS": "off"}).start()
        try:
            sk = srv.keys["sk_live"]
            for name, path, body, conns, _n in runs:
                targets = (
                    ("ceiling", f"http://127.0.0.1:{port}{path}", lua("/", None, body)),
                    ("footfall", srv.url + path, lua("/", sk, body)),
                )
                for _ in range(args.repeat):  # alternate: drift on the machine hits both sides
                    for side, url, script in targets:
                        samples.setdefault(f"{side} {name}", []).append(
                            wrk(url, script, args.seconds, conns)
                        )
            assert srv.proc is not None
            rss = peak_rss_mb(srv.proc.pid)
        finally:
            srv.stop()
            bare.terminate()
            bare.wait()
    for key, runs_of_key in samples.items():
        ordered = sorted(runs_of_key, key=lambda r: r["rps"])
        results[key] = {**ordered[len(ordered) // 2], "rps_all": [r["rps"] for r in runs_of_key]}  # type: ignore[dict-item]
    print(f"medians of {args.repeat} alternating runs of {args.seconds} s each")
    print(f"{'run':34} {'2xx/s':>9} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}  2xx/s range")
    for name, r in results.items():
        per = next(n for label, _p, _b, _c, n in runs if name.endswith(label))
        spread = f"{min(r['rps_all']):.0f}-{max(r['rps_all']):.0f}"  # type: ignore[type-var]
        print(f"{name:34} {r['rps']:9.0f} {r['rps'] * per:10.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8.0f}  {spread}")
    ratios = {
        name: results[f"footfall {name}"]["rps"] / results[f"ceiling {name}"]["rps"] for name, *_ in runs
    }
    print(f"/v1/track: {ratios['/v1/track']:.2f}x the ceiling (target >= 0.5x)")
    print(f"/v1/batch 100: {ratios['/v1/batch 100']:.2f}x, 1000: {ratios['/v1/batch 1000']:.2f}x the ceiling (target >= 0.25x)")
    light = results["footfall /v1/track light load"]
    print(f"/v1/track at light load (4 connections, {light['rps']:.0f} req/s): p99 {light['p99_ms']:.1f} ms (target <= 20 ms at half load)")
    print(f"server peak RSS: {rss:.0f} MB (target <= 300 MB)")
    save("ingest", {
        "seconds": args.seconds, "repeat": args.repeat, "results": results, "ratios": ratios,
        "server_peak_rss_mb": rss,
    })

if __name__ == "__main__":
    main()
