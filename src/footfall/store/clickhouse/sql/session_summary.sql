-- Sessions that started in [start, end): how many, how many bounced (one event or none), their
-- total duration, optionally per entry or exit page ({{group}}), as DuckDB's session_summary.
-- The last part is the page's LIMIT, or nothing (every row: the batches).
-- A session's partial rows are folded first (as in sessions.sql); {{where}} then filters the
-- folded sessions (their start, bot flag and first-event columns).
SELECT {{group}}count() AS sessions, toUInt64(countIf(events <= 1)) AS bounces,
       {{duration}} AS duration_s
FROM (
    SELECT session_id, min(start_ts) AS start_ts, max(end_ts) AS end_ts, sum(events) AS events,
           argMinMerge(entry_path) AS entry_path, argMaxMerge(exit_path) AS exit_path,
           argMinMerge(source) AS source, argMinMerge(medium) AS medium,
           argMinMerge(campaign) AS campaign, argMinMerge(channel) AS channel,
           argMinMerge(referrer_host) AS referrer_host, argMinMerge(device_type) AS device_type,
           argMinMerge(browser) AS browser, argMinMerge(os) AS os, argMinMerge(country) AS country,
           max(is_bot) AS is_bot
    FROM sessions
    WHERE project_id = {project:String} AND env = {env:String}
      AND session_id IN (
          SELECT session_id FROM sessions
          WHERE project_id = {project:String} AND env = {env:String}
            AND start_ts >= {start:DateTime64(6)} AND start_ts < {end:DateTime64(6)})
    GROUP BY session_id
)
WHERE {{where}}
{{grouping}}
{{limit}}
