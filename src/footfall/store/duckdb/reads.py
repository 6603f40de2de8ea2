"""The read side in DuckDB SQL: stats, sources. Each function builds one query and runs it.

People are counted through the `events_people` view (user, else linked user, else anonymous id),
so a person's devices and pre-identify visits count once. Column and interval names are checked
against fixed lists before they reach SQL; every value travels as a parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import msgspec

from footfall.read.queries import (
    GROUP_BY_COLUMNS,
    INTERVALS,
    SESSION_GROUPS,
    EventLogQuery,
    PageQuery,
    SessionsQuery,
    SessionSummaryQuery,
    SourcesQuery,
    StatsQuery,
)
from footfall.store.answers import SESSION_COLUMNS
from footfall.store.duckdb import rollups, visitors

__all__ = [
    "Runner",
    "distinct_values",
    "event_log",
    "event_log_sql",
    "naive_utc",
    "page_events",
    "scope_where",
    "scoped_people",
    "session_summary",
    "session_summary_sql",
    "sessions",
    "sessions_sql",
    "sources",
    "stats",
    "stats_sql",
]

Runner = Callable[[str, dict[str, Any]], tuple[list[str], list[tuple[Any, ...]]]]

# API column name → events column.
_COLUMN = {c: c for c in GROUP_BY_COLUMNS} | {"event_name": "name"}
_METRIC = {
    "count": "count(*)",
    "uniques": "count(DISTINCT person)",
    "sessions": "count(DISTINCT session_id)",
    "users": "count(DISTINCT resolved_user_id)",
    # Values that are not numbers count as nothing rather than failing the whole read.
    "sum": "coalesce(sum(TRY_CAST(json_extract_string(properties, $value_path) AS DOUBLE)), 0)",
}


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def scoped_people() -> str:
    """`events_people` for one project and environment (`$project`, `$env`), as a subquery.

    The identity join then hashes the anonymous id alone against that project's links, instead
    of (project, environment, anonymous id) against every project's for each event."""
    return """(
        SELECT e.*, coalesce(e.user_id, i.user_id, e.anonymous_id) AS person,
               coalesce(e.user_id, i.user_id) AS resolved_user_id
        FROM events e
        LEFT JOIN (
            SELECT anonymous_id, user_id FROM identities WHERE project_id = $project AND env = $env
        ) i ON i.anonymous_id = e.anonymous_id
        WHERE e.project_id = $project AND e.env = $env
    )"""


def scope_where(
    q: Any, params: dict[str, Any], table: str = ""
) -> list[str]:
    """Project, environment, time range and the bot switch: every read starts here."""
    t = f"{table}." if table else ""
    params.update(
        project=q.scope.project_id, env=q.scope.env,
        start=naive_utc(q.start), end=naive_utc(q.end),
    )
    where = [f"{t}project_id = $project", f"{t}env = $env", f"{t}ts >= $start", f"{t}ts < $end"]
    if not q.include_bots:
        where.append(f"NOT {t}is_bot")
    return where


def _rows(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


def stats(run: Runner, q: StatsQuery, use_rollup: bool = True) -> list[dict[str, Any]]:
    """Stats rows. Counts over whole UTC days come from `daily_rollup`, people over whole
    hours by visit dimensions from `visitor_hours` and by event name and path from
    `page_hours` (each the same answer as the events give, property-tested;
    `use_rollup=False` reads the events), everything else from the events."""
    if use_rollup and q.metric == "sessions" and not (q.group_by or q.filters or q.interval or q.event):
        visits = _visits(run, q)
        if visits is not None:
            return [{"value": visits}]
    sql, params, exact = stats_sql(run, q, use_rollup)
    try:
        rows = _rows(*run(sql, params))
    except duckdb.OutOfRangeException:
        # A key outside the column's min/max statistics (never seen; they bound every stored
        # value): the exact count without sets rather than a failed read.
        if exact is None:
            raise
        rows = _rows(*run(exact, params))
    if not (q.group_by or q.interval) and rows and rows[0]["value"] is None:
        rows[0]["value"] = 0  # a sum over no rollup rows
    return rows


def stats_sql(
    run: Runner, q: StatsQuery, use_rollup: bool = True, page: bool = True
) -> tuple[str, dict[str, Any], str | None]:
    """(the SQL of `stats` past its sessions shortcut, its params, the same SQL counting
    people without bit sets when it counts them with sets, else None); `page=False`: every
    row, no limit (the batches). `run` sizes the people sets (`_count_people`)."""
    params: dict[str, Any] = {"limit": q.limit} if page else {}
    tz_local = "timezone($tz, timezone('UTC', {}))"
    people = visitors.table_for(q) if use_rollup else None
    if people is not None:
        where = scope_where(q, params)
        where[2:4] = ["hour >= $start", "hour < $end"]
        table, value = people.name, _count_people(run, q, people.name)
        if q.timezone == "UTC" or q.interval is None:
            local, fmt = "hour", "%Y-%m-%dT%H:%M:%SZ"
        else:
            # Each hour of the range converted once, not each row (10M events: ~3x faster).
            table += (
                f" JOIN (SELECT h AS hour, {tz_local.format('h')} AS local_hour"
                " FROM range($start, $end, INTERVAL 1 HOUR) r(h)) USING (hour)"
            )
            local, fmt = "local_hour", "%Y-%m-%dT%H:%M:%S"
    elif use_rollup and rollups.covers(q):
        params.update(
            project=q.scope.project_id, env=q.scope.env,
            start=naive_utc(q.start).date(), end=naive_utc(q.end).date(),
        )
        where = ["project_id = $project", "env = $env", "day >= $start", "day < $end"]
        if not q.include_bots:
            where.append("NOT is_bot")
        table, value, local, fmt = "daily_rollup", "sum(events)::BIGINT", "day", "%Y-%m-%dT%H:%M:%SZ"
    else:
        where = scope_where(q, params)
        table = scoped_people() if q.metric in ("uniques", "users") else "events"
        value = _METRIC[q.metric]
        if q.metric == "sum":
            params["value_path"] = _json_path(q.value_property or "")
        if q.timezone == "UTC":  # skip the per-row time zone conversion
            local, fmt = "ts", "%Y-%m-%dT%H:%M:%SZ"
        else:
            local, fmt = tz_local.format("ts"), "%Y-%m-%dT%H:%M:%S"
    if q.event is not None and people is not visitors.PAGES:  # page_hours: page views only
        where.append("name = $event")
        params["event"] = q.event
    for i, (column, wanted) in enumerate(q.filters):
        where.append(f"{_COLUMN[column]} = $f{i}")
        params[f"f{i}"] = wanted
    select: list[str] = []
    outer = [*q.group_by, "value"]
    order: list[str] = []
    if q.interval is not None:
        assert q.interval in INTERVALS
        if "$tz" in local or "$tz" in table:
            params["tz"] = q.timezone
        # Truncate per row, format once per group.
        select.append(f"date_trunc('{q.interval}', {local}) AS bucket")
        outer.insert(0, f"strftime(bucket, '{fmt}') AS bucket")
        order.append("bucket")
    select += [f"{_COLUMN[c]} AS {c}" for c in q.group_by]
    sql = (
        f"SELECT {', '.join(outer)} FROM ("
        f"SELECT {', '.join([*select, value + ' AS value'])} FROM {table}"
        f" WHERE {' AND '.join(where)}"
        + (" GROUP BY ALL" if select else "")
        + f") ORDER BY {', '.join([*order, 'value DESC', *(c for c in q.group_by)])}"
        + (" LIMIT $limit" if page else "")
    )
    exact = sql.replace(value, "count(DISTINCT person_key)") if "bitstring_agg" in value else None
    return sql, params, exact


# Memory the people sets of one read may take per thread (see _count_people; each of the
# store's threads keeps its own sets): 2 reads at once on 2 threads under the ~100 MB default
# hold at most a third of it.
PEOPLE_SETS_BYTES = 8 << 20
_BUCKET_HOURS = {"hour": 1, "day": 24, "week": 7 * 24, "month": 28 * 24}


def _count_people(run: Runner, q: StatsQuery, table: str) -> str:
    """The distinct count of `person_key` per group. A bit set per group
    (`bitstring_agg`, sized from the column's min and max) sets one bit per row and hashes
    nothing: 3-4x less CPU than `count(DISTINCT)` over a month of 10M events. Each set takes
    (max - min) / 8 bytes, so it is used only while every group's set fits PEOPLE_SETS_BYTES
    together, counted from the buckets and from the groups `daily_rollup` has in those days
    (a bound: it holds every event) or, for columns it lacks, in the table itself; otherwise
    `count(DISTINCT)`."""
    exact = "count(DISTINCT person_key)"
    groups = 1
    if q.interval is not None:
        hours = (q.end - q.start).total_seconds() / 3600
        groups = int(hours // _BUCKET_HOURS[q.interval]) + 2
    if q.group_by:
        named = ", ".join(_COLUMN[c] for c in q.group_by)
        scope = {"project": q.scope.project_id, "env": q.scope.env,
                 "lo": naive_utc(q.start), "hi": naive_utc(q.end)}  # fmt: skip
        if {_COLUMN[c] for c in q.group_by} <= set(rollups.DIMENSIONS):
            source = (
                "daily_rollup WHERE project_id = $project AND env = $env"
                " AND day >= CAST($lo AS DATE) AND day <= CAST($hi AS DATE)"
            )
        else:  # a scan of the table's rows in range (~1/4 of the count's own cost)
            source = f"{table} WHERE project_id = $project AND env = $env AND hour >= $lo AND hour < $hi"
        _names, rows = run(f"SELECT count(*) FROM (SELECT DISTINCT {named} FROM {source})", scope)
        groups *= int(rows[0][0])
    _names, rows = run(f"SELECT max(person_key) - min(person_key) FROM {table}", {})
    span = rows[0][0]
    if span is None or groups * (int(span) // 8 + 64) > PEOPLE_SETS_BYTES:
        return exact
    # Over no rows the set is NULL; the count is 0.
    return "coalesce(bit_count(bitstring_agg(person_key)), 0)"


_OVERLAP = "project_id = $project AND env = $env AND start_ts < $end AND end_ts >= $start"
_EDGE = f"{_OVERLAP} AND (start_ts < $start OR end_ts >= $end)"


def _visits(run: Runner, q: StatsQuery) -> int | None:
    """Sessions with an event in [start, end) (the visits KPI: `count(DISTINCT session_id)`
    over the events) from the sessions table: those inside the range count when one of their
    events is not a bot's (`humans`), and only those crossing an edge have their events read,
    in the windows next to the edges. 10M events: ~8x less CPU than hashing every event's
    session id. None when a session lacks `humans` (written by code that predates it)."""
    params: dict[str, Any] = {
        "project": q.scope.project_id, "env": q.scope.env,
        "start": naive_utc(q.start), "end": naive_utc(q.end),
    }
    _names, rows = run(
        "SELECT count(*) FILTER (WHERE humans IS NULL),"
        " max(end_ts) FILTER (WHERE start_ts < $start), min(start_ts) FILTER (WHERE end_ts >= $end)"
        f" FROM sessions WHERE {_OVERLAP}",
        params,
    )
    unknown, hi, lo = rows[0]
    if unknown:
        return None
    # No session crosses an edge: an empty window.
    params.update(hi=hi or params["start"] - timedelta(microseconds=1), lo=lo or params["end"])
    human = "" if q.include_bots else " AND NOT is_bot"
    events = (
        "SELECT session_id FROM events WHERE project_id = $project AND env = $env"
        f" AND ts >= $start AND ts < $end{human} AND {{window}}"
        f" AND session_id IN (SELECT session_id FROM sessions WHERE {_EDGE})"
    )
    _names, rows = run(
        "SELECT (SELECT count(*) FROM sessions WHERE project_id = $project AND env = $env"
        f" AND start_ts >= $start AND end_ts < $end{'' if q.include_bots else ' AND humans > 0'})"
        " + (SELECT count(DISTINCT session_id) FROM ("
        + events.format(window="ts <= $hi")
        + " UNION ALL "
        + events.format(window="ts >= $lo")
        + "))",
        params,
    )
    return int(rows[0][0])


def _json_path(key: str) -> str:
    """A JSON path naming one top-level key, quoted so any key text stays a key.

    >>> _json_path('amount'), _json_path('a.b')
    ('$."amount"', '$."a.b"')
    """
    return "$." + msgspec.json.encode(key).decode()


def session_summary(run: Runner, q: SessionSummaryQuery) -> list[dict[str, Any]]:
    """Rows of (group,) sessions, bounces, duration_s: the same sessions `/v1/sessions` lists."""
    return _rows(*run(*session_summary_sql(q)))


def session_summary_sql(q: SessionSummaryQuery, page: bool = True) -> tuple[str, dict[str, Any]]:
    """The SQL of `session_summary` and its params; `page=False`: every row, no limit."""
    params, where = _session_scope(q, "")
    group = ""
    if q.group_by is not None:
        assert q.group_by in SESSION_GROUPS
        group = f"{q.group_by}, "
    if not page:
        del params["limit"]
    sql = f"""
        SELECT {group}count(*) AS sessions, count(*) FILTER (WHERE events <= 1) AS bounces,
               round(coalesce(sum(epoch(end_ts) - epoch(start_ts)), 0), 3) AS duration_s
        FROM sessions WHERE {" AND ".join(where)}
        {"GROUP BY ALL ORDER BY sessions DESC, " + q.group_by if q.group_by else ""}
        {"LIMIT $limit" if page else ""}
    """
    return sql, params


def sources(run: Runner, q: SourcesQuery, use_rollup: bool = True) -> list[dict[str, Any]]:
    """`/v1/sources` rows. Over whole UTC days the events come from `daily_rollup` and the
    people from `visitor_hours` (the same answer, property-tested); otherwise from the events."""
    params: dict[str, Any] = {"limit": q.limit}
    where = scope_where(q, params)
    keys = ["source", "medium"] if q.breakdown == "source_medium" else ["source"]
    group = ", ".join(keys)
    if use_rollup and _midnight(params["start"]) and _midnight(params["end"]):
        bots = "" if q.include_bots else " AND NOT is_bot"
        scope = f"project_id = $project AND env = $env{bots}"
        same = " AND ".join(f"c.{k} IS NOT DISTINCT FROM p.{k}" for k in keys)
        sql = f"""
            SELECT {", ".join(f"c.{k}" for k in keys)}, c.events, coalesce(p.uniques, 0) AS uniques,
                   round(c.paid / c.events, 4) AS paid_share
            FROM (
                SELECT {group}, sum(events)::BIGINT AS events,
                       coalesce(sum(events) FILTER (WHERE medium = 'paid'), 0) AS paid
                FROM daily_rollup
                WHERE {scope} AND day >= CAST($start AS DATE) AND day < CAST($end AS DATE)
                GROUP BY ALL
            ) c
            LEFT JOIN (
                SELECT {group}, count(DISTINCT person_key) AS uniques FROM visitor_hours
                WHERE {scope} AND hour >= $start AND hour < $end
                GROUP BY ALL
            ) p ON {same}
            ORDER BY c.events DESC, {", ".join(f"c.{k}" for k in keys)}
            LIMIT $limit
        """
        return _rows(*run(sql, params))
    sql = f"""
        SELECT {group}, count(*) AS events, count(DISTINCT person) AS uniques,
               round(avg(CASE WHEN medium = 'paid' THEN 1.0 ELSE 0.0 END), 4) AS paid_share
        FROM {scoped_people()}
        WHERE {" AND ".join(where)}
        GROUP BY {group}
        ORDER BY events DESC, {group}
        LIMIT $limit
    """
    return _rows(*run(sql, params))


def _midnight(value: datetime) -> bool:
    return value.hour == value.minute == value.second == value.microsecond == 0


def _session_scope(
    q: SessionsQuery | SessionSummaryQuery, t: str
) -> tuple[dict[str, Any], list[str]]:
    """Sessions of the project and environment that started in [start, end), with the
    filters: a session column, or (path, event_name, utm_*, region, city) sessions that had
    such an event."""
    params: dict[str, Any] = {
        "limit": q.limit, "project": q.scope.project_id, "env": q.scope.env,
        "start": naive_utc(q.start), "end": naive_utc(q.end),
    }
    where = [f"{t}project_id = $project", f"{t}env = $env", f"{t}start_ts >= $start", f"{t}start_ts < $end"]
    if not q.include_bots:
        where.append(f"NOT {t}is_bot")
    for i, (column, wanted) in enumerate(q.filters):
        params[f"f{i}"] = wanted
        if column in SESSION_COLUMNS:
            where.append(f"{t}{column} = $f{i}")
        else:
            where.append(
                f"{t}session_id IN (SELECT session_id FROM events WHERE project_id = $project"
                f" AND env = $env AND ts >= $start AND {_COLUMN[column]} = $f{i})"
            )
    return params, where


def sessions_sql(q: SessionsQuery, page: bool = True) -> tuple[str, dict[str, Any], str]:
    """(the SQL of `sessions` with a `{slice}` mark, its params, its WHERE on `sessions s`
    joined to `identities i`); `page=False`: every session, no limit (the batches)."""
    params, where = _session_scope(q, "s.")
    if q.user_id is not None:
        # A person's id may also be the distinct id an SDK tracks them under (Sankofa).
        where.append("(coalesce(s.user_id, i.user_id) = $user_id OR s.anonymous_id = $user_id)")
        params["user_id"] = q.user_id
    if q.anonymous_id is not None:
        where.append("s.anonymous_id = $anonymous_id")
        params["anonymous_id"] = q.anonymous_id
    if q.after is not None:
        where.append(
            "s.start_ts <= $after_ts AND (s.start_ts < $after_ts OR s.session_id > $after_id)"
        )
        params.update(after_ts=naive_utc(q.after[0]), after_id=q.after[1])
    clause = " AND ".join(where)
    limit = "LIMIT $limit" if page else ""
    if not page:
        del params["limit"]
    # Without a person to match, the newest sessions are picked before the identity join, so
    # the join sees `limit` rows instead of every session (10M events: ~430 -> ~110 ms).
    source = "sessions" if q.user_id is not None else f"""(
        SELECT * FROM sessions s WHERE {clause}{{slice}}
        ORDER BY s.start_ts DESC, s.session_id {limit})"""
    sql = f"""
        SELECT s.session_id, s.anonymous_id, coalesce(s.user_id, i.user_id) AS user_id,
               strftime(s.start_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS start,
               strftime(s.end_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS "end",
               round(epoch(s.end_ts) - epoch(s.start_ts), 3) AS duration_s,
               s.entry_path, s.exit_path, s.pageviews, s.events, s.events <= 1 AS bounce,
               s.source, s.medium, s.campaign, s.channel, s.referrer_host,
               s.device_type, s.browser, s.os, s.country
        FROM {source} s
        LEFT JOIN identities i
          ON i.project_id = s.project_id AND i.env = s.env AND i.anonymous_id = s.anonymous_id
        WHERE {clause}{{slice}}
        ORDER BY s.start_ts DESC, s.session_id
        {limit}
    """
    return sql, params, clause


def sessions(run: Runner, q: SessionsQuery) -> list[dict[str, Any]]:
    sql, params, _where = sessions_sql(q)
    return _rows(*run(sql.replace("{slice}", ""), params))


EVENT_LOG_COLUMNS = (
    "uid", "ts", "name", "person", "anonymous_id", "user_id", "session_id", "url", "path",
    "referrer", "referrer_host", "source", "medium", "campaign", "channel", "utm_content",
    "utm_term", "country", "region", "city", "device_type", "browser", "browser_version", "os",
    "os_version", "properties",
)  # fmt: skip


def event_log_sql(q: EventLogQuery, params: dict[str, Any], page: bool = True) -> tuple[str, str]:
    """(the SQL of `event_log`, its WHERE on `events`). The newest events are picked from
    `events` first and only they meet the identity links (a join of every event in the range
    before a top-N: 1M events ~1.5 s → ~0.1 s); a person's events are narrowed first to their
    candidates (their user id, their anonymous ids), then matched exactly. `page=False`: every
    row, no limit (the batches add a time slice to the WHERE)."""
    where = scope_where(q, params)
    for i, (column, wanted) in enumerate(q.filters):
        where.append(f"{_COLUMN[column]} = $f{i}")
        params[f"f{i}"] = wanted
    if q.person is not None:
        where.append(
            "(user_id = $person OR anonymous_id = $person OR anonymous_id IN (SELECT anonymous_id"
            " FROM identities WHERE project_id = $project AND env = $env AND user_id = $person))"
        )
        params["person"] = q.person
    if q.before is not None:  # `ts <=` alone lets the scan skip row groups by their min/max
        where.append("ts <= $before_ts AND (ts < $before_ts OR uid < $before_uid)")
        params.update(before_ts=naive_utc(q.before[0]), before_uid=q.before[1])
    if page:
        params["limit"] = q.limit
    newest = " ORDER BY ts DESC, uid DESC LIMIT $limit" if page and q.person is None else ""
    columns = ", ".join(
        "strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts" if c == "ts"
        else "resolved_user_id AS user_id" if c == "user_id" else c
        for c in EVENT_LOG_COLUMNS
    )
    clause = " AND ".join(where)
    sql = f"""
        SELECT {columns} FROM (
            SELECT e.*, coalesce(e.user_id, i.user_id, e.anonymous_id) AS person,
                   coalesce(e.user_id, i.user_id) AS resolved_user_id
            FROM (SELECT * FROM events WHERE {clause}{{slice}}{newest}) e
            LEFT JOIN (
                SELECT anonymous_id, user_id FROM identities WHERE project_id = $project AND env = $env
            ) i ON i.anonymous_id = e.anonymous_id
        ) ep
        {"WHERE ep.person = $person" if q.person is not None else ""}
        ORDER BY ep.ts DESC, ep.uid DESC
        {"LIMIT $limit" if page else ""}
    """
    return sql, clause


def event_log(run: Runner, q: EventLogQuery) -> list[dict[str, Any]]:
    """One page of events, newest first, with the person each belongs to."""
    params: dict[str, Any] = {}
    sql, _where = event_log_sql(q, params)
    return _rows(*run(sql.replace("{slice}", ""), params))


def page_events(run: Runner, q: PageQuery) -> tuple[list[dict[str, Any]], int]:
    """(rows of the page, total matching events)."""
    params: dict[str, Any] = {"project": q.scope.project_id, "env": q.scope.env}
    where = ["project_id = $project", "env = $env"]
    if q.name is not None:
        where.append("name = $name")
        params["name"] = q.name
    if q.anonymous_id is not None:
        where.append("anonymous_id = $anonymous_id")
        params["anonymous_id"] = q.anonymous_id
    if q.exclude_names:
        where.append("NOT list_contains($exclude, name)")
        params["exclude"] = list(q.exclude_names)
    clause = " AND ".join(where)
    _names, total = run(f"SELECT count(*) FROM events WHERE {clause}", params)
    direction = "DESC" if q.descending else "ASC"
    params.update(limit=q.per_page, offset=(q.page - 1) * q.per_page)
    rows = _rows(*run(
        f"""
        SELECT uid, event_id, name, anonymous_id, user_id, session_id, properties, ip, user_agent,
               url, referrer, source, medium, channel,
               strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts,
               strftime(received_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS received_at
        FROM events WHERE {clause}
        ORDER BY ts {direction}, uid {direction}
        LIMIT $limit OFFSET $offset
        """,
        params,
    ))
    return rows, int(total[0][0])


def distinct_values(
    run: Runner, project_id: str, env: str, names: tuple[str, ...], prop: str
) -> set[str]:
    """Every value of one property on events with these names (e.g. the screens seen)."""
    _names, rows = run(
        """
        SELECT DISTINCT json_extract_string(properties, '$.' || to_json($prop)::VARCHAR)
        FROM events WHERE project_id = $project AND env = $env AND list_contains($names, name)
        """,
        {"project": project_id, "env": env, "names": list(names), "prop": prop},
    )
    return {r[0] for r in rows if r[0] is not None}
