"""Each conversion's touchpoints as a span of its person's session places, kept on its row of
`keyed_events` (migration 25), so side by side weighs them as they stream from one join (#19).

A conversion's touchpoints (credit.py) are its person's sessions that started in the lookback
before it, plus its own session. When its own session is among the others (nearly always),
they are the sessions at places lo..hi among its person's (`sessions.seq`, session_order.py,
by start then session id: the order the models credit them in). The row holds:

* `span_lo`, `span_hi`: lo and hi; (1, 0) for a conversion without any touchpoint (credited
  to direct); `span_hi` -1 for one whose touchpoints are no such span (its own session is not
  among its person's there, or a place is missing), which reads weigh the exact slow way; NULL
  while not found;
* `span_nd`: the place of the last touchpoint whose source is not direct (NULL: none), which
  last non-direct credits;
* `span_decay`: the sum of its touchpoints' time-decay weights, which each one's is divided by.

So a read needs no aggregate per conversion: a touchpoint's weight under every model follows
from its place, the span and those two (credit.py: `_SPAN_WEIGHT`). 10M events, side by side:
~175 ms in-process against ~230-260 ms in two parts of the join and aggregates.

Spans are found for the 30-day lookback without bots' sessions (the defaults); a read asking
otherwise weighs the slow way. A span is right whenever its person has no session without a
place, and a read uses it only then:

* `find` gives the spans of every conversion of the people `session_order.step` numbers, in
  its transaction: their places changed, and with them the spans;
* whatever changes a person's sessions takes a place away (session_order.py): a row the loader
  writes, a session whose person an identify changes, every session a reclassify rebuilds;
  and the sessions of the people a session is moved or deleted from (`visitors.relink`,
  forget), whose places would have a gap;
* a conversion whose person an identify changes has its span taken away (`visitors.relink`),
  as has a conversion the loader writes (NULL);
* `step` finds the spans taken away, and those of conversions stored before migration 25
  (the loader after a batch, and the store at each start, with `session_order`'s
  `committed_step` and `backfill`).

A read still checks what it weighed: its spans' touchpoints must number as many as the spans
add up to (a place missing leaves one short), else it reads again the slow way.
"""

from __future__ import annotations

import duckdb

__all__ = ["FIND", "HALF_LIFE_SECONDS", "IN_LOOKBACK", "LOOKBACK_SECONDS", "decay", "find", "not_direct", "step"]

# The lookback spans are found for: `AttributionQuery.lookback_seconds`' default.
LOOKBACK_SECONDS = 30 * 86400
# Time decay halves a touchpoint's weight every week before its conversion.
HALF_LIFE_SECONDS = 7 * 86400

# What the touchpoints are and weigh, for credit.py's reads and for the spans alike.
# A session `s` of the person of a conversion `c` is its touchpoint when it started in the
# lookback ($lookback seconds) before it (and the conversion's own session is one).
IN_LOOKBACK = "s.start_ts >= c.ts - to_seconds($lookback) AND s.start_ts <= c.ts"


def decay(ts: str, start: str) -> str:
    """SQL: time decay's weight of a touchpoint that started at `start`, before `ts`."""
    return f"pow(2.0, -(epoch_us({ts}) - epoch_us({start})) / 1e6 / {HALF_LIFE_SECONDS})"


def not_direct(source: str) -> str:
    """SQL: a touchpoint whose source is `source` (NULL: none) is not direct."""
    return f"coalesce({source}, 'direct') <> 'direct'"


# The spans of every conversion of the people in temp table `{people}` (project_id, env,
# person_key), their touchpoints found as credit.py finds them (not bots').
FIND = f"""
UPDATE keyed_events SET span_lo = f.lo, span_hi = f.hi, span_nd = f.nd, span_decay = f.decay
FROM (
    SELECT c.rid,
           CASE WHEN t.n IS NULL THEN CASE WHEN c.session_key IS NULL THEN 1 END
                WHEN t.spans THEN t.lo END AS lo,
           CASE WHEN t.n IS NULL THEN CASE WHEN c.session_key IS NULL THEN 0 ELSE -1 END
                WHEN t.spans THEN t.hi ELSE -1 END AS hi,
           CASE WHEN t.spans THEN t.nd END AS nd,
           CASE WHEN t.spans THEN t.decay END AS decay
    FROM span_rows c LEFT JOIN (
        SELECT c.rid, count(*) AS n, min(s.seq) AS lo, max(s.seq) AS hi,
               max(s.seq) FILTER (WHERE {not_direct("d.source")}) AS nd,
               sum({decay("c.ts", "s.start_ts")}) AS decay,
               -- every one numbered, their places without a gap, its own session among them
               count(s.seq) = count(*) AND max(s.seq) - min(s.seq) + 1 = count(*)
                 AND (any_value(c.session_key) IS NULL OR bool_or(s.session_key = c.session_key)) AS spans
        FROM span_rows c
        JOIN sessions s ON s.project_id = c.project_id AND s.env = c.env AND s.person_key = c.person_key
         AND NOT s.is_bot AND {IN_LOOKBACK}
        LEFT JOIN session_dims d ON d.project_id = s.project_id AND d.env = s.env AND d.dims_key = s.dims_key
        GROUP BY c.rid
    ) t ON t.rid = c.rid
) f
WHERE keyed_events.rowid = f.rid
"""
_ROWS = """
CREATE OR REPLACE TEMP TABLE span_rows AS
SELECT rowid AS rid, project_id, env, person_key, ts, session_key FROM keyed_events
WHERE (project_id, env, person_key) IN (SELECT project_id, env, person_key FROM {people})
"""
# A conversion without a person has only its own session: none (the empty span) or one that
# is no span of places (a session without a person has none).
_PERSONLESS = """
UPDATE keyed_events SET span_lo = CASE WHEN session_key IS NULL THEN 1 END,
       span_hi = CASE WHEN session_key IS NULL THEN 0 ELSE -1 END
WHERE span_hi IS NULL AND person_key IS NULL
"""
_UNSPANNED = """
CREATE OR REPLACE TEMP TABLE unspanned AS
SELECT DISTINCT project_id, env, person_key FROM keyed_events
WHERE span_hi IS NULL AND person_key IS NOT NULL
LIMIT $people
"""


def find(con: duckdb.DuckDBPyConnection, people: str) -> None:
    """Find the spans of every conversion of the people in temp table `people`, in the
    caller's transaction."""
    con.execute(_ROWS.format(people=people))
    con.execute(FIND, {"lookback": LOOKBACK_SECONDS})
    con.execute("DROP TABLE span_rows")


def step(con: duckdb.DuckDBPyConnection, people: int) -> int:
    """Find the spans of every conversion of up to `people` people who have one without (and
    of every conversion without a person), in the caller's transaction; returns how many
    people (fewer than `people`: none left)."""
    con.execute(_PERSONLESS)
    con.execute(_UNSPANNED, {"people": people})
    row = con.execute("SELECT count(*) FROM unspanned").fetchone()
    found = int(row[0]) if row else 0
    if found:
        find(con, "unspanned")
    con.execute("DROP TABLE unspanned")
    return found
