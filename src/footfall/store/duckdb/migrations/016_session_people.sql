-- Each session's person as a visitor_keys key, so attribution joins sessions to conversions by
-- integers instead of resolving every session's person through the identity links by string at
-- each read (#19; store/duckdb/session_people.py keeps them, visitors.relink moves them).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS device_key BIGINT;  -- the anonymous id's, without a user id
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS person_key BIGINT;  -- 0: neither id (no person)
-- Filled from the stored sessions by session_people.backfill, a day per transaction, before the
-- version is recorded (store.py: _BACKFILLS); interrupted, it goes on where it stopped.
