-- Event counts per UTC day and every stats dimension, appended by the loader for each batch
-- (several rows per key until compacted; reads sum them). Holds no user or visitor ids.
CREATE TABLE daily_rollup (
    project_id    VARCHAR NOT NULL,
    env           VARCHAR NOT NULL,
    day           DATE NOT NULL,
    name          VARCHAR NOT NULL,
    source        VARCHAR,
    medium        VARCHAR,
    campaign      VARCHAR,
    channel       VARCHAR,
    referrer_host VARCHAR,
    country       VARCHAR,
    device_type   VARCHAR,
    browser       VARCHAR,
    os            VARCHAR,
    path          VARCHAR,
    is_bot        BOOLEAN NOT NULL,
    events        BIGINT NOT NULL
);
INSERT INTO daily_rollup
SELECT project_id, env, CAST(ts AS DATE), name, source, medium, campaign, channel, referrer_host,
       country, device_type, browser, os, path, is_bot, count(*)
FROM events
GROUP BY ALL;
