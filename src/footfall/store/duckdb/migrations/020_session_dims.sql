-- Each session's attribution columns (source, medium, campaign, channel) as one integer key of
-- their values in `session_dims`, so attribution joins its touchpoints carrying integers, not
-- four strings per session, and decodes the few distinct values after (#19;
-- store/duckdb/sessions.py keeps them).
CREATE SEQUENCE IF NOT EXISTS session_dims_keys START 1;
CREATE TABLE IF NOT EXISTS session_dims (
    project_id VARCHAR NOT NULL,
    env        VARCHAR NOT NULL,
    dims_key   BIGINT NOT NULL,  -- unique: from the sequence
    source     VARCHAR,
    medium     VARCHAR,
    campaign   VARCHAR,
    channel    VARCHAR
);
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS dims_key BIGINT;
-- Filled by sessions.backfill_dims, a day per transaction, before the version is recorded
-- (store.py: _BACKFILLS); interrupted, it goes on where it stopped.
