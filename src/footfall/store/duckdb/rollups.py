"""Daily rollups: event counts per UTC day and stats dimension, so count stats over long ranges
read thousands of rows instead of millions.

The loader appends each batch's counts; `compact` folds the rows of one key together; forget and
reclassify rebuild the days they touched, so the rollup always equals counting the events.
"""

from __future__ import annotations

from footfall.store.answers import ROLLUP_DIMENSIONS, covers

__all__ = ["APPEND", "COMPACT", "DIMENSIONS", "REBUILD_DAYS", "REBUILD_DAYS_BETWEEN", "covers"]

DIMENSIONS = ROLLUP_DIMENSIONS
_KEY = "project_id, env, day, " + ", ".join(DIMENSIONS) + ", is_bot"
_AGGREGATE = (
    f"SELECT project_id, env, CAST(ts AS DATE) AS day, {', '.join(DIMENSIONS)}, is_bot,"
    " count(*) AS events FROM {source} {where} GROUP BY ALL"
)

APPEND = f"INSERT INTO daily_rollup {_AGGREGATE.format(source='staged', where='')}"

# Rebuild the rollup rows of the (project, env, day) triples in temp table `touched_days`.
REBUILD_DAYS = (
    "DELETE FROM daily_rollup WHERE (project_id, env, day) IN (SELECT * FROM touched_days)",
    "INSERT INTO daily_rollup "
    + _AGGREGATE.format(
        source="events",
        where="WHERE (project_id, env, CAST(ts AS DATE)) IN (SELECT * FROM touched_days)",
    ),
)
# The same when every touched day lies in [$day_lo, $day_hi): the scan skips the other row
# groups instead of reading every event.
REBUILD_DAYS_BETWEEN = (
    "DELETE FROM daily_rollup WHERE day >= CAST($day_lo AS DATE) AND day < CAST($day_hi AS DATE)"
    " AND (project_id, env, day) IN (SELECT * FROM touched_days)",
    "INSERT INTO daily_rollup "
    + _AGGREGATE.format(
        source="events",
        where="WHERE ts >= $day_lo AND ts < $day_hi"
        " AND (project_id, env, CAST(ts AS DATE)) IN (SELECT * FROM touched_days)",
    ),
)

COMPACT = (
    f"CREATE OR REPLACE TEMP TABLE compacted AS SELECT {_KEY}, sum(events)::BIGINT AS events"
    " FROM daily_rollup GROUP BY ALL",
    "DELETE FROM daily_rollup",
    "INSERT INTO daily_rollup SELECT * FROM compacted",
    "DROP TABLE compacted",
)
