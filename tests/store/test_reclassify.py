"""`reclassify` against a plain-Python reference: own classification in the range, session
inheritance from the first earlier signal (also one before `since`), only changed events
written and counted, and sessions and the rollup still equal a rebuild from the events."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.model import Event
from footfall.read.queries import StatsQuery
from footfall.store.duckdb import reads
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_stats_sources import SCOPE

INHERITED = ("source", "medium")
COLUMNS = (*INHERITED, "source_rule_id")
T0 = datetime(2026, 5, 1, 22, tzinfo=UTC)
URLS = [None, "https://s.example/", "https://s.example/?utm_source=a", "https://s.example/?utm_source=b"]
REFERRERS = [None, "https://google.com/", "https://s.example/"]
RULES = ["direct", "self_referral", "utm", "referral", "session_inherited", None]


def classify(project_id: str, url: str | None, referrer: str | None) -> dict[str, Any]:
    """A stand-in classifier: a utm tag wins, then an outside referrer, then direct."""
    if url and "utm_source=" in url:
        tag = url.rsplit("=", 1)[1]
        return {"source": tag, "medium": "utm-" + tag, "source_rule_id": "utm"}
    if referrer == "https://s.example/":
        return {"source": "direct", "medium": "direct", "source_rule_id": "self_referral"}
    if referrer:
        return {"source": "google", "medium": "organic", "source_rule_id": "referral"}
    return {"source": "direct", "medium": "direct", "source_rule_id": "direct"}


def has_signal(rule: str | None) -> bool:
    return rule is not None and rule not in ("direct", "self_referral")


def reference(events: list[dict[str, Any]], since: datetime) -> dict[str, dict[str, Any]]:
    """What every event's attribution columns should be after reclassifying from `since`."""
    own = {
        ev["uid"]: (classify("p", ev["url"], ev["referrer"]) if ev["ts"] >= since else {c: ev[c] for c in COLUMNS})
        for ev in events
    }
    out = {uid: dict(v) for uid, v in own.items()}
    sessions: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        if ev["session_id"] is not None:
            sessions.setdefault(ev["session_id"], []).append(ev)
    for members in sessions.values():
        members.sort(key=lambda ev: (ev["ts"], ev["uid"]))
        first = None
        for ev in members:
            mine = own[ev["uid"]]
            if first is None and has_signal(mine["source_rule_id"]):
                first = mine
            rule = mine["source_rule_id"]
            if ev["ts"] >= since and first is not None and rule is not None and not has_signal(rule):
                out[ev["uid"]] = {**{f: first[f] for f in INHERITED}, "source_rule_id": "session_inherited"}
    return out


event_st = st.fixed_dictionaries({
    "minutes": st.integers(min_value=0, max_value=300),
    "session": st.sampled_from([None, "s1", "s2", "s3"]),
    "url": st.sampled_from(URLS),
    "referrer": st.sampled_from(REFERRERS),
    "source": st.sampled_from([None, "old", "direct"]),
    "medium": st.sampled_from([None, "old", "direct"]),
    "source_rule_id": st.sampled_from(RULES),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(event_st, min_size=1, max_size=25), since_minutes=st.integers(min_value=0, max_value=300),
    per_transaction=st.sampled_from([1, 3, 500_000]),
)
def test_reclassify_matches_the_reference(tmp_path: Path, rows: list[dict[str, Any]], since_minutes: int, per_transaction: int) -> None:
    events = [
        {
            "uid": f"u{i:02d}", "ts": T0 + timedelta(minutes=r["minutes"]), "session_id": r["session"],
            "url": r["url"], "referrer": r["referrer"],
            **{c: r[c] for c in COLUMNS},
        }
        for i, r in enumerate(rows)
    ]
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "e.duckdb"  # hypothesis reuses tmp_path
    store = DuckDBStore(path)
    try:
        store.migrate()
        store.append(b"".join(
            msgspec.json.encode(Event(
                project_id="prj_a", env="live", uid=ev["uid"], name="$pageview", ts=ev["ts"],
                received_at=T0, anonymous_id="a", session_id=ev["session_id"], url=ev["url"],
                referrer=ev["referrer"], **{c: ev[c] for c in COLUMNS},
            )) + b"\n"
            for ev in events
        ), b"", 1)
        since = T0 + timedelta(minutes=since_minutes)
        expected = reference(events, since)
        changed = store.reclassify(since, classify, INHERITED, per_transaction)

        stored = {
            r[0]: dict(zip(COLUMNS, r[1:], strict=True))
            for r in store._con.execute(f"SELECT uid, {', '.join(COLUMNS)} FROM events").fetchall()
        }
        assert stored == expected
        before = {ev["uid"]: {c: ev[c] for c in COLUMNS} for ev in events}
        assert changed == sum(before[uid] != expected[uid] for uid in before)

        # Sessions and the rollup equal what a rebuild from the events gives.
        sessions = store._con.execute(
            "SELECT session_id, source, medium, start_ts, end_ts, events FROM sessions ORDER BY 1"
        ).fetchall()
        firsts = store._con.execute(
            "SELECT session_id, arg_min(source, ts), arg_min(medium, ts), min(ts), max(ts), count(*)"
            " FROM events WHERE session_id IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert sessions == firsts
        q = StatsQuery(scope=SCOPE, start=datetime(2026, 5, 1, tzinfo=UTC), end=datetime(2026, 5, 3, tzinfo=UTC),
                       group_by=("source", "medium"), interval="day", limit=1000)
        assert reads.stats(store.read, q, use_rollup=True) == reads.stats(store.read, q, use_rollup=False)
    finally:
        store.close()


def test_unchanged_events_are_not_rewritten(tmp_path: Path) -> None:
    """Reclassifying with the rules the events were stored with changes nothing: the run
    counts 0 and leaves DuckDB no update to hold in memory."""
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    rows = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name="$pageview", ts=T0 + timedelta(minutes=i),
              received_at=T0, anonymous_id="a", session_id="s", url=URLS[i % 4], referrer=None,
              **classify("prj_a", URLS[i % 4], None))
        for i in range(1, 4)
    ]
    store.append(b"".join(msgspec.json.encode(r) + b"\n" for r in rows), b"", 1)
    assert store.reclassify(None, classify, INHERITED) == 0
    calls: list[tuple[int, int]] = []
    renamed = store.reclassify(
        None, lambda p, u, r: {**classify(p, u, r), "medium": "new"}, INHERITED, 1,
        lambda done, of: calls.append((done, of)),
    )
    assert renamed == 3
    assert calls == [(1, 3), (2, 3), (3, 3)]  # one transaction per event, each reported
    store.close()


def test_inherited_fields_come_from_one_event(tmp_path: Path) -> None:
    """The first signal of a session lends all its fields, NULLs included: a later signal's
    campaign must not fill the first one's gap (reclassify, and the sessions restored at start)."""
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()

    def ev(i: int, url: str | None, referrer: str | None) -> Event:
        return Event(
            project_id="prj_a", env="live", uid=f"u{i}", name="$pageview",
            ts=T0 + timedelta(minutes=i), received_at=T0, anonymous_id="a", session_id="s",
            url=url, referrer=referrer, **classify("prj_a", url, referrer),
        )

    rows = [ev(1, None, "https://google.com/"), ev(2, URLS[2], None), ev(3, None, None)]
    store.append(b"".join(msgspec.json.encode(r) + b"\n" for r in rows), b"", 1)

    def with_campaign(p: str, u: str | None, r: str | None) -> dict[str, Any]:
        out = classify(p, u, r)
        return {**out, "campaign": "spring" if out["source_rule_id"] == "utm" else None}

    store.reclassify(None, with_campaign, ("source", "medium", "campaign"))
    third = store._con.execute(
        "SELECT source, campaign, source_rule_id FROM events WHERE uid = 'u3'"
    ).fetchone()
    assert third == ("google", None, "session_inherited")
    (restored,) = store.session_attributions(T0, ("source", "campaign"))
    assert restored == (("prj_a", "live", "s"), ("google", None))
    store.close()
