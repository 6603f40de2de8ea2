-- Each person's times of each event name per UTC hour, with the integer keys of visitor_keys,
-- so a funnel's steps read about a row per visit and event name, joined on integers, instead
-- of every event and the identity join (store/duckdb/event_times.py keeps and reads it).
CREATE TABLE IF NOT EXISTS event_times (
    project_id    VARCHAR NOT NULL,
    env           VARCHAR NOT NULL,
    hour          TIMESTAMP NOT NULL,
    device_key    BIGINT,   -- the anonymous id's key, on rows of events without a user id
    person_key    BIGINT NOT NULL,  -- the person events_people names
    name          VARCHAR NOT NULL,
    is_bot        BOOLEAN NOT NULL,
    first_ts      TIMESTAMP NOT NULL,
    last_ts       TIMESTAMP NOT NULL,
    times         TIMESTAMP[]  -- every distinct time, ascending, when there is more than one
);
-- Filled from the stored events by event_times.backfill, a day per transaction, before the
-- version is recorded (store.py: _BACKFILLS); interrupted, it starts again.
