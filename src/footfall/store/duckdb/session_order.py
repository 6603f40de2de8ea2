"""Each session's place among its person's sessions (`sessions.seq`), so conversion paths read
a conversion's touchpoints in order without building a list of them (#19).

A conversion's touchpoints are its person's sessions that started in the lookback before it:
a run of that person's sessions in (start, session id) order. When their places are the
numbers lo..hi, each touchpoint's code can go into one integer at bit `place % slots`
(`journeys.path_codes`), and the path is read back from it: at 10M events, ~225 against ~310
ms for sorting a list of each of 294k conversions' touchpoints (docs/performance.md).

`seq` is a hint the read checks, never trusted. A row the loader writes (new, or merged with
an event that came later or earlier) has none, nor does a row whose person an identify
changes (`visitors.relink`): a conversion whose touchpoints are not all numbered, or whose
numbers have a gap (a session deleted, or numbered before another came between), is read the
exact slow way. `step` numbers again every session of the people who have a row without one;
every row it numbers is then in order with the others of its person (all numbered at once),
and stays so: a row whose start or person changes loses its number. Bots' sessions are never
touchpoints (unless a read asks for them) and have no place (0, read as none), so they leave
no gaps. Forget takes the places of the sessions of every person it deletes a session of (another
person's too, in a session both shared), and an identify those of the people it moves
sessions away from, so no person's places keep a gap. `step` also finds the touchpoints' spans
of every conversion of the people it numbers (touch_spans.py), which follow from the places.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import duckdb

from footfall.store.duckdb import touch_spans

__all__ = ["STEP_PEOPLE", "backfill", "committed_step", "step"]

# People numbered per transaction: their sessions' window fits the store's 96 MB with room
# (10M events: ~10 sessions each).
STEP_PEOPLE = 20_000

_PEOPLE = """
CREATE OR REPLACE TEMP TABLE unordered AS
SELECT DISTINCT project_id, env, person_key FROM sessions
WHERE seq IS NULL AND person_key > 0
LIMIT $people
"""
# A bot's session gets 0, "numbered, and no place" (`credit.sessions` reads it as NULL): a
# session that turns out a bot's is rewritten without a number, and its person is then
# numbered again without it, so the gap it left closes.
_NUMBER = """
UPDATE sessions SET seq = n.seq
FROM (
    SELECT s.rowid AS rid,
           CASE WHEN s.is_bot THEN 0
                ELSE row_number() OVER (PARTITION BY s.project_id, s.env, s.person_key, s.is_bot
                                        ORDER BY s.start_ts, s.session_id) END AS seq
    FROM sessions s SEMI JOIN unordered u USING (project_id, env, person_key)
) n
WHERE sessions.rowid = n.rid AND sessions.seq IS DISTINCT FROM n.seq
"""


def step(con: duckdb.DuckDBPyConnection, people: int = STEP_PEOPLE) -> int:
    """Number the sessions of up to `people` people who have a session without a number, in
    the caller's transaction; returns how many people (fewer than `people`: none left)."""
    con.execute(_PEOPLE, {"people": people})
    row = con.execute("SELECT count(*) FROM unordered").fetchone()
    found = int(row[0]) if row else 0
    if found:
        con.execute(_NUMBER)
        touch_spans.find(con, "unordered")  # their places changed, and with them the spans
    con.execute("DROP TABLE unordered")
    return found


# A step of the loader's upkeep: it takes up to `people` people in the caller's transaction
# and returns how many it took (fewer: none left).
Step = Callable[[duckdb.DuckDBPyConnection, int], int]


def committed_step(con: duckdb.DuckDBPyConnection, people: int = STEP_PEOPLE, take: Step = step) -> int:
    """`take` (this module's `step`, or `touch_spans.step`) in a transaction of its own."""
    con.execute("BEGIN")
    try:
        found = take(con, people)
        con.execute("COMMIT")
    except Exception:
        with contextlib.suppress(duckdb.Error):  # a failed statement may have ended it
            con.execute("ROLLBACK")
        raise
    return found


def backfill(con: duckdb.DuckDBPyConnection, people: int = STEP_PEOPLE, take: Step = step) -> None:
    """Number every session without a number (`take`: or find every span not found yet),
    `people` people per transaction (after migration 24: every stored session; 25: every
    conversion). Interrupted, it goes on where it stopped: the people done have no row left
    to do."""
    while committed_step(con, people, take) >= people:
        pass
