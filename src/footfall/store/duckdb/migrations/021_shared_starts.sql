-- Whether another session of the project and environment started at the same instant as this
-- one (set when either is written, never cleared: true may be stale, false is exact), so
-- attribution looks for touchpoints tied at one instant only among those sessions (#19;
-- store/duckdb/sessions.py keeps it).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS shared_start BOOLEAN;
-- Filled by sessions.backfill_shared_starts, a day per transaction, before the version is
-- recorded (store.py: _BACKFILLS); interrupted, it goes on where it stopped.
