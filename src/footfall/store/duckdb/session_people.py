"""Each session's person as an integer key, kept by the loader, so attribution joins sessions to
conversions by integers instead of resolving every session's person through the identity
links and hashing its id string at each read (#19).

`sessions.person_key` is the `visitor_keys` key of the person `credit` credits a session to:
its user id, else the user its anonymous id is linked to, else that anonymous id (0 when it has
neither: no person, which no conversion has). `sessions.device_key` is its anonymous id's key
when it has no user id, the only sessions whose person an identify can change later; it is what
`visitors.relink` rewrites, as it does for `visitor_hours`.

The loader writes a folded session row with its keys: `visitors.fold_events` keys the ids of
the batch's events and of its merged sessions (`FOLDED_IDS`) at once, then `INSERT_FOLDED`
appends the merged rows (temp `session_fold`) with them, so every row the loader writes is keyed
(#23, sixth pass: it used to insert them without keys and update them after). A row rebuilt by
reclassify has no keys yet: `fill` gives every row without keys its keys (reclassify and
migration 16). Forget deletes the person's sessions with their keys; the keys a
remaining session holds stay, since each names an id some remaining event's person or device
has (`visitors.FORGET_KEYS` keeps those).
"""

from __future__ import annotations

import duckdb

from footfall.store.duckdb import visitors
from footfall.store.duckdb.daily import each_day
from footfall.store.duckdb.sessions import COLUMNS, DIMS_JOIN

__all__ = ["FOLDED_IDS", "INSERT_FOLDED", "backfill", "fill"]

# The sessions without keys (and `{where}`), with the ids their keys are for. `rid` is the row's
# id: the rows are updated by it, not by joining the table on the session id string.
_UNKEYED = """
CREATE OR REPLACE TEMP TABLE unkeyed AS
SELECT s.rowid AS rid, s.project_id, s.env,
       CASE WHEN s.user_id IS NULL THEN s.anonymous_id END AS device,
       coalesce(s.user_id, i.user_id, s.anonymous_id) AS person
FROM sessions s
LEFT JOIN identities i
  ON i.project_id = s.project_id AND i.env = s.env AND i.anonymous_id = s.anonymous_id
WHERE s.person_key IS NULL {where}
"""
_IDS = (
    "SELECT project_id, env, device AS id FROM unkeyed"
    " UNION ALL SELECT project_id, env, person FROM unkeyed"
)
# Rows whose ids have no key in `batch_keys` yet are left for a later `fill`.
_SET = """
UPDATE sessions SET device_key = n.device_key, person_key = n.person_key
FROM (
    SELECT u.rid, d.key AS device_key, coalesce(k.key, 0) AS person_key FROM unkeyed u
    LEFT JOIN batch_keys d ON d.project_id = u.project_id AND d.env = u.env AND d.id = u.device
    LEFT JOIN batch_keys k ON k.project_id = u.project_id AND k.env = u.env AND k.id = u.person
    WHERE (u.device IS NULL OR d.key IS NOT NULL) AND (u.person IS NULL OR k.key IS NOT NULL)
) n
WHERE sessions.rowid = n.rid
"""


# The ids of the batch's merged sessions (temp `session_fold`, which resolves them as
# `_UNKEYED` does), for `visitors.fold_events` to key with the batch's events' ids.
FOLDED_IDS = (
    "SELECT project_id, env, device AS id FROM session_fold"
    " UNION ALL SELECT project_id, env, person FROM session_fold"
)
# Every id has its key in `batch_keys` then: no person (neither id) is key 0, as in `_SET`.
INSERT_FOLDED = f"""
INSERT INTO sessions ({COLUMNS}, device_key, person_key, session_key, dims_key, shared_start)
SELECT {", ".join(f"f.{c.strip()}" for c in COLUMNS.split(","))}, d.key, coalesce(k.key, 0),
       f.session_key, sd.dims_key, false
FROM session_fold f
{DIMS_JOIN}
LEFT JOIN batch_keys d ON d.project_id = f.project_id AND d.env = f.env AND d.id = f.device
LEFT JOIN batch_keys k ON k.project_id = f.project_id AND k.env = f.env AND k.id = f.person
"""


def fill(
    con: duckdb.DuckDBPyConnection, where: str = "", params: dict[str, object] | None = None
) -> None:
    """Give every session row without keys (narrowed by `where`, an `AND …` on `s`) its keys.
    An id without a key gets one (the loader has keyed every id of its batch already; a
    migration's backfill may find ids before `visitor_keys` has them)."""
    con.execute(_UNKEYED.format(where=where), params)
    row = con.execute("SELECT count(*) FROM unkeyed").fetchone()
    if row and row[0]:
        for sql in visitors.KEY_IDS:
            con.execute(sql.format(ids=_IDS))
        con.execute(_SET)
        for sql in visitors.DROP_KEYS:
            con.execute(sql)
    con.execute("DROP TABLE unkeyed")


def backfill(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 16: every stored session's keys, a UTC day of session starts per transaction
    (at once, 10M events' 2M sessions need more than the store's 96 MB). Interrupted, it goes
    on where it stopped: a row keyed already is skipped."""
    each_day(
        con,
        "SELECT DISTINCT CAST(start_ts AS DATE) AS d FROM sessions WHERE person_key IS NULL ORDER BY d",
        lambda day: fill(con, "AND CAST(s.start_ts AS DATE) = $day", {"day": day}),
    )
