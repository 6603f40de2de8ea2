-- Event counts per UTC day and every stats dimension, summed as blocks arrive. No user ids.
CREATE TABLE IF NOT EXISTS daily_rollup (
    project_id    LowCardinality(String),
    env           LowCardinality(String),
    day           Date,
    name          LowCardinality(String),
    source        LowCardinality(Nullable(String)),
    medium        LowCardinality(Nullable(String)),
    campaign      Nullable(String),
    channel       LowCardinality(Nullable(String)),
    referrer_host Nullable(String),
    country       LowCardinality(Nullable(String)),
    device_type   LowCardinality(Nullable(String)),
    browser       LowCardinality(Nullable(String)),
    os            LowCardinality(Nullable(String)),
    path          Nullable(String),
    is_bot        Bool,
    events        UInt64
) ENGINE = SummingMergeTree(events)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, env, day, name, source, medium, campaign, channel, referrer_host, country,
          device_type, browser, os, path, is_bot)
SETTINGS allow_nullable_key = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_rollup_mv TO daily_rollup AS
SELECT project_id, env, toDate(ts) AS day, name, source, medium, campaign, channel, referrer_host,
       country, device_type, browser, os, path, is_bot, toUInt64(count()) AS events
FROM events
GROUP BY project_id, env, day, name, source, medium, campaign, channel, referrer_host, country,
         device_type, browser, os, path, is_bot;
