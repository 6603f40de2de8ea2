-- Each event's name, time, session and properties with its person's and device's visitor_keys
-- keys, so attribution reads its conversions from a narrow table instead of scanning the events
-- and resolving each one's person through the identity links (store/duckdb/keyed_events.py).
CREATE TABLE IF NOT EXISTS keyed_events (
    project_id VARCHAR NOT NULL,
    env        VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    ts         TIMESTAMP NOT NULL,
    is_bot     BOOLEAN NOT NULL,
    device_key BIGINT,  -- the anonymous id's key, on rows of events without a user id
    person_key BIGINT,  -- the person events_people names (NULL: neither id)
    session_id VARCHAR,
    uid        VARCHAR NOT NULL,
    properties VARCHAR NOT NULL
);
-- Filled from the stored events by keyed_events.backfill once migration 19 has added its
-- session keys, a day per transaction, before 19's version is recorded (store.py: _BACKFILLS);
-- interrupted, it starts again.
