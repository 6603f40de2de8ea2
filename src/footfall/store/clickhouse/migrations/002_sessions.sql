-- Sessions, folded incrementally: every inserted block of events adds one partial row per
-- session (aggregate states), merges fold them, reads finish the aggregation. The first-event
-- fields are argMin by time; entry/exit pages are the first/last pageview's path. Engagement
-- events (time on a page) move the end but are not counted among the events (as in DuckDB).
CREATE TABLE IF NOT EXISTS sessions (
    project_id    LowCardinality(String),
    env           LowCardinality(String),
    session_id    String,
    anonymous_id  AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    source        AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    medium        AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    campaign      AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    channel       AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    referrer_host AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    device_type   AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    browser       AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    os            AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    country       AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    user_id       AggregateFunction(argMax, Nullable(String), DateTime64(6, 'UTC')),
    entry_path    AggregateFunction(argMin, Nullable(String), DateTime64(6, 'UTC')),
    exit_path     AggregateFunction(argMax, Nullable(String), DateTime64(6, 'UTC')),
    start_ts      SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    end_ts        SimpleAggregateFunction(max, DateTime64(6, 'UTC')),
    events        SimpleAggregateFunction(sum, UInt64),
    pageviews     SimpleAggregateFunction(sum, UInt64),
    is_bot        SimpleAggregateFunction(max, UInt8)
) ENGINE = AggregatingMergeTree
ORDER BY (project_id, env, session_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS sessions_mv TO sessions AS
SELECT project_id, env, assumeNotNull(session_id) AS session_id,
       argMinState(CAST(anonymous_id AS Nullable(String)), ts) AS anonymous_id,
       argMinState(CAST(source AS Nullable(String)), ts) AS source,
       argMinState(CAST(medium AS Nullable(String)), ts) AS medium,
       argMinState(CAST(campaign AS Nullable(String)), ts) AS campaign,
       argMinState(CAST(channel AS Nullable(String)), ts) AS channel,
       argMinState(CAST(referrer_host AS Nullable(String)), ts) AS referrer_host,
       argMinState(CAST(device_type AS Nullable(String)), ts) AS device_type,
       argMinState(CAST(browser AS Nullable(String)), ts) AS browser,
       argMinState(CAST(os AS Nullable(String)), ts) AS os,
       argMinState(CAST(country AS Nullable(String)), ts) AS country,
       argMaxState(CAST(user_id AS Nullable(String)), ts) AS user_id,
       argMinState(if(name = '$pageview', CAST(path AS Nullable(String)), NULL), ts) AS entry_path,
       argMaxState(if(name = '$pageview', CAST(path AS Nullable(String)), NULL), ts) AS exit_path,
       min(ts) AS start_ts, max(ts) AS end_ts, toUInt64(countIf(name != '$engagement')) AS events,
       toUInt64(countIf(name = '$pageview')) AS pageviews, toUInt8(max(is_bot)) AS is_bot
FROM events
WHERE session_id IS NOT NULL
GROUP BY project_id, env, session_id;
