"""The dashboard over generated events: each panel's read, the whole report, the attribution
page, first contentful paint in Chromium, and the JavaScript a page loads.

    .venv/bin/python bench/dashboard.py [--events 1000000 10000000] [--repeat 9]

The data is bench/queries.py's (30 days of April 2026, sessions of 5 events); the report asks for
that month (`period=custom`). Per panel: p50 of the read the report runs (the same read-layer
call, in this process, with the server's store settings). Then, against a real server: p50 of
the whole report page over HTTP, and first contentful paint of a fresh load in headless
Chromium (Debian's), read from the Paint Timing API. Results: bench/results/dashboard-*.json.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from _results import save  # noqa: E402
from queries import prepare, timed  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS, find_chromium  # noqa: E402
from tests.support.server import Server  # noqa: E402

from footfall.config import Settings  # noqa: E402
from footfall.dashboard import report  # noqa: E402
from footfall.dashboard.state import ReportState, utc_range  # noqa: E402
from footfall.dashboard.web import STATIC  # noqa: E402
from footfall.model import Scope  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

FIRST, LAST = date(2026, 4, 1), date(2026, 4, 30)
QUERY = {"period": "custom", "from": FIRST.isoformat(), "to": LAST.isoformat()}
EMAIL, PASSWORD = "bench@example.com", "bench-password-1"


def panel_reads(store: DuckDBStore, scope: Scope, repeat: int) -> dict[str, dict[str, float]]:
    svc: Any = SimpleNamespace(store=store)  # the report's reads only touch `.store`
    state = ReportState(period="custom", start=FIRST, end=LAST)
    rng = utc_range(FIRST, LAST, "UTC")
    out = {
        f"KPI {name}": timed(job, repeat)
        for name, job in report._total_jobs(svc, scope, rng, state).items()
    }
    out["chart (one line)"] = timed(
        lambda: report._series(svc, scope, FIRST, LAST, "UTC", state), repeat
    )
    for panel in report.PANELS:
        out[f"panel {panel.name}"] = timed(
            lambda p=panel: report._panel(svc, scope, rng, state, p), repeat
        )
    return out


def login(srv: Server) -> httpx.Client:
    c = httpx.Client(base_url=srv.url, timeout=300)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/dashboard/login").text)
    assert token
    r = c.post("/dashboard/login", data={"email": EMAIL, "password": PASSWORD, "csrf": token.group(1)})
    assert r.status_code == 303, r.text
    return c


def first_contentful_paint(srv: Server, path: str, repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    assert executable, "needs Debian's chromium"
    samples = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.goto(srv.url + "/dashboard/login")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("form.login button[type=submit]")
        for _ in range(repeat + 1):  # the first load warms the static files' cache
            page.goto(srv.url + path, wait_until="commit")  # the streamed rest may take long
            fcp = page.evaluate(
                "() => new Promise(done => new PerformanceObserver((l, o) => {"
                " const e = l.getEntriesByName('first-contentful-paint')[0];"
                " if (e) { o.disconnect(); done(e.startTime); } })"
                ".observe({type: 'paint', buffered: true}))"
            )
            samples.append(float(fcp))
        browser.close()
    samples = samples[1:]
    return {"p50_ms": statistics.median(samples), "max_ms": max(samples)}


def script_bytes(html: str) -> dict[str, int]:
    sizes = {}
    for src in re.findall(r'<script[^>]*src="/dashboard/static/([^"]+)"', html):
        raw = (STATIC / src).read_bytes()
        sizes[src] = len(gzip.compress(raw, 9))
    return sizes


def run(n: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data, _keys, scope = prepare(tmp, n)
        subprocess.run(
            [sys.executable, "-m", "footfall", "user", "create", EMAIL, "--role", "admin",
             "--password-stdin", "--data", str(data)],
            input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        )
        settings = Settings.from_env(data=str(data))
        store = DuckDBStore(data / "events.duckdb", settings.store_threads, settings.store_memory)
        reads = panel_reads(store, scope, repeat)
        store.close()
        for name, t in reads.items():
            print(f"  {name:28} p50 {t['p50_ms']:8.1f} ms", flush=True)
        srv = Server(data).start(timeout=120)
        try:
            path = f"/dashboard/p/{scope.project_id}/live?" + "&".join(f"{k}={v}" for k, v in QUERY.items())
            c = login(srv)
            html = c.get(path).text
            assert 'data-testid="kpi-visitors"' in html, re.sub(r"\s+", " ", html)[-1500:]
            page = timed(lambda: c.get(path).raise_for_status(), max(3, repeat // 3))
            # The attribution page: side by side, paths and time to convert (#19), and how
            # many of its panels said the store ran out of memory.
            attribution = f"{path.split('?')[0]}/attribution?" + "&".join(
                f"{k}={v}" for k, v in {**QUERY, "conversion": "purchase", "value": "amount_cents"}.items()
            )
            short = []

            def ask_attribution() -> None:
                r = c.get(attribution)
                r.raise_for_status()
                short.append(r.text.count("needs more memory than the store may use"))

            attribution_page = {**timed(ask_attribution, max(3, repeat // 3)), "out_of_memory_panels": sum(short)}
            c.close()
            fcp = first_contentful_paint(srv, path, max(3, repeat // 3))
        finally:
            srv.stop()
        return {
            "reads": reads, "report_http": page, "attribution_http": attribution_page, "fcp": fcp,
            "js_gzip_bytes": script_bytes(html),
            "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    results = {}
    for n in args.events:
        res = run(n, args.repeat)
        results[str(n)] = res
        print(f"\n{n:,} events, 30 days ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
        print(f"{'read':28} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8}")
        for name, t in res["reads"].items():
            print(f"{name:28} {t['p50_ms']:8.1f} {t['p95_ms']:8.1f} {t['cpu_p50_ms']:8.1f}")
        print(f"{'whole report over HTTP':28} {res['report_http']['p50_ms']:8.1f} {res['report_http']['p95_ms']:8.1f}")
        a = res["attribution_http"]
        print(
            f"{'attribution page over HTTP':28} {a['p50_ms']:8.1f} {a['p95_ms']:8.1f}"
            f"  (panels out of memory, all loads: {a['out_of_memory_panels']})"
        )
        print(f"load average while it ran: {res['load']}")
        print(f"first contentful paint: p50 {res['fcp']['p50_ms']:.0f} ms, max {res['fcp']['max_ms']:.0f} ms (target <= 300 ms at 1M)")
        js = res["js_gzip_bytes"]
        print(f"JavaScript gzipped: {sum(js.values()) / 1024:.1f} KB ({', '.join(f'{k} {v / 1024:.1f}' for k, v in js.items())}) (target <= 60 KB)")
    save("dashboard", {"results": results, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


if __name__ == "__main__":
    main()
