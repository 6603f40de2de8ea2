-- Each session's integer key, kept through every merge of its row, and on each keyed event its
-- session's key: attribution finds a conversion's own session among the touchpoints by
-- comparing integers, so no session id string is read or carried through the touchpoints
-- join (#19; store/duckdb/sessions.py gives the keys, keyed_events.py copies them).
CREATE SEQUENCE IF NOT EXISTS session_keys START 1;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS session_key BIGINT;
ALTER TABLE keyed_events ADD COLUMN IF NOT EXISTS session_key BIGINT;  -- NULL: no session
-- Filled by sessions.backfill_keys, a day per transaction, then keyed_events.backfill, before
-- the version is recorded (store.py: _BACKFILLS); interrupted, both go on or start over.
