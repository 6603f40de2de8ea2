-- Each session's place among its person's sessions, by (start_ts, session_id), from 1 (#19):
-- conversion paths read a conversion's touchpoints in that order without listing them, and
-- check that it holds (store/duckdb/session_order.py). NULL until `session_order.step` gives
-- it: a row the loader writes, and every row whose person changes, start NULL.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS seq BIGINT;
-- Filled by session_order.backfill at each start (store.py: DuckDBStore.migrate), some people
-- per transaction, after the version is recorded: paths are exact without it, so a store too
-- small for it still opens, and the loader numbers the sessions later.
