-- keyed_events' closed UTC days and ISO weeks are rewritten in event-name order with
-- event_times' (store/duckdb/event_times_runs.py), so attribution reads only its conversions'
-- row groups. No new table: event_times_closed says how far both are.
-- The periods event_times has had rewritten (before its `upto`) are rewritten by
-- event_times_runs.backfill_keyed, a week or a day per transaction, before the version is
-- recorded (store.py: _BACKFILLS); interrupted, it starts over.
SELECT 1;
