-- People seen per UTC hour and traffic dimension, as integer keys, so counts of people over whole
-- hours read about a row per visit instead of every event (store/duckdb/visitors.py keeps it).
CREATE TABLE IF NOT EXISTS visitor_keys (
    project_id VARCHAR NOT NULL,
    env        VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    key        BIGINT NOT NULL  -- unique, as (project_id, env, id): the one writer adds only new ids
);  -- no index: an ART index of every id would hold ~4 MB a day of traffic in memory at 10M events
CREATE TABLE IF NOT EXISTS visitor_hours (
    project_id    VARCHAR NOT NULL,
    env           VARCHAR NOT NULL,
    hour          TIMESTAMP NOT NULL,
    device_key    BIGINT,   -- the anonymous id's key, on rows of events without a user id
    person_key    BIGINT,   -- the person events_people names
    source        VARCHAR,
    medium        VARCHAR,
    campaign      VARCHAR,
    channel       VARCHAR,
    referrer_host VARCHAR,
    country       VARCHAR,
    region        VARCHAR,
    city          VARCHAR,
    device_type   VARCHAR,
    browser       VARCHAR,
    os            VARCHAR,
    utm_content   VARCHAR,
    utm_term      VARCHAR,
    is_bot        BOOLEAN NOT NULL
);
-- Filled from the stored events by visitors.backfill, a day per transaction, before the version
-- is recorded (store.py: _BACKFILLS); interrupted, it starts again (hence IF NOT EXISTS).
