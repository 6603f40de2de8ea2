#!/usr/bin/env python3
"""Per-event enrichment cost: attribution classifier, user agent, GeoIP, IP hash.

Usage::

    .venv/bin/python bench/enrichment.py [--events 50000] [--seed 7] [--city-mmdb F] [--asn-mmdb F]

Generates realistic, varied events (landing URLs with and without utm tags and click ids,
referrers drawn from the bundled referrer list plus unknown blogs and self-referrals, ~500
distinct user agents, random public IPv4/IPv6 addresses) and times each enrichment step over
all of them, one step per loop:

* **cold**: every lru cache cleared first (``classify``, ``referrers.lookup``,
  ``parse_user_agent``, a fresh ``GeoIP``); repeated values still hit during the pass, as they
  would after a restart;
* **warm**: the same events again, caches as the cold pass left them.

The baseline, measured in the same run, is ``msgspec.json.encode`` of the event dict: the
least work any ingestion path does per event. ``footfall classify`` throughput is measured as a
subprocess over the same URLs/referrers (interpreter start included) and in-process.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from footfall.attribution import referrers, rules
from footfall.cli.classify import classify_lines
from footfall.enrichment import useragent
from footfall.enrichment.geoip import GeoIP
from footfall.enrichment.iphash import ip_hash

Event = dict[str, Any]

SITE = "shop.example.com"
OWN_HOSTS = frozenset({"example.com"})
PATHS = [f"/{section}/{i}" for section in ("p", "blog", "docs", "pricing", "c") for i in range(40)]
SOURCES = [
    "google", "facebook", "fb", "ig", "instagram", "linkedin", "tiktok", "twitter", "x",
    "newsletter", "partner_x", "bing", "youtube", "reddit", "chatgpt.com", "criteo", "amazon",
    "Google", "Newsletter", "pinterest", "awin", "sms", "firebase",
]  # fmt: skip
MEDIUMS = [
    "cpc", "ppc", "paid", "paid_social", "Paid-Social", "email", "social", "referral", "organic",
    "display", "cpm", "affiliate", "banner", "video", "audio", "sms", "push", "cpv", None,
]  # fmt: skip
CAMPAIGNS = [None, "spring-launch", "black_friday_shop", "brand", "cross-network", "retarget_q3"]
CLICK_IDS = ["gclid", "msclkid", "fbclid", "ttclid", "li_fat_id", "gbraid", "wbraid", "twclid"]


def _token(rng: random.Random, n: int = 16) -> str:
    return "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        for _ in range(n)
    )


def make_urls(rng: random.Random, n: int) -> list[str]:
    urls = []
    for _ in range(n):
        base = f"https://{rng.choice([SITE, 'www.' + SITE])}{rng.choice(PATHS)}"
        r = rng.random()
        if r < 0.40:  # untagged page views: many repeats
            urls.append(base)
            continue
        params: list[tuple[str, str]] = []
        if r < 0.85:
            params.append(("utm_source", rng.choice(SOURCES)))
            medium = rng.choice(MEDIUMS)
            if medium:
                params.append(("utm_medium", medium))
            campaign = rng.choice(CAMPAIGNS)
            if campaign:
                params.append(("utm_campaign", campaign))
            if rng.random() < 0.3:
                params.append(("utm_content", _token(rng, 6)))
        if r >= 0.70:
            params.append((rng.choice(CLICK_IDS), _token(rng, 24)))
        if rng.random() < 0.2:
            params.append(("ref", _token(rng, 5)))
        rng.shuffle(params)
        urls.append(base + "?" + "&".join(f"{k}={v}" for k, v in params))
    return urls


def make_referrers(rng: random.Random, n: int) -> list[str | None]:
    data = referrers._data()
    by_kind: dict[str, list[str]] = {}
    for host, (kind, _name) in data.hosts.items():
        by_kind.setdefault(kind, []).append(host)
    out: list[str | None] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.30:
            out.append(None)
        elif r < 0.50:
            host = rng.choice(
                [
                    "www.google.com",
                    "www.google.de",
                    "www.bing.com",
                    "duckduckgo.com",
                    *by_kind["search"],
                ]
            )
            out.append(f"https://{host}/search?q={_token(rng, 5)}")
        elif r < 0.65:
            out.append(f"https://{rng.choice(by_kind['social'])}/{_token(rng, 8)}")
        elif r < 0.70:
            out.append(f"https://{rng.choice(by_kind['ai'])}/")
        elif r < 0.75:
            host = rng.choice(by_kind["email"])
            out.append(
                f"android-app://{host}/"
                if host.count(".") >= 2 and host.startswith("com.")
                else f"https://{host}/"
            )
        elif r < 0.78:
            out.append(f"https://{rng.choice(by_kind['payment'])}/pay/{_token(rng, 8)}")
        elif r < 0.90:
            out.append(
                f"https://blog{rng.randrange(3000)}.example-{rng.randrange(50)}.net/post/{rng.randrange(999)}"
            )
        else:
            out.append(f"https://{SITE}{rng.choice(PATHS)}")
    return out


def make_user_agents(rng: random.Random, n: int = 500) -> list[str]:
    uas: set[str] = set()
    androids = [
        "SM-G991B",
        "SM-A525F",
        "Pixel 7",
        "Pixel 8 Pro",
        "M2101K6G",
        "CPH2305",
        "moto g(60)",
        "SM-X200",
    ]
    while len(uas) < n:
        v = rng.randrange(100, 131)
        b = rng.randrange(4000, 6800)
        ios = f"{rng.randrange(15, 18)}_{rng.randrange(0, 7)}"
        kind = rng.randrange(10)
        if kind == 0:
            uas.add(
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.{b}.{rng.randrange(200)} Safari/537.36"
            )
        elif kind == 1:
            uas.add(
                f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{rng.randrange(15, 18)}.{rng.randrange(6)} Safari/605.1.15"
            )
        elif kind == 2:
            uas.add(f"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0")
        elif kind == 3:
            uas.add(
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{ios.replace('_', '.')} Mobile/15E148 Safari/604.1"
            )
        elif kind == 4:
            uas.add(
                f"Mozilla/5.0 (Linux; Android {rng.randrange(10, 15)}; {rng.choice(androids)}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.{b}.{rng.randrange(200)} Mobile Safari/537.36"
            )
        elif kind == 5:
            uas.add(
                f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{ios.replace('_', '.')} Mobile/15E148 Safari/604.1"
            )
        elif kind == 6:
            uas.add(
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.{b}.{rng.randrange(100)}"
            )
        elif kind == 7:
            uas.add(
                f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"
            )
        elif kind == 8:
            uas.add(
                f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.{b}.{rng.randrange(200)} Safari/537.36"
            )
        else:
            uas.add(rng.choice([
                f"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html) v{rng.randrange(99)}",
                f"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) {rng.randrange(99)}",
                f"curl/8.{rng.randrange(12)}.{rng.randrange(3)}",
                f"python-requests/2.{rng.randrange(20, 33)}.{rng.randrange(4)}",
                f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36",
            ]))  # fmt: skip
    return sorted(uas)


def make_ips(rng: random.Random, n: int) -> list[str]:
    ips: list[str] = []
    while len(ips) < n:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address
        if rng.random() < 0.85:
            addr = ipaddress.IPv4Address(rng.getrandbits(32))
        else:
            addr = ipaddress.IPv6Address(
                (0x2000 + rng.randrange(0x1000)) << 112 | rng.getrandbits(112)
            )
        if addr.is_global:
            ips.append(str(addr))
    return ips


def make_events(n: int, seed: int) -> list[Event]:
    rng = random.Random(seed)
    urls, refs, ips = make_urls(rng, n), make_referrers(rng, n), make_ips(rng, n)
    uas = make_user_agents(rng)
    weights = [1 / (i + 1) for i in range(len(uas))]  # a few agents dominate, as in real traffic
    agents = rng.choices(uas, weights=weights, k=n)
    return [
        {"event": "$pageview", "url": u, "referrer": r, "user_agent": a, "ip": ip,
         "anonymous_id": f"anon_{i:024x}", "timestamp": "2026-11-22T12:00:00Z", "properties": {}}
        for i, (u, r, a, ip) in enumerate(zip(urls, refs, agents, ips, strict=True))
    ]  # fmt: skip


def timed(events: list[Event], fn: Callable[[Event], object]) -> float:
    """Seconds to run ``fn`` once per event."""
    start = time.perf_counter()
    for e in events:
        fn(e)
    return time.perf_counter() - start


def clear_caches() -> None:
    rules.clear_cache()
    referrers.lookup.cache_clear()
    useragent.parse_user_agent.cache_clear()


class _Geo(GeoIP):
    """GeoIP whose lru cache can be cleared without closing the readers."""

    def clear_cache(self) -> None:
        self._cached.cache_clear()


def measure(events: list[Event], salt: bytes, geo: _Geo, cold: bool) -> dict[str, float]:
    """Seconds per loop over ``events``, one loop per step, then all steps in one loop.
    ``cold`` clears the step's caches (and the GeoIP's) before each loop."""
    classify, parse_ua = rules.classify, useragent.parse_user_agent

    def start() -> None:
        if cold:
            clear_caches()
            geo.clear_cache()

    def step_all(e: Event) -> object:
        classify(e["url"], e["referrer"], OWN_HOSTS)
        parse_ua(e["user_agent"])
        geo.lookup(e["ip"])
        return ip_hash(e["ip"], salt)

    steps: list[tuple[str, Callable[[Event], object]]] = [
        ("classify", lambda e: classify(e["url"], e["referrer"], OWN_HOSTS)),
        ("parse_user_agent", lambda e: parse_ua(e["user_agent"])),
        ("GeoIP.lookup", lambda e: geo.lookup(e["ip"])),
        ("ip_hash", lambda e: ip_hash(e["ip"], salt)),
    ]
    out: dict[str, float] = {}
    for name, fn in steps:
        start()
        out[name] = timed(events, fn)
    out["sum of steps"] = sum(out[name] for name, _ in steps)
    start()
    out["total (one loop)"] = timed(events, step_all)
    out["baseline: msgspec encode"] = timed(events, msgspec.json.encode)
    return out


def run(events: list[Event], city: str | None, asn: str | None) -> None:
    salt = os.urandom(32)
    geo = _Geo(city, asn)
    n = len(events)
    results = {"cold": measure(events, salt, geo, cold=True)}
    results["warm"] = measure(events, salt, geo, cold=False)
    geo.close()
    print(f"\n{'step':<28}{'cold ev/s':>12}{'cold µs/ev':>12}{'warm ev/s':>12}{'warm µs/ev':>12}")
    print("-" * 76)
    for name in results["cold"]:
        c, w = results["cold"][name], results["warm"][name]
        print(f"{name:<28}{n / c:>12,.0f}{c / n * 1e6:>12.2f}{n / w:>12,.0f}{w / n * 1e6:>12.2f}")
    for phase in ("cold", "warm"):
        ratio = results[phase]["total (one loop)"] / results[phase]["baseline: msgspec encode"]
        print(f"{phase}: enrichment total = {ratio:,.0f} x baseline")
    ui = useragent.parse_user_agent.cache_info()
    print(
        f"caches after the warm pass: classify {rules.cache_size():,} decisions kept for "
        f"{len({(e['url'], e['referrer']) for e in events}):,} distinct inputs; "
        f"parse_user_agent {ui.hits} hits / {ui.misses} misses"
    )


def bench_cli(events: list[Event]) -> None:
    lines = [json.dumps({"url": e["url"], "referrer": e["referrer"]}).encode() for e in events]
    n = len(lines)
    clear_caches()
    sink: list[int] = []
    start = time.perf_counter()
    classify_lines(lines, lambda b: sink.append(len(b)), OWN_HOSTS)
    took = time.perf_counter() - start
    print(
        f"\nclassify_lines in-process, cold: {n / took:,.0f} lines/s ({sum(sink) / n:.0f} bytes/line out)"
    )
    code = "import typer; from footfall.cli.classify import classify; typer.run(classify)"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        with path.open("rb") as stdin:
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", code, "--own-host", "example.com"],
                stdin=stdin, capture_output=True, check=True,
            )  # fmt: skip
            took = time.perf_counter() - start
    out = proc.stdout.count(b"\n")
    print(
        f"`footfall classify` (python -c, stdin -> stdout pipe, startup included): "
        f"{n:,} lines in {took:.2f} s = {n / took:,.0f} lines/s; {out:,} lines out"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--city-mmdb")
    ap.add_argument("--asn-mmdb")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    events = make_events(args.events, args.seed)
    geo = GeoIP(args.city_mmdb, args.asn_mmdb)
    mmdb = args.city_mmdb or args.asn_mmdb
    geo_kind = f"mmdb (C extension: {geo.uses_c_extension})" if mmdb else "bundled iptocc"
    print(
        f"python {platform.python_version()} on {platform.machine()}; ua resolver "
        f"{useragent.RESOLVER}; geoip {geo_kind}; referrer data {referrers.data_version()}"
    )
    geo.close()
    distinct = {k: len({e[k] for e in events}) for k in ("url", "referrer", "user_agent", "ip")}
    print(
        f"{len(events):,} events generated in {time.perf_counter() - t0:.1f} s; distinct: {distinct}"
    )
    run(events, args.city_mmdb, args.asn_mmdb)
    bench_cli(events)
    print(f"\nbench wall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
