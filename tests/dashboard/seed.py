"""Realistic traffic for the dashboard tests: several sources, devices, countries, a goal with
revenue, hostile event names and URLs; all within the last 40 days (the report's presets)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx

__all__ = ["HOSTILE_EVENT", "HOSTILE_PATH", "seed"]

HOSTILE_EVENT = '<img src=x onerror=alert("ev")>'
HOSTILE_PATH = '/"><script>alert("path")</script>'
# (user agent, client IP): a phone in Germany, a desktop in the US, a tablet in Japan.
CLIENTS = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "85.214.132.117"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "8.8.8.8"),
    ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "133.11.0.1"),
]  # fmt: skip
REFERRERS = [
    "https://www.google.com/", "https://t.co/abc", "https://news.ycombinator.com/item?id=1", "",
    'https://evil.example/"><script>alert("ref")</script>',
]  # fmt: skip
PAGES = [
    "https://shop.example/", "https://shop.example/pricing",
    "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
    "https://shop.example" + HOSTILE_PATH,
]  # fmt: skip


def seed(base_url: str, key: str, n: int = 400, seed_value: int = 7, now: datetime | None = None) -> int:
    """Send about `n` pageviews (and signups, and one hostile custom event); returns events sent."""
    rnd = random.Random(seed_value)
    now = now or datetime.now(UTC)
    batches: dict[int, list[dict[str, object]]] = {i: [] for i in range(len(CLIENTS))}
    for i in range(n):
        client = rnd.randrange(len(CLIENTS))
        visitor = f"v{client}-{rnd.randrange(90)}"
        ts = now - timedelta(minutes=rnd.randrange(60 * 24 * 40))
        base = {"anonymous_id": visitor, "timestamp": ts.isoformat()}
        batches[client].append({
            **base, "event": "$pageview", "event_id": f"pv-{seed_value}-{i}",
            "url": rnd.choice(PAGES), "referrer": rnd.choice(REFERRERS),
        })
        if rnd.random() < 0.12:
            later = (ts + timedelta(seconds=40)).isoformat()
            batches[client].append({
                **base, "timestamp": later, "event": "signup", "event_id": f"su-{seed_value}-{i}",
                "properties": {"amount": rnd.randrange(5, 50)},
            })
    batches[0].append({
        "anonymous_id": "v0-hostile", "timestamp": (now - timedelta(hours=2)).isoformat(),
        "event": HOSTILE_EVENT, "event_id": f"hx-{seed_value}",
    })
    sent = 0
    with httpx.Client(base_url=base_url, timeout=30) as c:
        for client, events in batches.items():
            ua, ip = CLIENTS[client]
            for start in range(0, len(events), 1000):
                chunk = events[start : start + 1000]
                r = c.post(
                    "/v1/batch", json={"events": chunk},
                    headers={"Authorization": f"Bearer {key}", "User-Agent": ua, "X-Forwarded-For": ip},
                )
                assert r.status_code == 202, r.text
                sent += len(chunk)
    return sent
