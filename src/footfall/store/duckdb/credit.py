"""Conversion attribution in DuckDB SQL: credit each conversion to its person's sessions.

Conversions are the events named `q.conversion` in [start, end). Their touchpoints are the
sessions of the same person (a session's person is its user, else the user its anonymous id is
linked to, else that anonymous id, as in `events_people`) that started in the lookback window
before the conversion, plus the conversion's own session. Each model gives every touchpoint of a
conversion a weight; the weights of one conversion sum to 1, so the credited conversions and
value sum to the totals. A conversion with no touchpoint is credited to direct.

Where the loader has found a conversion's touchpoints as a span of its person's session places
(touch_spans.py; the default lookback, without bots), each touchpoint's weight follows from its
place as it comes out of one join (`_spanned`); the others are weighed from each conversion's
aggregates joined back to its touchpoints (`_sql`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from msgspec.structs import replace

from footfall.read.queries import ATTRIBUTION_DIMENSIONS, ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.answers import attribution_answer, compared_answer
from footfall.store.duckdb import keyed_events, touch_spans
from footfall.store.duckdb.funnels import property_path
from footfall.store.duckdb.reads import Runner, scope_where

__all__ = [
    "CONVERSION_BYTES", "DIRECT", "IN_LOOKBACK", "KEY_CAP", "TOTALS", "answered", "attribution",
    "compared", "conversions", "conversions_in", "converters", "credited", "key_ceiling", "lost",
    "owned", "parts", "sessions", "touchpoints",
]  # fmt: skip

# The project's identity links, to resolve a conversion's person as `events_people` does.
_LINKS = "SELECT anonymous_id, user_id FROM identities WHERE project_id = $project AND env = $env"
DIRECT = {"source": "'direct'", "medium": "'direct'", "channel": "'Direct'", "campaign": "NULL"}

# Each touchpoint's weight, from its conversion's row in `per` or `ends` (see `_sql`) and its
# own `nd` (its source is not direct, see `touchpoints`): `n`
# touchpoints; the first, last and last non-direct one's start (`t1`, `tn`, `tl`) and, only
# when several of its touchpoints start then, the row id of the session that comes first or
# last by session id (`r1`, `rn`, `rl`; NULL when one touchpoint starts then).
_NON_DIRECT = "nd"
_FIRST = "(start_ts = t1 AND coalesce(rid = r1, true))"
_LAST = "(start_ts = tn AND coalesce(rid = rn, true))"
_LND = f"(start_ts = tl AND {_NON_DIRECT} AND coalesce(rid = rl, true))"
_DECAY = touch_spans.decay("ts", "start_ts")
_WEIGHT = {
    "first_touch": f"CASE WHEN {_FIRST} THEN 1.0 ELSE 0.0 END",
    "last_touch": f"CASE WHEN {_LAST} THEN 1.0 ELSE 0.0 END",
    "last_non_direct": (
        f"CASE WHEN CASE WHEN tl IS NULL THEN {_LAST} ELSE {_LND} END THEN 1.0 ELSE 0.0 END"
    ),
    "linear": "1.0 / n",
    "position_based": (
        "CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5"
        f" WHEN {_FIRST} OR {_LAST} THEN 0.4 ELSE 0.2 / (n - 2) END"
    ),
    "time_decay": f"{_DECAY} / decay_sum",
}

# A conversion whose touchpoints are the span of places `touch_spans.py` found for it
# (`span_hi` at least 0; the empty span when it has none), read from it when its person has no
# session without a place: none written since, or moved to or from them (their places, and
# its span, are then found again).
_SPANNED = """(coalesce(c.span_hi >= 0, false) AND NOT coalesce(c.person_key IN (
            SELECT person_key FROM sessions WHERE project_id = $project AND env = $env AND seq IS NULL
        ), false))"""


def spans_for(q: AttributionQuery) -> bool:
    """Can `q` read its conversions' touchpoints from their spans (`touch_spans.py`)? Only
    for the lookback they are found for, without bots' sessions, from `keyed_events`."""
    return (
        q.lookback_seconds == touch_spans.LOOKBACK_SECONDS
        and not q.include_bots
        and conversions_in(q) == "keyed_events"
    )


def conversions_in(q: AttributionQuery) -> str:
    """The table the conversions are read from: `keyed_events` when it holds them, else
    `events`. Either gives a row's `rowid`, `uid` and the event's columns `scope_where` reads."""
    return "keyed_events" if keyed_events.holds(q.conversion) else "events"


def _own_key(q: AttributionQuery) -> str:
    """The sessions' column that finds a conversion's own session: its integer key when the
    conversions come from `keyed_events` (which holds it, migration 19), else its id."""
    return "session_key" if conversions_in(q) == "keyed_events" else "session_id"


def conversions(
    q: AttributionQuery, params: dict[str, Any], part: tuple[int, int] | None = None, spans: bool = False
) -> str:
    """One row per conversion: cid (an integer id, the row's in `conversions_in(q)`),
    person_key (NULL without a person), ts, own_key (its session's `_own_key` column; NULL
    without a session) and value. Not its session id: the reads hold every conversion
    (10M events: 294k ids, ~15 MB of the store's 96 MB), and only a list of them shows it.
    With `part` (i, k), only the conversions of the i-th of k parts of the people (by person
    key; those without a person in part 0)."""
    where = " AND ".join(scope_where(q, params, "c"))
    if part is not None:
        params.update(part=part[0], parts=part[1])

    def in_part(person_key: str) -> str:
        return "" if part is None else f" AND coalesce({person_key}, 0) % $parts = $part"

    params["conversion"] = q.conversion
    if q.value_property is not None:
        params["value_property"] = q.value_property
        raw = f"TRY_CAST(json_extract_string(c.properties, {property_path('value_property')}) AS DOUBLE)"
        value = f"coalesce(CASE WHEN isfinite({raw}) THEN {raw} END, 0.0)"  # no NaN, no inf
    else:
        value = "0.0"
    if conversions_in(q) == "keyed_events":
        spanned = f", c.span_lo, c.span_hi, c.span_nd, c.span_decay, {_SPANNED} AS spanned" if spans else ""
        return f"""
        SELECT c.rowid AS cid, c.person_key, c.ts, c.session_key AS own_key,
               {value} AS value{spanned}
        FROM keyed_events c WHERE {where} AND c.name = $conversion{in_part("c.person_key")}"""
    # Page views are not kept there (most events are): resolved here as `keyed_events` does.
    return f"""
        SELECT c.rowid AS cid, k.key AS person_key, c.ts, c.session_id AS own_key,
               {value} AS value
        FROM events c LEFT JOIN ({_LINKS}) i ON i.anonymous_id = c.anonymous_id
        LEFT JOIN (SELECT id, key FROM visitor_keys WHERE project_id = $project AND env = $env) k
          ON k.id = coalesce(c.user_id, i.user_id, c.anonymous_id)
        WHERE {where} AND c.name = $conversion{in_part("k.key")}"""


# A session `s` of the person of a conversion `c` is its touchpoint when it started in the
# lookback before it (and the conversion's own session is one, see `touchpoints`).
IN_LOOKBACK = touch_spans.IN_LOOKBACK


def sessions(q: AttributionQuery, where: str, columns: str = "") -> str:
    """The scope's sessions a touchpoint may be (not bots', unless `q.include_bots`) that
    started before $end and match `where`, as `s`: rid (row id), own_key (the column a
    conversion's `own_key` is, see `conversions`), start_ts, dims_key, person_key, shared
    (its `shared_start`), seq (its place among its person's, see session_order.py; NULL
    without one, a bot's session included) and `columns`."""
    bots = "" if q.include_bots else " AND NOT s.is_bot"
    return f"""
        SELECT s.rowid AS rid, s.{_own_key(q)} AS own_key, s.start_ts, s.dims_key, s.person_key,
               coalesce(s.shared_start, true) AS shared, nullif(s.seq, 0) AS seq{columns}
        FROM sessions s
        WHERE s.project_id = $project AND s.env = $env{bots} AND s.start_ts < $end AND {where}"""


# The highest person key a read marks its converters by, one bit a key (`converters`): 2**26
# bits are 8 MB, held by each thread's aggregate outside the store's memory limit. Keys above it
# (or made after `key_ceiling` was read) are not marked, and their sessions are joined as though
# they were.
KEY_CAP = 2**26


def key_ceiling(run: Runner) -> dict[str, Any]:
    """The parameters `converters` needs from the store: $ceiling, the highest person key yet
    (at most `KEY_CAP`). DuckDB answers it from a checkpointed table's statistics (~0.3 ms),
    else by scanning the keys not yet checkpointed (a few ms)."""
    _names, rows = run("SELECT coalesce(max(key), 0) FROM visitor_keys", {})
    return {"ceiling": min(int(rows[0][0]), KEY_CAP)}


def _conv(q: AttributionQuery, params: dict[str, Any], part: tuple[int, int] | None, spans: bool) -> str:
    """`conv` (see `conversions`); with `spans`, first `every`: every conversion, with its
    span and whether it is read from it (`spanned`), and `conv` holds those that are not."""
    if not spans:
        return f"conv AS MATERIALIZED ({conversions(q, params, part)})"
    return f"""every AS MATERIALIZED ({conversions(q, params, part, spans=True)}),
    conv AS MATERIALIZED (SELECT cid, person_key, ts, own_key, value FROM every WHERE NOT spanned)"""


def converters(
    q: AttributionQuery, params: dict[str, Any], part: tuple[int, int] | None = None, spans: bool = False
) -> str:
    """`WITH conv, sess`: one row per conversion (see `conversions`), and the `sessions` of
    their people that started in the lookback before $end: with `IN_LOOKBACK` and the
    conversion's own session, its touchpoints (see `touchpoints`). With `part` (i, k), only
    the conversions of the i-th of k parts of the people (by person key; those without a
    person in part 0), and their people's sessions; without, `params` holds `key_ceiling`'s,
    and `converting` (the bitstring) comes between them. `sess` may hold other sessions too
    (those past the bitstring, or of another part's people): a reader of it must join it to
    `conv` by person key, as every one does."""
    params.update(lookback=q.lookback_seconds)
    # Read at once, the converters' people are marked in a bitstring (`converting`), where a
    # session looks its person's key up: 10M events, 2M sessions, 211k converters: ~60 ms of
    # operator time where a semi join (a hash table of their keys) took ~110; paths ~470 ->
    # ~410 ms, linear ~277 -> ~248, time to convert ~205 -> ~163. A session whose key is past
    # the bitstring ($ceiling) is kept, and the join decides: the answer is exact whatever
    # $ceiling is. A part's sessions are those its arithmetic picked (`conversions` sets $parts
    # and $part): marked as well, a part took longer (10M events in two parts: ~180 -> ~200 ms).
    if part is not None:
        return f"""
    WITH {_conv(q, params, part, spans)},
    sess AS ({sessions(q, "s.start_ts >= $start - to_seconds($lookback) AND s.person_key % $parts = $part")})"""
    assert "ceiling" in params, "key_ceiling(run) first"
    people = (
        "CASE WHEN s.person_key BETWEEN 0 AND $ceiling"
        " THEN coalesce(get_bit((SELECT bits FROM converting), s.person_key::INTEGER) = 1, false)"
        " ELSE true END"
    )
    return f"""
    WITH {_conv(q, params, None, spans)},
    converting AS MATERIALIZED (
        SELECT bitstring_agg(person_key, 0, $ceiling) FILTER (WHERE person_key BETWEEN 0 AND $ceiling) AS bits
        FROM conv
    ),
    sess AS ({sessions(q, f"s.start_ts >= $start - to_seconds($lookback) AND {people}")})"""


def lost(found: str, own: str) -> str:
    """`mended` (one row: `any_lost`) and `lost`: the conversions (rows of `conv`) with a
    session that is not among the touchpoints found for them, `found` being a CTE of those
    with their conversion's cid and `own`, true where the touchpoint is its conversion's own
    session (see `touchpoints`)."""
    return f"""mended AS (
        SELECT (SELECT count(*) FROM {found} WHERE {own})
             < (SELECT count(*) FROM conv WHERE own_key IS NOT NULL) AS any_lost
    ),
    lost AS (
        SELECT c.* FROM conv c, mended WHERE any_lost AND c.own_key IS NOT NULL
          AND NOT coalesce(c.cid IN (SELECT cid FROM {found}, mended WHERE {own} AND any_lost), false)
    )"""


def owned(q: AttributionQuery, columns: str = "") -> str:
    """`lost c` (see `lost`) joined to each one's own session `s` (see `sessions`; with
    `columns`). The own session held the conversion, so it ended at or after $start."""
    return f"lost c JOIN ({sessions(q, 's.end_ts >= $start', columns)}) s ON s.own_key = c.own_key"


def touchpoints(
    q: AttributionQuery, params: dict[str, Any], part: tuple[int, int] | None = None, spans: bool = False
) -> str:
    """`converters`, then `touch`: one row per touchpoint (its conversion's cid, ts and value,
    and the session's row id `rid`, start, `dims_key`, `shared` (its `shared_start`) and
    `nd`: its source is not direct). With `part` (i, k), only the conversions of the i-th of k
    parts of the people: a person's touchpoints are all in their part. The models read the
    touchpoints more than once, so they are held (`near`); paths and time to convert, which
    read them once, aggregate straight from the join instead (`journeys`)."""
    # The touchpoints carry their session's source/medium/campaign/channel as one integer
    # (`dims_key`, migration 20) through the join, `near` and the sums, and the sums get the
    # strings back from the few rows of `session_dims` (10M events: with four strings a
    # session, the join and `near` spilled out of the store's memory; linear ~420 -> ~285 ms).
    # Sessions carry their person's integer key (`session_people`, kept by the loader), and so
    # do the conversions (`keyed_events`, a narrow table the loader keeps beside the events: no
    # events scan, no identity links, no `visitor_keys` lookup per conversion; 10M events: that
    # was ~1.0 s of operator time in every attribution read). The sessions are joined to the
    # conversions by integers, without resolving each session's person through the links or
    # hashing its id string (10M events: ~55% of the read's operator time went there).
    # The conversion's own session is a touchpoint even when it is not its person's (or is
    # older than the lookback). Nearly always it is among its person's sessions in the lookback
    # (`near` flags it, comparing the session's integer key with the one `keyed_events` holds:
    # no session id string is read or carried through the join; 10M events: ~30% of linear's
    # time went to those strings). Only the conversions whose own session is not (`lost`) look
    # theirs up, by that key (`owned`). Each conversion has one own session at most (a
    # session's key and id are unique in its scope), so when `near` holds as many own sessions
    # as there are conversions with a session, none is lost (`mended`) and `lost` builds no
    # hash table of every conversion's id to find none. `own` adds exactly the sessions `near`
    # lacks, so no UNION has to dedupe every touchpoint (which ran out of memory at 10M events).
    # Conversions are few beside sessions, but DuckDB estimates an equality filter at a third
    # of the events: `coalesce(x IN (…), false)` keeps a mark join (as `lost` picks its
    # conversions), whose hash table is built from the few, where a semi join built it from
    # the many (10M events, the converters' sessions picked so, before `converters` marked
    # them in a bitstring: 2.8 -> 0.8 s of operator time for the two). A conversion's id is
    # its row's (an integer, not `uid`).
    touch = "c.cid, c.ts, c.value, s.start_ts, s.dims_key, s.rid, s.shared"
    return converters(q, params, part, spans) + f""",
    near AS MATERIALIZED (
        SELECT {touch}, s.own_key = c.own_key AS own
        FROM conv c JOIN sess s ON s.person_key = c.person_key WHERE {IN_LOOKBACK}
    ),
    {lost("near", "own")},
    own AS MATERIALIZED (
        SELECT {touch} FROM {owned(q)}
    ),
    touch AS NOT MATERIALIZED (
        SELECT t.*, coalesce(d.nd, false) AS nd
        FROM (SELECT {touch.replace("c.", "").replace("s.", "")} FROM near UNION ALL SELECT * FROM own) t
        LEFT JOIN (
            SELECT dims_key, {touch_spans.not_direct("source")} AS nd FROM session_dims
            WHERE project_id = $project AND env = $env
        ) d USING (dims_key)
    )"""


_ORDERED = {"first_touch", "last_touch", "last_non_direct", "position_based"}


def _per_conversion(models: tuple[str, ...]) -> str:
    """`per`: what `models` weigh each conversion's touchpoints by, all integers and doubles.
    Then, for the models that order the touchpoints, `ends`: `per` with the sessions that
    break ties, looked for only where touchpoints of one conversion start at the same instant
    (`ties`, rare: usually none, and then no session id is read), and only among the
    sessions that share their start with another (`sessions.FLAG_SHARED_STARTS`: touchpoints
    that start together do). Aggregate states holding strings do not spill: with the first
    and last (start, session id) of every conversion as states, side by side ran out of
    memory at 3M events under 96 MB."""
    columns = ["count(*) AS n"]
    if "time_decay" in models:
        columns.append(f"sum({_DECAY}) AS decay_sum")
    if _ORDERED & set(models):
        columns += ["min(start_ts) AS t1", "max(start_ts) AS tn"]
    lnd = "last_non_direct" in models
    columns.append(f"max(start_ts) FILTER (WHERE {_NON_DIRECT}) AS tl" if lnd else "NULL AS tl")
    sql = f"per AS (SELECT cid, {', '.join(columns)} FROM touch GROUP BY cid)"
    if not _ORDERED & set(models):
        return sql
    # One row per conversion carries all of it, so the touchpoints join it once (joined to
    # `per` and the ties apart, DuckDB built its hash table from the touchpoints and spilled).
    return (
        sql
        + f""",
    ties AS (
        SELECT cid, start_ts FROM touch JOIN per USING (cid)
        WHERE shared AND (start_ts = t1 OR start_ts = tn OR start_ts = tl)
        GROUP BY cid, start_ts HAVING count(*) > 1
    ),
    tied AS (
        SELECT cid, arg_min(rid, session_id) FILTER (WHERE start_ts = t1) AS r1,
               arg_max(rid, session_id) FILTER (WHERE start_ts = tn) AS rn,
               arg_max(rid, session_id) FILTER (WHERE start_ts = tl AND {_NON_DIRECT}) AS rl
        FROM (SELECT t.cid, t.start_ts, t.rid, t.nd FROM touch t JOIN ties USING (cid, start_ts))
        JOIN per USING (cid) JOIN (SELECT rowid AS rid, session_id FROM sessions) USING (rid)
        GROUP BY cid
    ),
    ends AS (SELECT per.*, r1, rn, rl FROM per LEFT JOIN tied USING (cid))"""
    )


# Each touchpoint's weight when its conversion `c` is `spanned` (`every`'s row), from its
# session's place `seq` in the span `c.span_lo`..`c.span_hi` (places are by start, then session
# id, the order the models credit in: the lowest place is the first touch, and ties need no
# session id), `span_nd` (the last non-direct place) and `span_decay` (the decay weights' sum).
_N = "(c.span_hi - c.span_lo + 1)"
_SPAN_WEIGHT = {
    "first_touch": "CASE WHEN seq = c.span_lo THEN 1.0 ELSE 0.0 END",
    "last_touch": "CASE WHEN seq = c.span_hi THEN 1.0 ELSE 0.0 END",
    "last_non_direct": "CASE WHEN seq = coalesce(c.span_nd, c.span_hi) THEN 1.0 ELSE 0.0 END",
    "linear": f"1.0 / {_N}",
    "position_based": (
        f"CASE WHEN {_N} = 1 THEN 1.0 WHEN {_N} = 2 THEN 0.5"
        f" WHEN seq = c.span_lo OR seq = c.span_hi THEN 0.4 ELSE 0.2 / ({_N} - 2) END"
    ),
    "time_decay": f"{touch_spans.decay('c.ts', 'start_ts')} / c.span_decay",
}


def _spanned(q: AttributionQuery, models: tuple[str, ...], part: tuple[int, int] | None) -> str:
    """`span_touch`: the weighted touchpoints of the `spanned` conversions with touchpoints,
    their person's sessions at the places of their span, with `touched` 1 on each (as many as
    the spans' lengths add up to when none is cut short: see `_WHOLE`). Each is weighed as
    it comes out of the join: no state per conversion, so the read needs no parts. Without
    `part`, the sessions are those of people marked in a bitstring, as in `converters`."""
    weights = ", ".join(f"{_SPAN_WEIGHT[m]} AS w_{m}" for m in models)
    if part is not None:
        people = "s.person_key % $parts = $part"
        marked = ""
    else:
        people = (
            "CASE WHEN s.person_key BETWEEN 0 AND $ceiling"
            " THEN coalesce(get_bit((SELECT bits FROM spanning), s.person_key::INTEGER) = 1, false)"
            " ELSE true END"
        )
        marked = """spanning AS MATERIALIZED (
        SELECT bitstring_agg(person_key, 0, $ceiling) FILTER (WHERE person_key BETWEEN 0 AND $ceiling) AS bits
        FROM every WHERE spanned
    ),"""
    return f"""{marked}
    span_touch AS (
        SELECT c.cid, s.dims_key, c.value, {weights}, 1 AS touched
        FROM (SELECT * FROM every WHERE spanned AND span_hi >= span_lo) c
        JOIN ({sessions(q, f"s.start_ts >= $start - to_seconds($lookback) AND {people}")}) s
          ON s.person_key = c.person_key AND s.seq BETWEEN c.span_lo AND c.span_hi
    )"""


def _sql(
    q: AttributionQuery, params: dict[str, Any], models: tuple[str, ...], part: tuple[int, int] | None = None,
    spans: bool = False, joined: bool = True,
) -> str:
    """`touchpoints`, then `credited`: one row per touchpoint with its weight `w_<model>` for
    each of `models`, its conversion's cid and value and its session's `dims_key`; a
    conversion without any touchpoint is one row credited whole to direct (`dims_key` -1).
    And `named`: each `dims_key`'s `q.group_by` (-1's, direct's), which `credited` rows are
    summed by once summed by key (see `_summed`).

    Each conversion's touchpoints are reduced to one row (`per`, `ends`), joined back to the
    touchpoints by the conversion's integer id: all six models come from those aggregates.
    A window over each conversion (its partitions sorted by start and session id) gave the same
    weights for more CPU (3M events: ~600 of ~900 ms for side by side), most of it carrying
    the grouped strings through its many small partitions.

    `per` holds one row per conversion with a touchpoint, so when it has as many rows as
    `conv`, none is without one, and no hash table of every conversion's id is built to find
    none (10M events, side by side: a part's CPU ~211 -> ~201 ms).
    """
    direct = ", ".join(DIRECT[d] for d in q.group_by)
    weights = ", ".join(f"{_WEIGHT[m]} AS w_{m}" for m in models)
    whole = ", ".join(f"1.0 AS w_{m}" for m in models)
    per = "ends" if _ORDERED & set(models) else "per"
    spanned = f"""SELECT cid, -1 AS dims_key, value, {whole}, 0 AS touched FROM every WHERE spanned AND span_hi < span_lo
        UNION ALL SELECT * FROM span_touch"""
    if spans and not joined:
        params.update(lookback=q.lookback_seconds)
        ctes = f"""
    WITH every AS MATERIALIZED ({conversions(q, params, part, spans=True)}),
    {_spanned(q, models, part)},
    credited AS ({spanned}),"""
    else:
        ctes = touchpoints(q, params, part, spans) + f""",
    {_per_conversion(models)},{_spanned(q, models, part) + "," if spans else ""}
    credited AS (
        SELECT cid, dims_key, value, {weights}, 0 AS touched
        FROM touch JOIN {per} USING (cid)
        UNION ALL
        SELECT cid, -1, value, {whole}, 0 FROM conv
        WHERE (SELECT count(*) FROM per) < (SELECT count(*) FROM conv)
          AND NOT coalesce(cid IN (SELECT cid FROM per), false){" UNION ALL " + spanned if spans else ""}
    ),"""
    return ctes + f"""
    named AS (
        SELECT dims_key, {", ".join(q.group_by)} FROM session_dims
        WHERE project_id = $project AND env = $env
        UNION ALL SELECT -1, {direct}
    )
    """


def credited(q: AttributionQuery, params: dict[str, Any], models: tuple[str, ...]) -> str:
    """`touchpoints`, then `credited`: each touchpoint's conversion (cid), `dims_key`, value
    and weight `w_<model>` for each of `models`, as `attribution` and `compared` weigh them,
    and `named` (a `dims_key`'s `q.group_by`; see `_sql`)."""
    return _sql(q, params, models)


def _summed(q: AttributionQuery, sums: dict[str, str], where: str, spans: bool = False) -> str:
    """`keyed`, then `grouped`: the `credited` rows matching `where` summed by `dims_key`
    (`sums`: column -> aggregate), then by `q.group_by`. The touchpoints are summed by an
    integer, and only the sums carry strings (10M events, side by side: ~5% of a part).

    With `spans`, `keyed` also counts the touchpoints read from spans (`touched`), which
    `where` must not leave out: the rows it would leave out are summed as well, so `where`
    may only leave out rows that add nothing (a weight of 0), and a key none of whose rows
    matches it is left out of `grouped`."""
    keys = ", ".join(q.group_by)
    summed = ", ".join(f"{sql} AS {name}" for name, sql in sums.items())
    if spans:
        keyed = f"""keyed AS MATERIALIZED (
        SELECT dims_key, {summed}, count(*) FILTER (WHERE {where}) AS kept, sum(touched) AS touched
        FROM credited WHERE ({where}) OR touched = 1 GROUP BY dims_key
    )"""
        kept = " WHERE kept > 0"
    else:
        keyed = f"""keyed AS (
        SELECT dims_key, {summed} FROM credited WHERE {where} GROUP BY dims_key
    )"""
        kept = ""
    return f""",
    {keyed},
    grouped AS MATERIALIZED (
        SELECT {keys}, {", ".join(f"sum({name}) AS {name}" for name in sums)}
        FROM keyed LEFT JOIN named USING (dims_key){kept} GROUP BY {keys}
    )"""


# The totals as two columns of every answer row, so the conversions are not read a second time
# by a query of their own (that was ~15% of each read at 10M events).
def _totals(table: str = "conv") -> str:
    """The totals' two columns, of the conversions in `table`."""
    return f"(SELECT count(*) FROM {table}) AS total_n, (SELECT coalesce(sum(value), 0.0) FROM {table}) AS total_v"


TOTALS = _totals()


def answered(
    run: Runner, ctes: str, final: str, params: dict[str, Any]
) -> tuple[tuple[Any, Any], list[tuple[Any, ...]]]:
    """The totals (conversions, value) and the rows of `final`, whose columns end with
    `TOTALS`. No row means no conversion (each one is credited somewhere and is on a path);
    then the totals are asked alone, as before."""
    _names, rows = run(ctes + final, params)
    if not rows:
        bare = {k: v for k, v in params.items() if k != "limit"}  # DuckDB refuses an unused one
        _names, alone = run(ctes + " SELECT count(*), coalesce(sum(value), 0.0) FROM conv", bare)
        return (alone[0][0], alone[0][1]), []
    return (rows[0][-2], rows[0][-1]), [row[:-2] for row in rows]


def attribution(run: Runner, q: AttributionQuery, memory_bytes: int | None = None) -> dict[str, Any]:
    """Conversions and value credited by `q.model` to each distinct `q.group_by`, highest
    first (`memory_bytes`: as for `compared`)."""
    assert q.model in ATTRIBUTION_MODELS
    assert q.group_by and all(d in ATTRIBUTION_DIMENSIONS for d in q.group_by)
    w = f"w_{q.model}"
    # Ordered by the rounded sums, so float noise never decides between equal credits.
    (conversions, value), rows = _grouped(
        run, q, (q.model,), {"credit": f"sum({w})::DOUBLE", "credit_value": f"sum({w} * value)::DOUBLE"},
        f"{w} > 0",
        lambda totals: f"""
        SELECT *, {totals} FROM grouped
        ORDER BY round(credit, 6) DESC, round(credit_value, 6) DESC,
                 {", ".join(f"{d} NULLS LAST" for d in q.group_by)}
        LIMIT $limit
        """,
        memory_bytes,
    )  # fmt: skip
    return attribution_answer(q, conversions, value, rows)


# What a conversion holds in a read of the models that order its touchpoints, in bytes (10M
# events: 294k conversions with 3 touchpoints each peaked at ~150 MB of hash tables and
# materialized rows side by side, unconstrained).
CONVERSION_BYTES = 512
# The share of the store's memory one part of it may take: the rest holds table blocks.
_PART_SHARE = 0.8
_MAX_PARTS = 64


def parts(conversions: int, memory_bytes: int) -> int:
    """How many parts (by person) a read of `conversions` is run in, so that each part's
    state fits `memory_bytes`.

    >>> parts(294_220, 96 * 10**6), parts(294_220, 10**9), parts(0, 1)
    (2, 1, 1)
    """
    need = conversions * CONVERSION_BYTES / (memory_bytes * _PART_SHARE)
    return max(1, min(_MAX_PARTS, math.ceil(need)))


# With spans, every answer row first says whether the spans read were whole: as many of their
# touchpoints summed as their lengths add up to. Every store path that takes a session from a
# person numbers them again (touch_spans.py), so this holds unless a row was deleted behind
# the store's back; it is checked all the same, and the answer read again the slow way.
_WHOLE = """(SELECT coalesce(sum(touched), 0) FROM keyed)
    = (SELECT coalesce(sum(span_hi - span_lo + 1), 0) FROM every WHERE spanned AND span_hi >= span_lo)"""


def _grouped(
    run: Runner, q: AttributionQuery, models: tuple[str, ...], sums: dict[str, str], where: str,
    final: Callable[[str], str], memory_bytes: int | None,
) -> tuple[tuple[Any, Any], list[tuple[Any, ...]]]:
    """The totals (conversions, value) and the rows of `final(totals)`, a query of `grouped`:
    the `credited` rows matching `where` summed by `q.group_by` (`sums`: column -> aggregate;
    `totals`: the SQL of the totals' columns, which `final`'s rows end with).

    The conversions whose touchpoints are a span of their person's session places
    (`touch_spans.py`) are credited from it, the others from the join of the conversions and
    their people's sessions (see `_sql`). When a span read is not whole (`_WHOLE`), the
    answer is read again without spans."""
    if spans_for(q):
        answer = _summed_in_parts(run, q, models, sums, where, final, memory_bytes, spans=True)
        if answer is not None:
            return answer
    answer = _summed_in_parts(run, q, models, sums, where, final, memory_bytes, spans=False)
    assert answer is not None
    return answer


def _summed_in_parts(
    run: Runner, q: AttributionQuery, models: tuple[str, ...], sums: dict[str, str], where: str,
    final: Callable[[str], str], memory_bytes: int | None, spans: bool,
) -> tuple[tuple[Any, Any], list[tuple[Any, ...]]] | None:
    """`_grouped`'s answer, with spans or without (None: a span read was not whole).

    When the models order touchpoints and their conversions' state would not fit
    `memory_bytes` (the store's memory), the conversions are read in parts by person
    (`parts`), and a last query adds up the parts' sums: every touchpoint of a conversion is
    its person's (or its own session), so the parts share none, and the sums are exact. The
    ordered models' aggregates spill badly (10M events under 96 MB: side by side ~720 ms at
    once, two parts ~180 ms each; first touch ~460 ms at once, ~305 ms in two parts). Linear
    and time decay spill little and are read at once (time decay: 378 ms, two parts ~185
    each). Only the conversions credited without spans count: a span's touchpoints are
    weighed as they stream from the join, and hold no state. With none, the read has no join
    of conversions and sessions at all (`joined`), and checks that none turned up since."""
    keys = ", ".join(q.group_by)
    table = "every" if spans else "conv"
    # The conversions whose state the parts would hold: with spans, only those without one.
    counted: dict[str, Any] = {}
    held: int | None = None
    if spans:  # counted without their value, which only the answer reads
        unvalued = conversions(replace(q, value_property=None), counted, spans=True)
        _names, count = run(f"SELECT count(*) FROM ({unvalued}) WHERE NOT spanned", counted)
        held = int(count[0][0])
    elif memory_bytes is not None and _ORDERED & set(models):
        _names, count = run(f"SELECT count(*) FROM ({conversions(q, counted)})", counted)
        held = int(count[0][0])
    joined = not spans or held != 0
    whole = _WHOLE if spans else "true"
    if not joined:  # and none has turned up by the time the answer is read
        whole += " AND NOT EXISTS (SELECT 1 FROM every WHERE NOT spanned)"
    last = f"{whole} AS whole, {_totals(table)}"
    k = 1
    if memory_bytes is not None and _ORDERED & set(models) and held:
        k = parts(held, memory_bytes)
    # The groups are materialised before ORDER BY ... LIMIT: a top-N straight over the
    # aggregate ran out of memory at 10M events under a 96 MB limit (DuckDB plans it as a
    # late-materialising top-N over the whole join).
    if k == 1:
        params: dict[str, Any] = key_ceiling(run)
        ctes = _sql(q, params, models, spans=spans, joined=joined) + _summed(q, sums, where, spans)
        _names, rows = run(ctes + final(last), {**params, "limit": q.limit})
        if not rows:  # no conversion (each one is credited somewhere), or a span cut short
            bare = {k: v for k, v in params.items() if k != "limit"}  # DuckDB refuses an unused one
            _names, alone = run(ctes + f" SELECT count(*), coalesce(sum(value), 0.0) FROM {table}", bare)
            if spans and alone[0][0]:
                return None
            return (alone[0][0], alone[0][1]), []
        if not rows[0][-3]:
            return None
        return (rows[0][-2], rows[0][-1]), [row[:-3] for row in rows]
    # The parts' rows go to the last query as a list per column (a list of row structs took
    # ~6x longer to bind: ~235 ms for 70k rows).
    names = [*q.group_by, *sums]
    columns: dict[str, list[Any]] = {name: [] for name in names}
    n, value = 0, 0.0
    for i in range(k):
        params = {}
        _names, rows = run(
            _sql(q, params, models, (i, k), spans) + _summed(q, sums, where, spans)
            + f" SELECT {keys}, {', '.join(sums)}, {last} FROM grouped",
            params,
        )
        if rows:  # none: the part has no conversion (with spans: or one cut short, read again)
            if not rows[0][-3]:
                return None
            n, value = n + int(rows[0][-2]), value + float(rows[0][-1])  # without a value: DECIMAL 0
        elif spans:
            return None
        for name, column in zip(names, zip(*rows, strict=False), strict=False):
            columns[name] += column
    if not columns[names[0]]:
        return (n, value), []
    _names, rows = run(
        f"""WITH partial AS (SELECT {", ".join(f"unnest($p_{name}) AS {name}" for name in names)}),
        grouped AS MATERIALIZED (
            SELECT {keys}, {", ".join(f"sum({name}) AS {name}" for name in sums)}
            FROM partial GROUP BY {keys}
        )"""
        + final("NULL AS whole, NULL AS total_n, NULL AS total_v"),
        {**{f"p_{name}": column for name, column in columns.items()}, "limit": q.limit},
    )
    return (n, value), [row[:-3] for row in rows]


def compared(run: Runner, q: AttributionQuery, memory_bytes: int | None = None) -> dict[str, Any]:
    """Every model side by side, from one pass over the touchpoints (`q.model` is ignored;
    `memory_bytes`: the store's memory, which may have it read in parts, see `_grouped`).

    Each row carries each model's credited conversions and value, and `disagreement`: the
    largest minus the smallest share of all conversions the models give the row (0 when they
    agree, at most 1). Rows come by their credit summed over the models, highest first.
    """
    assert q.group_by and all(d in ATTRIBUTION_DIMENSIONS for d in q.group_by)
    models = ATTRIBUTION_MODELS
    keys = ", ".join(q.group_by)
    sums = {f"{x}_{m}": f"sum(w_{m}{'' if x == 'c' else ' * value'})" for m in models for x in "cv"}
    credits = [f"round(c_{m}, 6)" for m in models]
    (conversions, value), rows = _grouped(
        run, q, models, {k: f"{v}::DOUBLE" for k, v in sums.items()}, "true",
        lambda totals: f"""
        SELECT {keys}, {", ".join(sums)},
               greatest({", ".join(credits)}) - least({", ".join(credits)}) AS spread, {totals}
        FROM grouped
        ORDER BY {" + ".join(credits)} DESC, {", ".join(f"{d} NULLS LAST" for d in q.group_by)}
        LIMIT $limit
        """,
        memory_bytes,
    )  # fmt: skip
    return compared_answer(q, models, conversions, value, rows)
