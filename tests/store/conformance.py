"""The conformance suite's data and backends: the same generated events, appended in the same
batches, to DuckDB and to ClickHouse (in-process chDB, chDB over HTTP, a real server when
FOOTFALL_TEST_CLICKHOUSE_URL is set)."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from footfall.model import Event, IdentityLink, ProfileUpdate
from footfall.store.base import Scope, Store
from footfall.store.clickhouse.store import ClickHouseStore, http_connector
from footfall.store.duckdb.store import DuckDBStore
from footfall.store.factory import parse_store_url
from tests.support.clickhouse import REAL_SERVER, ClickHouseHTTP, chdb_connector, new_database

__all__ = [
    "BACKENDS", "END", "SCOPE", "START", "WAL_BATCHES", "assert_same", "fill", "open_backend",
]  # fmt: skip

SCOPE = Scope("prj_c", "live")
START = datetime(2026, 3, 20, tzinfo=UTC)
END = datetime(2026, 4, 10, tzinfo=UTC)
BACKENDS = ("chdb", "http", *(("server",) if REAL_SERVER else ()))

_SOURCES = [
    ("google", "organic", "Organic Search", None),
    ("facebook", "paid", "Paid Social", "spring"),
    ("facebook", "paid", "Paid Social", "summer"),
    ("newsletter", "email", "Email", "weekly"),
    ("direct", "direct", "Direct", None),
    (None, None, None, None),
]
_DEVICES = [("desktop", "Chrome", "Windows", "US"), ("mobile", "Mobile Safari", "iOS", "DE"),
            ("mobile", "Chrome Mobile", "Android", None)]  # fmt: skip
_PLACES = {"US": ("CA", "San Francisco"), "DE": ("BE", "Berlin"), None: (None, None)}
_PATHS = ["/", "/pricing", "/docs", "/blog/a", None]


def _events(rng: random.Random) -> list[list[Event]]:
    """Batches of events: visitors with sessions across the DST change in Europe, people who
    identify, bots, repeated event ids, timestamp ties, other projects and environments."""
    batches: list[list[Event]] = []
    n = 0
    for batch_no in range(6):
        batch: list[Event] = []
        for _ in range(120):
            n += 1
            visitor = rng.randrange(40)
            scope = rng.choices(
                [("prj_c", "live"), ("prj_c", "test"), ("prj_other", "live")], [8, 1, 1]
            )[0]
            # Whole milliseconds (durations round exactly), no two events at the same time (which
            # pageview would be a session's exit is undefined on a tie); the funnel data adds ties.
            ts = START + timedelta(days=rng.randrange(21), minutes=rng.randrange(0, 1440, 7),
                                   milliseconds=n)  # fmt: skip
            # The pipeline gives every event of a session the session's attribution (its own
            # signal or the inherited one), so the first event's fields are the session's.
            session = int(ts.timestamp()) // 14400
            source, medium, channel, campaign = _SOURCES[(visitor + session) % len(_SOURCES)]
            device, browser, os_, country = _DEVICES[visitor % 3]
            name = rng.choices(["$pageview", "signup", "purchase", "click", "$engagement"], [10, 2, 2, 1, 1])[0]
            props: dict[str, Any] = {"plan": rng.choice(["free", "pro"])}
            if name == "purchase":
                props["amount_cents"] = rng.choice([900, 2900, 4900])
            user = f"user{visitor // 2}" if visitor % 3 == 0 and name != "$pageview" else None
            batch.append(Event(
                project_id=scope[0], env=scope[1], uid=f"e{n:05d}",
                event_id=f"id{rng.randrange(40)}" if rng.random() < 0.05 else None,
                name=name, ts=ts, received_at=ts + timedelta(seconds=batch_no),
                anonymous_id=f"v{visitor}", user_id=user,
                session_id=f"v{visitor}-{session}",
                url=f"https://site.example{_PATHS[n % 5] or '/'}", path=_PATHS[n % 5],
                referrer=None, properties=json.dumps(props), source=source, medium=medium,
                campaign=campaign, channel=channel,
                source_rule_id="direct" if source in (None, "direct") else "utm",
                referrer_host=f"{source}.example" if source else None,
                country=country, device_type=device, browser=browser, os=os_,
                region=_PLACES[country][0], city=_PLACES[country][1],
                utm_content=f"ad{visitor % 3}" if campaign else None,
                utm_term="shoes" if source == "google" else None,
                is_bot=visitor == 39,
            ))  # fmt: skip
        batches.append(batch)
    return batches


def _ties() -> list[Event]:
    """Funnel steps at the same instant: a pricing view and a signup tied, a purchase tied with
    the signup, a repeated step; one session each, attributed like the pipeline would."""
    out: list[Event] = []
    for k, visitor in enumerate(range(10, 16)):
        t = START + timedelta(days=3 + k, hours=9)
        session = f"v{visitor}-tie{k}"
        src = _SOURCES[k % 4]
        steps = [("$pageview", t, "/pricing"), ("signup", t, None),
                 ("purchase", t + timedelta(hours=k % 2), None), ("signup", t + timedelta(hours=2), None)]
        for j, (name, ts, path) in enumerate(steps):
            props = {"plan": "pro" if k % 3 else "free", "amount_cents": 1000 + 7 * k}
            out.append(Event(
                project_id="prj_c", env="live", uid=f"tie{k}-{j}", name=name, ts=ts,
                received_at=ts, anonymous_id=f"v{visitor}", session_id=session,
                path=path, properties=json.dumps(props), source=src[0], medium=src[1],
                channel=src[2], campaign=src[3], source_rule_id="utm",
            ))  # fmt: skip
    return out


def _links() -> list[IdentityLink]:
    at = START + timedelta(days=1)
    links = [
        IdentityLink(project_id="prj_c", env="live", anonymous_id=f"v{v}", user_id=f"user{v // 2}", ts=at)
        for v in range(0, 40, 5)
    ]
    # An alias chain (v1 → alias_x, then alias_x → user0) and a cycle back that must be ignored.
    links += [
        IdentityLink(project_id="prj_c", env="live", anonymous_id="v1", user_id="alias_x", ts=at),
        IdentityLink(project_id="prj_c", env="live", anonymous_id="alias_x", user_id="user0", ts=at),
        IdentityLink(project_id="prj_c", env="test", anonymous_id="v2", user_id="user9", ts=at),
    ]
    return links


def _profiles() -> list[ProfileUpdate]:
    at = START + timedelta(days=2)
    return [
        ProfileUpdate(project_id="prj_c", env="live", kind="visitor", subject_id="v3", ts=at,
                      attributes={"a": 1, "b": 2}, context={"lang": "en"}),
        ProfileUpdate(project_id="prj_c", env="live", kind="visitor", subject_id="v3",
                      ts=at + timedelta(hours=1), attributes={"b": 3}, custom_data={"x": True}),
        ProfileUpdate(project_id="prj_c", env="live", kind="person", subject_id="user0", ts=at,
                      attributes={"plan": "pro"}, replace=True, enrichment={"source": "google"}),
    ]  # fmt: skip


def _ndjson(items: list[Any]) -> bytes:
    return b"".join(msgspec.json.encode(i) + b"\n" for i in items)


# (events, links, profiles, upto_seq): what the loader would hand the store, batch by batch.
WAL_BATCHES: list[tuple[bytes, bytes, list[bytes], int]] = []
for _i, _batch in enumerate([*_events(random.Random(16)), _ties()]):
    WAL_BATCHES.append((
        _ndjson(_batch),
        _ndjson(_links()[_i * 4:(_i + 1) * 4]) if _i < 3 else b"",
        [msgspec.json.encode(p) for p in _profiles()] if _i == 2 else [],
        (_i + 1) * 200,
    ))  # fmt: skip


def fill(store: Store) -> Store:
    store.migrate()
    for events, links, profiles, seq in WAL_BATCHES:
        store.append(events, links, seq, profiles)
    return store


def open_backend(name: str, tmp: Path, http: Callable[[], ClickHouseHTTP]) -> Store:
    """An empty store of the named backend."""
    if name == "duckdb":
        return DuckDBStore(tmp / "events.duckdb")
    if name == "chdb":
        return ClickHouseStore(chdb_connector(), new_database("conf"))
    target = parse_store_url(http().url(new_database("conf")) if name == "http" else REAL_SERVER)
    assert target is not None
    if name == "server":
        target = dataclasses.replace(target, database=new_database("conf"))
    return ClickHouseStore(http_connector(target), target.database)


def _same(a: Any, b: Any, path: str) -> Iterator[str]:
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, int | float) and isinstance(b, int | float)) or not math.isclose(
            a, b, rel_tol=0, abs_tol=1e-9
        ):
            yield f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            yield f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            yield from _same(a[k], b.get(k), f"{path}.{k}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            yield f"{path}: {len(a)} rows != {len(b)} rows"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _same(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        yield f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"


def assert_same(expected: Any, actual: Any) -> None:
    """Same answer: exact, except floats within 1e-9."""
    problems = list(_same(expected, actual, "answer"))
    assert not problems, "\n".join(problems[:20])
