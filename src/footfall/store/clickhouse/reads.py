"""The read side in ClickHouse SQL: the fixed statements are in `sql/`, the ones whose columns
follow the question (group_by, filters, buckets) are built here from checked names.

Every value travels as a server-bound `{name:Type}` parameter; column and interval names are
checked against fixed lists before they reach SQL. Answers are the same as DuckDB's, row for
row (tests/store/conformance).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

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
from footfall.store.answers import SESSION_COLUMNS, covers
from footfall.store.base import EventQuery
from footfall.store.clickhouse.sql import statement

__all__ = [
    "ISO_MICROS",
    "SCOPED_PEOPLE",
    "Runner",
    "ch_time",
    "event_log",
    "event_log_sql",
    "json_text",
    "page_events",
    "query_events",
    "scope_where",
    "session_attributions",
    "session_summary",
    "session_summary_sql",
    "sessions",
    "sessions_sql",
    "sources",
    "stats",
    "stats_sql",
]

Runner = Callable[[str, dict[str, Any]], tuple[list[str], list[tuple[Any, ...]]]]

ISO_MICROS = "%Y-%m-%dT%H:%i:%S.%fZ"
_COLUMN = {c: c for c in GROUP_BY_COLUMNS} | {"event_name": "name"}
_METRIC = {
    "count": "count()",
    "uniques": "count(DISTINCT person)",
    "sessions": "count(DISTINCT session_id)",
    "users": "count(DISTINCT resolved_user_id)",
    # Values that are not numbers count as nothing rather than failing the whole read (as
    # DuckDB's TRY_CAST).
    "sum": "coalesce(sum(toFloat64OrNull({text})), 0.0)",
}
# Buckets of a DateTime in its own time zone (weeks start on Monday, as DuckDB's date_trunc).
_BUCKET = {
    "hour": "toStartOfHour({x})",
    "day": "toStartOfDay({x})",
    "week": "toDateTime(toStartOfWeek({x}, 1), {tz})",
    "month": "toDateTime(toStartOfMonth({x}), {tz})",
}
_QUERY_COLUMNS = (
    "event_id", "anonymous_id", "user_id", "session_id", "source", "medium", "campaign",
    "source_confidence", "source_rule_id", "channel", "referrer", "url", "path", "country",
    "device_type", "properties",
)  # fmt: skip


def ch_time(value: datetime) -> str:
    """A DateTime64(6) parameter, in UTC."""
    from footfall.store.answers import naive_utc

    return naive_utc(value).strftime("%Y-%m-%d %H:%M:%S.%f")


def round_half_up(expr: str, digits: int) -> str:
    """DuckDB's round (half away from zero) for the non-negative values we round; ClickHouse's
    `round` rounds float ties to even."""
    scale = 10**digits
    return f"floor({expr} * {scale} + 0.5) / {scale}"


def json_text(column: str, key_param: str) -> str:
    """SQL: the text of a top-level JSON property (strings unquoted, other values as JSON,
    NULL when absent or null), as DuckDB's json_extract_string gives it."""
    kind = f"JSONType({column}, {{{key_param}:String}})"
    return (
        f"multiIf({kind} = 'String', JSONExtractString({column}, {{{key_param}:String}}),"
        f" {kind} = 'Null', NULL, JSONExtractRaw({column}, {{{key_param}:String}}))"
    )


def _rows(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


# `events_people` for one project and environment (`{project:String}`, `{env:String}`), as a
# subquery: the identity join then hashes the anonymous id alone against that project's links,
# instead of (project, environment, anonymous id) against every project's for each event.
SCOPED_PEOPLE = """(
    SELECT e.*, coalesce(e.user_id, i.user_id, e.anonymous_id) AS person,
           coalesce(e.user_id, i.user_id) AS resolved_user_id
    FROM events AS e
    LEFT JOIN (
        SELECT anonymous_id, user_id FROM identities FINAL
        WHERE project_id = {project:String} AND env = {env:String}
    ) AS i ON i.anonymous_id = e.anonymous_id
    WHERE e.project_id = {project:String} AND e.env = {env:String}
)"""


def scope_where(q: Any, params: dict[str, Any], table: str = "") -> list[str]:
    """Project, environment, time range and the bot switch: every read starts here."""
    t = f"{table}." if table else ""
    params.update(
        project=q.scope.project_id, env=q.scope.env, start=ch_time(q.start), end=ch_time(q.end)
    )
    where = [
        f"{t}project_id = {{project:String}}", f"{t}env = {{env:String}}",
        f"{t}ts >= {{start:DateTime64(6)}}", f"{t}ts < {{end:DateTime64(6)}}",
    ]  # fmt: skip
    if not q.include_bots:
        where.append(f"NOT {t}is_bot")
    return where


def query_events(run: Runner, q: EventQuery) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        "project": q.scope.project_id, "env": q.scope.env,
        "start": ch_time(q.start), "end": ch_time(q.end), "limit": q.limit,
    }  # fmt: skip
    where = [
        "project_id = {project:String}", "env = {env:String}",
        "ts >= {start:DateTime64(6)}", "ts < {end:DateTime64(6)}",
    ]  # fmt: skip
    for column, value in (
        ("name", q.event), ("source", q.source), ("medium", q.medium),
        ("anonymous_id", q.anonymous_id), ("country", q.country),
    ):  # fmt: skip
        if value is not None:
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    if q.user_id is not None:
        where.append(
            "(user_id = {user_id:String} OR anonymous_id = {user_id:String}"
            " OR anonymous_id IN (SELECT anonymous_id FROM identities FINAL"
            " WHERE project_id = {project:String} AND env = {env:String}"
            " AND user_id = {user_id:String}))"
        )
        params["user_id"] = q.user_id
    sql = (
        f"SELECT formatDateTime(ts, '{ISO_MICROS}') AS timestamp, name AS event_name, "
        + ", ".join(_QUERY_COLUMNS)
        + " FROM events WHERE " + " AND ".join(where)
        + " ORDER BY ts DESC, uid DESC LIMIT {limit:UInt32}"
    )
    return _rows(*run(sql, params))


def stats(run: Runner, q: StatsQuery, use_rollup: bool = True) -> list[dict[str, Any]]:
    """Stats rows; counts over whole UTC days come from `daily_rollup`, as on DuckDB."""
    return _rows(*run(*stats_sql(q, use_rollup)))


def stats_sql(q: StatsQuery, use_rollup: bool = True, page: bool = True) -> tuple[str, dict[str, Any]]:
    """The SQL of `stats` and its params; `page=False`: every row, no limit (the batches)."""
    params: dict[str, Any] = {"limit": q.limit} if page else {}
    if use_rollup and covers(q):
        params.update(
            project=q.scope.project_id, env=q.scope.env,
            start=ch_time(q.start)[:10], end=ch_time(q.end)[:10],
        )  # fmt: skip
        where = [
            "project_id = {project:String}", "env = {env:String}",
            "day >= {start:Date}", "day < {end:Date}",
        ]  # fmt: skip
        if not q.include_bots:
            where.append("NOT is_bot")
        table, value, local, tz, fmt = (
            "daily_rollup", "sum(events)", "toDateTime(day, 'UTC')", "'UTC'", "%Y-%m-%dT%H:%i:%SZ"
        )
    else:
        where = scope_where(q, params)
        table = SCOPED_PEOPLE if q.metric in ("uniques", "users") else "events"
        value = _METRIC[q.metric]
        if q.metric == "sum":
            value = value.format(text=json_text("properties", "value_property"))
            params["value_property"] = q.value_property or ""
        if q.timezone == "UTC":
            local, tz, fmt = "ts", "'UTC'", "%Y-%m-%dT%H:%i:%SZ"
        else:
            local, tz, fmt = "toTimeZone(ts, {tz:String})", "{tz:String}", "%Y-%m-%dT%H:%i:%S"
            params["tz"] = q.timezone
    if q.event is not None:
        where.append("name = {event:String}")
        params["event"] = q.event
    for i, (column, wanted) in enumerate(q.filters):
        where.append(f"{_COLUMN[column]} = {{f{i}:String}}")
        params[f"f{i}"] = wanted
    inner = [f"{_COLUMN[c]} AS {c}" for c in q.group_by]
    outer = [*q.group_by, "value"]
    keys = list(q.group_by)
    order: list[str] = []
    if q.interval is not None:
        assert q.interval in INTERVALS
        inner.insert(0, _BUCKET[q.interval].format(x=local, tz=tz) + " AS _bucket")
        outer.insert(0, f"formatDateTime(_bucket, '{fmt}') AS bucket")
        keys.insert(0, "_bucket")
        order.append("_bucket")
    sql = (
        f"SELECT {', '.join(outer)} FROM ("
        f"SELECT {', '.join([*inner, value + ' AS value'])} FROM {table}"
        f" WHERE {' AND '.join(where)}"
        + (f" GROUP BY {', '.join(keys)}" if keys else "")
        + f") ORDER BY {', '.join([*order, 'value DESC', *q.group_by])}"
        + (" LIMIT {limit:UInt32}" if page else "")
    )
    return sql, params


def sources(run: Runner, q: SourcesQuery) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": q.limit}
    where = scope_where(q, params)
    keys = ["source", "medium"] if q.breakdown == "source_medium" else ["source"]
    sql = statement(
        "sources", people=SCOPED_PEOPLE, keys=", ".join(keys), where=" AND ".join(where),
        paid_share=round_half_up("avg(if(medium = 'paid', 1.0, 0.0))", 4),
    )  # fmt: skip
    return _rows(*run(sql, params))


def _session_scope(
    q: SessionsQuery | SessionSummaryQuery, t: str
) -> tuple[dict[str, Any], list[str]]:
    """Folded sessions (alias prefix `t`) that started in [start, end), bots left out unless
    asked; the params also scope the candidate sessions to the project and environment."""
    params: dict[str, Any] = {
        "limit": q.limit, "project": q.scope.project_id, "env": q.scope.env,
        "start": ch_time(q.start), "end": ch_time(q.end),
    }  # fmt: skip
    where = [f"{t}start_ts >= {{start:DateTime64(6)}}", f"{t}start_ts < {{end:DateTime64(6)}}"]
    if not q.include_bots:
        where.append(f"NOT {t}is_bot")
    for i, (column, wanted) in enumerate(q.filters):
        params[f"f{i}"] = wanted
        if column in SESSION_COLUMNS:
            where.append(f"{t}{column} = {{f{i}:String}}")
        else:  # path, event_name, utm_*, region, city: sessions that had such an event
            where.append(
                f"{t}session_id IN (SELECT assumeNotNull(session_id) FROM events"
                " WHERE project_id = {project:String} AND env = {env:String}"
                f" AND ts >= {{start:DateTime64(6)}} AND {_COLUMN[column]} = {{f{i}:String}}"
                " AND session_id IS NOT NULL)"
            )
    return params, where


def session_summary(run: Runner, q: SessionSummaryQuery) -> list[dict[str, Any]]:
    """Rows of (group,) sessions, bounces, duration_s: the same sessions `/v1/sessions` lists."""
    return _rows(*run(*session_summary_sql(q)))


def session_summary_sql(q: SessionSummaryQuery, page: bool = True) -> tuple[str, dict[str, Any]]:
    """The SQL of `session_summary` and its params; `page=False`: every row, no limit."""
    params, where = _session_scope(q, "")
    if not page:
        del params["limit"]
    group = grouping = ""
    if q.group_by is not None:
        assert q.group_by in SESSION_GROUPS
        group = f"{q.group_by}, "
        grouping = f"GROUP BY {q.group_by} ORDER BY sessions DESC, {q.group_by}"
    sql = statement(
        "session_summary", group=group, where=" AND ".join(where), grouping=grouping,
        duration=round_half_up("sum(toFloat64(dateDiff('microsecond', start_ts, end_ts))) / 1e6", 3),
        limit="LIMIT {limit:UInt32}" if page else "",
    )  # fmt: skip
    return sql, params


def sessions_sql(q: SessionsQuery, page: bool = True) -> tuple[str, dict[str, Any]]:
    """The SQL of `sessions` and its params; `page=False`: every session, no limit."""
    params, where = _session_scope(q, "s.")
    if q.user_id is not None:
        # A person's id may also be the distinct id an SDK tracks them under (Sankofa).
        where.append(
            "(coalesce(s.user_id, i.user_id) = {user_id:String}"
            " OR s.anonymous_id = {user_id:String})"
        )
        params["user_id"] = q.user_id
    if q.anonymous_id is not None:
        where.append("s.anonymous_id = {anonymous_id:String}")
        params["anonymous_id"] = q.anonymous_id
    after = ""  # keyset paging, on the folded start (outer) and in the pick of the newest
    if q.after is not None:
        after = (
            " AND (@start < {after_ts:DateTime64(6)}"
            " OR (@start = {after_ts:DateTime64(6)} AND @id > {after_id:String}))"
        )
        where.append(after[5:].replace("@start", "s.start_ts").replace("@id", "s.session_id"))
        params.update(after_ts=ch_time(q.after[0]), after_id=q.after[1])
    newest = ""
    if q.user_id is None and q.anonymous_id is None and not q.filters:
        newest = (
            " AND session_id IN (SELECT session_id FROM sessions"
            " WHERE project_id = {project:String} AND env = {env:String} AND session_id IN ("
            " SELECT session_id FROM sessions WHERE project_id = {project:String}"
            " AND env = {env:String} AND start_ts >= {start:DateTime64(6)}"
            " AND start_ts < {end:DateTime64(6)})"
            " GROUP BY session_id HAVING min(start_ts) >= {start:DateTime64(6)}"
            + ("" if q.include_bots else " AND max(is_bot) = 0")
            + after.replace("@start", "min(start_ts)").replace("@id", "session_id")
            + " ORDER BY min(start_ts) DESC, session_id LIMIT {limit:UInt32})"
        )
    sql = statement(
        "sessions", where=" AND ".join(where), newest=newest if page else "",
        duration=round_half_up("duration_us / 1e6", 3), limit="LIMIT {limit:UInt32}" if page else "",
    )
    if not page:
        del params["limit"]
    return sql, params


def sessions(run: Runner, q: SessionsQuery) -> list[dict[str, Any]]:
    return _rows(*run(*sessions_sql(q)))


def event_log_sql(q: EventLogQuery, params: dict[str, Any], page: bool = True) -> str:
    """The SQL of `event_log` (`page=False`: every row, no limit), as DuckDB's builds it."""
    where = scope_where(q, params)
    for i, (column, wanted) in enumerate(q.filters):
        where.append(f"{_COLUMN[column]} = {{f{i}:String}}")
        params[f"f{i}"] = wanted
    person = ""
    if q.person is not None:
        where.append(
            "(user_id = {person:String} OR anonymous_id = {person:String} OR anonymous_id IN ("
            "SELECT anonymous_id FROM identities FINAL WHERE project_id = {project:String}"
            " AND env = {env:String} AND user_id = {person:String}))"
        )
        person = "WHERE coalesce(e.user_id, i.user_id, e.anonymous_id) = {person:String}"
        params["person"] = q.person
    if q.before is not None:
        where.append(
            "ts <= {before_ts:DateTime64(6)}"
            " AND (ts < {before_ts:DateTime64(6)} OR uid < {before_uid:String})"
        )
        params.update(before_ts=ch_time(q.before[0]), before_uid=q.before[1])
    limit = newest = ""
    if page:
        params["limit"] = q.limit
        limit = "LIMIT {limit:UInt32}"
        if q.person is None:
            newest = " ORDER BY ts DESC, uid DESC LIMIT {limit:UInt32}"
    return statement(
        "event_log", where=" AND ".join(where), newest=newest, person=person, limit=limit
    )


def event_log(run: Runner, q: EventLogQuery) -> list[dict[str, Any]]:
    """One page of events, newest first, with the person each belongs to."""
    params: dict[str, Any] = {}
    return _rows(*run(event_log_sql(q, params), params))


def page_events(run: Runner, q: PageQuery) -> tuple[list[dict[str, Any]], int]:
    """(rows of the page, total matching events)."""
    params: dict[str, Any] = {"project": q.scope.project_id, "env": q.scope.env}
    where = ["project_id = {project:String}", "env = {env:String}"]
    if q.name is not None:
        where.append("name = {name:String}")
        params["name"] = q.name
    if q.anonymous_id is not None:
        where.append("anonymous_id = {anonymous_id:String}")
        params["anonymous_id"] = q.anonymous_id
    if q.exclude_names:
        where.append("NOT has({exclude:Array(String)}, name)")
        params["exclude"] = list(q.exclude_names)
    clause = " AND ".join(where)
    _names, total = run(f"SELECT count() FROM events WHERE {clause}", params)
    direction = "DESC" if q.descending else "ASC"
    params.update(limit=q.per_page, offset=(q.page - 1) * q.per_page)
    rows = _rows(*run(
        f"""
        SELECT uid, event_id, name, anonymous_id, user_id, session_id, properties, ip, user_agent,
               url, referrer, source, medium, channel,
               formatDateTime(ts, '{ISO_MICROS}') AS ts,
               formatDateTime(received_at, '{ISO_MICROS}') AS received_at
        FROM events WHERE {clause}
        ORDER BY events.ts {direction}, uid {direction}
        LIMIT {{limit:UInt32}} OFFSET {{offset:UInt64}}
        """,
        params,
    ))  # fmt: skip
    return rows, int(total[0][0])


def distinct_values(
    run: Runner, project_id: str, env: str, names: tuple[str, ...], prop: str
) -> set[str]:
    _names, rows = run(
        f"SELECT DISTINCT {json_text('properties', 'prop')} FROM events"
        " WHERE project_id = {project:String} AND env = {env:String}"
        " AND has({names:Array(String)}, name)",
        {"project": project_id, "env": env, "names": list(names), "prop": prop},
    )
    return {r[0] for r in rows if r[0] is not None}


def session_attributions(
    run: Runner, since: str, fields: tuple[str, ...]
) -> list[tuple[tuple[str, str, str], tuple[object, ...]]]:
    assert all(f.isidentifier() for f in fields)
    _names, rows = run(statement("session_attributions", fields=", ".join(fields)), {"since": since})
    return [((r[0], r[1], r[2]), tuple(r[3])) for r in rows]
