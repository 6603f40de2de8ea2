"""Funnels in DuckDB SQL (people who did step 1, then step 2 within the window, …).

A person is the `person` of `events_people`, so pre-identify visits and other devices of the same
user count as one person. Each person's funnel is anchored at their first step-1 event in
[start, end); every later step is the earliest matching event at or after the previous step and at
most `window_seconds` after the anchor (inclusive; it may fall after `end`). Taking the earliest
match at each step is optimal for ordered steps, so one join per step answers it in SQL (a
repeated step needs another event than the one the previous step used).

Step filters `key=value` compare the `properties` value as text, the key passed as a parameter.
A key that names an event column (`path`, `source`, `country`, … — the stats filter columns) falls
back to that column when the event has no such property, so `$pageview[path=/pricing]` works.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from footfall.read.queries import (
    FILTER_COLUMNS,
    FUNNEL_BREAKDOWNS,
    FunnelPeopleQuery,
    FunnelQuery,
    FunnelStep,
)
from footfall.store.answers import funnel_answer, funnel_people_answer, funnel_people_where
from footfall.store.duckdb.reads import Runner, naive_utc, scoped_people

__all__ = ["every_person_sql", "funnel", "people", "property_path", "uses_times"]

BREAKDOWNS = FUNNEL_BREAKDOWNS
# Step filter keys that fall back to the event column of the same name.
COLUMN_KEYS = tuple(c for c in FILTER_COLUMNS if c != "event_name")


def property_path(param: str) -> str:
    """SQL for the JSON path of the top-level key held by parameter `param` (quoted, so any
    dots, brackets or quotes in the key are just characters of the key)."""
    return f"""'$."' || replace(replace(${param}, '\\', '\\\\'), '"', '\\"') || '"'"""


def _match(i: int, step: FunnelStep, params: dict[str, Any], alias: str = "") -> str:
    t = f"{alias}." if alias else ""
    params[f"e{i}"] = step.event
    conds = [f"{t}name = $e{i}"]
    for j, (key, value) in enumerate(step.where):
        params[f"k{i}_{j}"], params[f"v{i}_{j}"] = key, value
        prop = f"json_extract_string({t}properties, {property_path(f'k{i}_{j}')})"
        if key in COLUMN_KEYS:
            prop = f"coalesce({prop}, {t}{key})"
        conds.append(f"{prop} = $v{i}_{j}")
    return " AND ".join(conds)


def _scope(q: FunnelQuery, params: dict[str, Any]) -> None:
    params.update(
        project=q.scope.project_id,
        env=q.scope.env,
        start=naive_utc(q.start),
        end=naive_utc(q.end),
        window=q.window_seconds,
    )


def _ctes(q: FunnelQuery, params: dict[str, Any]) -> str:
    """`WITH ev, s1 … sN`: `s<i>` has one row per person who reached step i (person, anchor:
    their step-1 time, t: their step-i time, grp: the breakdown value, and uid: that event's,
    when step i + 1 names the same event)."""
    _scope(q, params)
    names = sorted({s.event for s in q.steps})
    for n, name in enumerate(names):
        params[f"n{n}"] = name
    bots = "" if q.include_bots else " AND NOT is_bot"
    # Which of several events tied on `ts` a step takes changes no count: the next step's
    # earliest time is the same either way (another tied event remains, or none did), so a
    # plain arg_min by `ts` does, 2x faster at 10M events than breaking ties by (ts, uid).
    # The breakdown value is the exception: it must come from one well-defined first event.
    grp = f"arg_min_null({q.breakdown}, (ts, uid))" if q.breakdown is not None else "NULL"
    # Only the columns the steps and the breakdown read, and `ev` is not materialised: a
    # materialised copy of every candidate event with its properties spilled under a small
    # memory limit (10M events at 128 MB: 5.8 s, now 3.5 s; each step scans what it needs).
    used = {k for s in q.steps for k, _v in s.where if k in COLUMN_KEYS}
    if q.breakdown is not None:
        used.add(q.breakdown)
    with_properties = ["properties"] if any(s.where for s in q.steps) else []
    # A step can only take the previous step's own event when both name the same event, so
    # only then does a step need the event's uid. `uid` is a distinct string per event: the
    # costliest column to read and carry (1M events: ~1.3 s -> ~0.9 s for three steps).
    repeats = {i for i in range(2, len(q.steps) + 1) if q.steps[i - 1].event == q.steps[i - 2].event}
    with_uid = ["uid"] if repeats or q.breakdown is not None else []
    columns = ", ".join(["person", *with_uid, "name", "ts", *with_properties, *sorted(used)])

    def uid(i: int, e: str = "") -> str:
        """Step i's `uid` column, when step i + 1 must take another event."""
        return f", arg_min({e}uid, {e}ts) AS uid" if i + 1 in repeats else ""

    ctes = [
        f"""ev AS NOT MATERIALIZED (
            SELECT {columns} FROM {scoped_people()}
            WHERE project_id = $project AND env = $env{bots} AND person IS NOT NULL
              AND ts >= $start AND ts <= $end + to_seconds($window)
              AND name IN ({", ".join(f"$n{n}" for n in range(len(names)))})
        )""",
    ]
    if uid(1) or q.breakdown is not None:
        ctes.append(f"""s1 AS (
            SELECT person, min(ts) AS anchor, min(ts) AS t{uid(1)}, {grp} AS grp
            FROM ev WHERE ts < $end AND {_match(1, q.steps[0], params)}
            GROUP BY person
        )""")
    else:
        # The first step, usually the most common event, needs only each person's first time:
        # take each device's (anonymous id, user id) first, then resolve the far fewer devices
        # to people, instead of resolving every event (1M events: the step's CPU ~halves).
        ctes.append(f"""s1 AS (
            SELECT coalesce(d.user_id, i.user_id, d.anonymous_id) AS person, min(d.t) AS anchor,
                   min(d.t) AS t, NULL AS grp
            FROM (
                SELECT anonymous_id, user_id, min(ts) AS t FROM events
                WHERE project_id = $project AND env = $env{bots}
                  AND ts >= $start AND ts < $end AND {_match(1, q.steps[0], params)}
                GROUP BY anonymous_id, user_id
            ) d
            LEFT JOIN (
                SELECT anonymous_id, user_id FROM identities
                WHERE project_id = $project AND env = $env
            ) i ON i.anonymous_id = d.anonymous_id
            WHERE coalesce(d.user_id, i.user_id, d.anonymous_id) IS NOT NULL
            GROUP BY 1
        )""")
    for i, step in enumerate(q.steps[1:], start=2):
        ctes.append(
            f"""s{i} AS (
            SELECT p.person, any_value(p.anchor) AS anchor, min(e.ts) AS t{uid(i, "e.")},
                   any_value(p.grp) AS grp
            FROM s{i - 1} p JOIN ev e ON e.person = p.person
            WHERE {_match(i, step, params, "e")}{" AND e.uid <> p.uid" if i in repeats else ""}
              AND e.ts >= p.t AND e.ts <= p.anchor + to_seconds($window)
            GROUP BY p.person
        )"""
        )
    return f"WITH {', '.join(ctes)}"


def _whole_hours(q: FunnelQuery) -> tuple[datetime, datetime]:
    """The whole UTC hours inside [start, end) (empty when start >= end)."""
    start, end = naive_utc(q.start), naive_utc(q.end)
    first = start.replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(hours=1)
    return first, max(first, end.replace(minute=0, second=0, microsecond=0))


def _times_ctes(q: FunnelQuery, params: dict[str, Any]) -> str:
    """`_ctes` from `event_times` (store/duckdb/event_times.py), `person` being the person's
    key: the first step over its whole hours, and the events of the partial hours at the
    range's edges; each later step from the rows of its people, where only a row whose times
    straddle the previous step's time reads its list of times."""
    _scope(q, params)
    params["first"], params["last"] = first, last = _whole_hours(q)
    for i, step in enumerate(q.steps, start=1):
        params[f"e{i}"] = step.event
    bots = "" if q.include_bots else " AND NOT is_bot"
    rows = "FROM event_times WHERE project_id = $project AND env = $env" + bots
    starts = [f"SELECT person_key AS person, first_ts AS t {rows} AND name = $e1"
              " AND hour >= $first AND hour < $last"]
    if first != params["start"] or last != params["end"]:
        starts.append(f"""
            SELECT k.key, e.ts FROM {scoped_people()} e
            JOIN visitor_keys k ON k.project_id = $project AND k.env = $env AND k.id = e.person
            WHERE e.name = $e1{bots} AND e.ts >= $start AND e.ts < $end
              AND NOT (e.ts >= $first AND e.ts < $last)""")
    ctes = [f"""s1 AS (
        SELECT person, min(t) AS anchor, min(t) AS t, NULL AS grp
        FROM ({" UNION ALL ".join(starts)}) GROUP BY person
    )"""]
    for i in range(2, len(q.steps) + 1):
        ctes.append(f"""s{i} AS (
            SELECT person, any_value(anchor) AS anchor, min(t) AS t, NULL AS grp FROM (
                SELECT p.person, p.anchor,
                       CASE WHEN f.first_ts >= p.t THEN f.first_ts
                            ELSE list_min(list_filter(f.times, lambda x: x >= p.t)) END AS t
                FROM s{i - 1} p JOIN (
                    SELECT person_key, first_ts, last_ts, times {rows} AND name = $e{i}
                      AND hour >= date_trunc('hour', $start::TIMESTAMP)
                      AND hour <= $end + to_seconds($window)
                ) f ON f.person_key = p.person
                WHERE f.last_ts >= p.t AND f.first_ts <= p.anchor + to_seconds($window)
            ) WHERE t <= anchor + to_seconds($window)
            GROUP BY person
        )""")
    if len(q.steps) == 1 and len(starts) == 1:  # DuckDB refuses parameters the SQL never names
        del params["start"], params["end"], params["window"]
    return f"WITH {', '.join(ctes)}"


def uses_times(q: FunnelQuery) -> bool:
    """Can `event_times` answer this funnel exactly? It holds no properties, no breakdown
    columns and no event ids, so: no step filters, no breakdown, and no step naming the same
    event as the step before it (that step must take another event than the previous one)."""
    return (
        q.breakdown is None
        and not any(s.where for s in q.steps)
        and all(a.event != b.event for a, b in zip(q.steps, q.steps[1:], strict=False))
    )


def _sql(q: FunnelQuery, params: dict[str, Any], use_times: bool = True) -> str:
    reached = " UNION ALL ".join(
        f"SELECT {i} AS step, grp FROM s{i}" for i in range(1, len(q.steps) + 1)
    )
    ctes = _times_ctes(q, params) if use_times and uses_times(q) else _ctes(q, params)
    return ctes + f" SELECT step, grp, count(*) AS people FROM ({reached}) GROUP BY step, grp"


def funnel(run: Runner, q: FunnelQuery, use_times: bool = True) -> dict[str, Any]:
    """The funnel's bars; from `event_times` when it answers the funnel exactly (`uses_times`),
    else from the events (always with `use_times=False`, which the tests compare it with)."""
    assert q.breakdown is None or q.breakdown in BREAKDOWNS
    assert q.steps
    params: dict[str, Any] = {}
    _names, rows = run(_sql(q, params, use_times), params)
    return funnel_answer(q, rows)


def people(run: Runner, q: FunnelPeopleQuery, use_times: bool = True) -> dict[str, Any]:
    """One page of the people behind a step's bar (`converted`: reached step `q.step`) or its
    drop-off (`dropped`: reached step `q.step`, not the next), newest entry first, and their
    total. With `q.group`, only the people of that breakdown value (`q.funnel.breakdown`)."""
    chosen = funnel_people_where(q, "$group")
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    if q.group is not None:
        params["group"] = q.group
    page = "FROM chosen"
    if use_times and uses_times(q.funnel):
        # People are keys: look up the ids of the page's rows only (and of those tied with its
        # last entry time, which the order by id needs), not of every chosen person (which took
        # over 96 MB at 10M events for the 138k who dropped at step 1).
        ctes = _times_ctes(q.funnel, params) + """, keyed AS MATERIALIZED (
            SELECT k.person, k.anchor, k.t, k.grp FROM s{step} k {chosen}
        ), edge AS (SELECT anchor FROM keyed ORDER BY anchor DESC LIMIT 1 OFFSET $edge)"""
        params["edge"] = q.offset + q.limit - 1
        source = """(
            SELECT v.id AS person, k.anchor, k.t, k.grp FROM keyed k
            JOIN visitor_keys v ON v.key = k.person
            WHERE k.anchor >= coalesce((SELECT anchor FROM edge), '-infinity'::TIMESTAMP))"""
        ctes = ctes.format(step=q.step, chosen=chosen)
        page, counted = f"FROM {source}", "keyed"
    else:
        ctes = _ctes(q.funnel, params) + f""", chosen AS MATERIALIZED (
            SELECT k.person, k.anchor, k.t, k.grp FROM s{q.step} k {chosen}
        )"""
        counted = "chosen"
    _names, rows = run(
        ctes
        + f"""
        SELECT person, strftime(anchor, '%Y-%m-%dT%H:%M:%S.%fZ'),
               strftime(t, '%Y-%m-%dT%H:%M:%S.%fZ'), grp, (SELECT count(*) FROM {counted})
        {page} ORDER BY anchor DESC, person LIMIT $limit OFFSET $offset
        """,
        params,
    )
    if rows:
        total = int(rows[0][-1])
    else:  # past the last page (or nobody): the total alone
        del params["limit"], params["offset"]
        _names, count = run(ctes + f" SELECT count(*) FROM {counted}", params)
        total = int(count[0][0])
    return funnel_people_answer(q, total, rows)


def every_person_sql(q: FunnelPeopleQuery, use_times: bool = True) -> tuple[str, dict[str, Any]]:
    """The SQL of every person `people` pages through (`limit` and `offset` ignored), in its
    order and with its answer's names (person, entered_at, reached_at, and group with a
    breakdown), and its params. Every chosen person's id is looked up here, as the order
    needs it, and sorted inside DuckDB within the store's memory limit (10M events: the 138k
    people who dropped at step 1 of two were read under the server's 96 MB)."""
    chosen = funnel_people_where(q, "$group")
    params: dict[str, Any] = {}
    if q.group is not None:
        params["group"] = q.group
    if use_times and uses_times(q.funnel):
        ctes = _times_ctes(q.funnel, params)
        source = f"""(
            SELECT v.id AS person, k.anchor, k.t, k.grp FROM s{q.step} k
            JOIN visitor_keys v ON v.key = k.person {chosen})"""
    else:
        ctes = _ctes(q.funnel, params)
        source = f"(SELECT k.person, k.anchor, k.t, k.grp FROM s{q.step} k {chosen})"
    group = ', grp AS "group"' if q.funnel.breakdown is not None else ""
    sql = ctes + f"""
        SELECT person, strftime(anchor, '%Y-%m-%dT%H:%M:%S.%fZ') AS entered_at,
               strftime(t, '%Y-%m-%dT%H:%M:%S.%fZ') AS reached_at{group}
        FROM {source} ORDER BY anchor DESC, person
    """
    return sql, params
