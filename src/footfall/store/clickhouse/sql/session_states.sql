-- A session's partial row (aggregate states) from its events, as the sessions_mv view writes
-- them; used to rebuild sessions whose events changed.
INSERT INTO sessions
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
WHERE session_id IS NOT NULL AND (project_id, env, assumeNotNull(session_id)) IN ({{sessions}})
GROUP BY project_id, env, session_id
