"""Ingestion throughput: `POST /v1/track` and `/v1/batch` against a bare ASGI ceiling, same run.

    .venv/bin/python bench/ingest.py [--seconds 8] [--connections 64]

Needs `wrk` (Debian: `apt-get install wrk`). Starts a bare ASGI app (read body, msgspec decode,
answer 202) and a real Footfall server on a fresh data directory, loads each with wrk on
127.0.0.1, prints a table with the ratio to the ceiling and writes `bench/results/ingest-*.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "non_2xx": float(non2xx.group(1)) if non2xx else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    results: dict[str, dict[str, float]] = {}
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)])
    try:
        time.sleep(1.5)
        results["ceiling /v1/track"] = wrk(f"http://127.0.0.1:{port}/v1/track", lua("/", None, TRACK), args.seconds, args.connections)
        results["ceiling batch 100"] = wrk(f"http://127.0.0.1:{port}/v1/batch", lua("/", None, batch_body(100)), args.seconds, 16)
    finally:
        bare.terminate()
        bare.wait()
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "data", env={"FOOTFALL_RATE_LIMITS": "off"}).start()
        try:
            sk = srv.keys["sk_live"]
            results["footfall /v1/track"] = wrk(srv.url + "/v1/track", lua("/", sk, TRACK), args.seconds, args.connections)
            results["footfall batch 100"] = wrk(srv.url + "/v1/batch", lua("/", sk, batch_body(100)), args.seconds, 16)
        finally:
            srv.stop()
    print(f"{'run':24} {'req/s':>10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, r in results.items():
        per = 100 if "batch" in name else 1
        print(f"{name:24} {r['rps']:10.0f} {r['rps'] * per:10.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8.0f}")
    track_ratio = results["footfall /v1/track"]["rps"] / results["ceiling /v1/track"]["rps"]
    batch_ratio = results["footfall batch 100"]["rps"] / results["ceiling batch 100"]["rps"]
    print(f"/v1/track: {track_ratio:.2f}x the ceiling (target >= 0.5x)")
    print(f"/v1/batch (100 events): {batch_ratio:.2f}x the ceiling (target >= 0.25x)")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (out_dir / f"ingest-{stamp}.json").write_text(json.dumps({
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "connections": args.connections, "seconds": args.seconds, "results": results,
        "ratios": {"track": track_ratio, "batch100": batch_ratio},
    }, indent=2))


if __name__ == "__main__":
    main()
