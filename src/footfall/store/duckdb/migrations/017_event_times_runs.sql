-- Closed UTC days of event_times are rewritten in event-name order, and each closed ISO week
-- again as one run, so a funnel step reads only its event's row groups
-- (store/duckdb/event_times_runs.py). One row.
CREATE TABLE IF NOT EXISTS event_times_closed (
    upto      TIMESTAMP NOT NULL,  -- the start of the first UTC day not rewritten yet
    late_from TIMESTAMP,  -- the span of hours before `upto` that rows arrived for since
    late_to   TIMESTAMP   -- (to rewrite again, a week at a time)
);
-- Filled by event_times_runs.backfill (the stored rows' closed weeks and days rewritten in
-- that order, a week or a day per transaction) before the version is recorded.
