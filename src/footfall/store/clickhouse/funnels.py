"""Funnels in ClickHouse SQL: the same definition as DuckDB's (store/duckdb/funnels.py), one
join per step, each step the earliest match at or after the previous one within the window.

The breakdown value comes from the person's first step-1 event, ties broken by uid, as on
DuckDB; the answer is shaped by `store/answers.py`.
"""

from __future__ import annotations

from typing import Any

from footfall.read.queries import (
    FILTER_COLUMNS,
    FUNNEL_BREAKDOWNS,
    FunnelPeopleQuery,
    FunnelQuery,
    FunnelStep,
)
from footfall.store.answers import funnel_answer, funnel_people_answer, funnel_people_where
from footfall.store.clickhouse.reads import ISO_MICROS, SCOPED_PEOPLE, Runner, ch_time, json_text

__all__ = ["every_person_sql", "funnel", "people"]

BREAKDOWNS = FUNNEL_BREAKDOWNS
COLUMN_KEYS = tuple(c for c in FILTER_COLUMNS if c != "event_name")


def _match(i: int, step: FunnelStep, params: dict[str, Any], alias: str = "") -> str:
    t = f"{alias}." if alias else ""
    params[f"e{i}"] = step.event
    conds = [f"{t}name = {{e{i}:String}}"]
    for j, (key, value) in enumerate(step.where):
        params[f"k{i}_{j}"], params[f"v{i}_{j}"] = key, value
        prop = json_text(f"{t}properties", f"k{i}_{j}")
        if key in COLUMN_KEYS:
            prop = f"coalesce({prop}, CAST({t}{key} AS Nullable(String)))"
        conds.append(f"{prop} = {{v{i}_{j}:String}}")
    return " AND ".join(conds)


def _ctes(q: FunnelQuery, params: dict[str, Any]) -> str:
    """`WITH ev, s1 … sN`: `s<i>` has one row per person who reached step i (person, anchor:
    their step-1 time, t: their step-i time, grp: the breakdown value, and first_uid: that
    event's, when step i + 1 names the same event). The same shortcuts as DuckDB's
    (store/duckdb/funnels.py), which matter more here: ClickHouse evaluates `s1` again for
    every later step that refers to it."""
    params.update(
        project=q.scope.project_id, env=q.scope.env, start=ch_time(q.start),
        end=ch_time(q.end), window=q.window_seconds, names=sorted({s.event for s in q.steps}),
    )  # fmt: skip
    bots = "" if q.include_bots else " AND NOT is_bot"
    grp = f"argMin(tuple({q.breakdown}), (ts, uid)).1" if q.breakdown is not None else "NULL"
    used = {k for s in q.steps for k, _v in s.where if k in COLUMN_KEYS}
    if q.breakdown is not None:
        used.add(q.breakdown)
    with_properties = ["properties"] if any(s.where for s in q.steps) else []
    # A step can only take the previous step's own event when both name the same event: only
    # then does it need the event's uid, the costliest column to read and carry.
    repeats = {i for i in range(2, len(q.steps) + 1) if q.steps[i - 1].event == q.steps[i - 2].event}
    with_uid = ["uid"] if repeats or q.breakdown is not None else []
    columns = ", ".join(["person", *with_uid, "name", "ts", *with_properties, *sorted(used)])
    window_end = "{anchor} + toIntervalSecond({{window:UInt32}})"

    def uid(i: int, e: str = "") -> str:
        return f", argMin({e}uid, {e}ts) AS first_uid" if i + 1 in repeats else ""

    ctes = [
        f"""ev AS (
            SELECT {columns} FROM {SCOPED_PEOPLE}
            WHERE person IS NOT NULL{bots} AND ts >= {{start:DateTime64(6)}}
              AND ts <= {window_end.format(anchor="{end:DateTime64(6)}")}
              AND has({{names:Array(String)}}, name)
        )""",
    ]
    if uid(1) or q.breakdown is not None:
        ctes.append(f"""s1 AS (
            SELECT person, min(ts) AS anchor, anchor AS t{uid(1)}, {grp} AS grp
            FROM ev WHERE ts < {{end:DateTime64(6)}} AND {_match(1, q.steps[0], params)}
            GROUP BY person
        )""")
    else:
        # The first step, usually the most common event, needs only each person's first time:
        # each device's (anonymous id, user id) first, then the far fewer devices resolved to
        # people, instead of resolving every event.
        ctes.append(f"""s1 AS (
            SELECT coalesce(d.user_id, i.user_id, d.anonymous_id) AS person, min(d.t) AS anchor,
                   anchor AS t, NULL AS grp
            FROM (
                SELECT anonymous_id, user_id, min(ts) AS t FROM events
                WHERE project_id = {{project:String}} AND env = {{env:String}}{bots}
                  AND ts >= {{start:DateTime64(6)}} AND ts < {{end:DateTime64(6)}}
                  AND {_match(1, q.steps[0], params)}
                GROUP BY anonymous_id, user_id
            ) AS d
            LEFT JOIN (
                SELECT anonymous_id, user_id FROM identities FINAL
                WHERE project_id = {{project:String}} AND env = {{env:String}}
            ) AS i ON i.anonymous_id = d.anonymous_id
            WHERE person IS NOT NULL
            GROUP BY person
        )""")
    for i, step in enumerate(q.steps[1:], start=2):
        ctes.append(
            f"""s{i} AS (
            SELECT p.person AS person, any(p.anchor) AS anchor, min(e.ts) AS t{uid(i, "e.")},
                   any(p.grp) AS grp
            FROM s{i - 1} AS p INNER JOIN ev AS e ON e.person = p.person
            WHERE {_match(i, step, params, "e")}{" AND e.uid <> p.first_uid" if i in repeats else ""}
              AND e.ts >= p.t AND e.ts <= {window_end.format(anchor="p.anchor")}
            GROUP BY p.person
        )"""
        )
    return f"WITH {', '.join(ctes)}"


def _sql(q: FunnelQuery, params: dict[str, Any]) -> str:
    reached = " UNION ALL ".join(
        f"SELECT toUInt8({i}) AS step, grp FROM s{i}" for i in range(1, len(q.steps) + 1)
    )
    return _ctes(q, params) + (
        f" SELECT step, grp, count() AS people FROM ({reached}) GROUP BY step, grp"
    )


def funnel(run: Runner, q: FunnelQuery) -> dict[str, Any]:
    assert q.breakdown is None or q.breakdown in BREAKDOWNS
    assert q.steps
    params: dict[str, Any] = {}
    _names, rows = run(_sql(q, params), params)
    return funnel_answer(q, rows)


def people(run: Runner, q: FunnelPeopleQuery) -> dict[str, Any]:
    """One page of the people behind a step (`converted`) or its drop-off (`dropped`), newest
    entry first, and their total, as on DuckDB (store/duckdb/funnels.py `people`)."""
    chosen = funnel_people_where(q, "{group:String}")
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    if q.group is not None:
        params["group"] = q.group
    ctes = _ctes(q.funnel, params)
    # The total beside each row (a window over the chosen people, before the page is cut),
    # so the steps are computed once (ClickHouse inlines a CTE at every reference).
    _names, rows = run(
        ctes
        + f"""
        SELECT k.person, formatDateTime(k.anchor, '{ISO_MICROS}'),
               formatDateTime(k.t, '{ISO_MICROS}'), k.grp, count() OVER () AS total
        FROM s{q.step} AS k {chosen}
        ORDER BY k.anchor DESC, k.person LIMIT {{limit:UInt32}} OFFSET {{offset:UInt64}}
        """,
        params,
    )
    if rows:
        total = int(rows[0][-1])
    else:  # past the last page (or nobody): the total alone
        _names, count = run(ctes + f" SELECT count() FROM s{q.step} AS k {chosen}", params)
        total = int(count[0][0])
    return funnel_people_answer(q, total, rows)


def every_person_sql(q: FunnelPeopleQuery) -> tuple[str, dict[str, Any]]:
    """The SQL of every person `people` pages through (`limit` and `offset` ignored), in its
    order and with its answer's names (person, entered_at, reached_at, and group with a
    breakdown), and its params."""
    chosen = funnel_people_where(q, "{group:String}")
    params: dict[str, Any] = {}
    if q.group is not None:
        params["group"] = q.group
    group = ', k.grp AS "group"' if q.funnel.breakdown is not None else ""
    sql = _ctes(q.funnel, params) + f"""
        SELECT k.person AS person, formatDateTime(k.anchor, '{ISO_MICROS}') AS entered_at,
               formatDateTime(k.t, '{ISO_MICROS}') AS reached_at{group}
        FROM s{q.step} AS k {chosen}
        ORDER BY k.anchor DESC, k.person
    """
    return sql, params
