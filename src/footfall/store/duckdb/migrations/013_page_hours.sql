-- People seen per UTC hour by the path of their page views, and by event name, as the integer
-- keys of visitor_keys, so top pages, goals and conversions over whole hours read about a row per
-- page (event) of a visit instead of every event and the identity join (store/duckdb/visitors.py
-- keeps them beside visitor_hours).
CREATE TABLE IF NOT EXISTS page_hours (
    project_id    VARCHAR NOT NULL,
    env           VARCHAR NOT NULL,
    hour          TIMESTAMP NOT NULL,
    device_key    BIGINT,   -- the anonymous id's key, on rows of events without a user id
    person_key    BIGINT,   -- the person events_people names
    path          VARCHAR,  -- of `$pageview` events only
    is_bot        BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS event_hours (
    project_id    VARCHAR NOT NULL,
    env           VARCHAR NOT NULL,
    hour          TIMESTAMP NOT NULL,
    device_key    BIGINT,
    person_key    BIGINT,
    name          VARCHAR NOT NULL,
    is_bot        BOOLEAN NOT NULL
);
-- Filled from the stored events by visitors.backfill_pages, a day per transaction, before the
-- version is recorded (store.py: _BACKFILLS); interrupted, it starts again.
-- How many of a session's events are not a bot's (engagement events included), so the visits
-- KPI counts the sessions inside a range from this table and only checks the events of those
-- crossing its edges (store/duckdb/reads.py: _visits). Filled by the same backfill.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS humans BIGINT;
