-- Each conversion's touchpoints, as on DuckDB (store/duckdb/credit.py `touchpoints`): its
-- person's sessions that started in the lookback window, plus its own session. `conv` has one
-- row per conversion (uid, person, ts, session_id, value), `touch` one per touchpoint.
WITH conv AS (
    SELECT uid, person, ts, session_id, {{value}} AS value FROM {{people}}
    WHERE {{where}} AND name = {conversion:String}
),
folded AS (
    SELECT session_id, min(start_ts) AS start_ts, argMinMerge(source) AS source,
           argMinMerge(medium) AS medium, argMinMerge(campaign) AS campaign,
           argMinMerge(channel) AS channel, argMinMerge(anonymous_id) AS anonymous_id,
           argMaxMerge(user_id) AS user_id, max(is_bot) AS is_bot
    FROM sessions
    WHERE project_id = {project:String} AND env = {env:String}
    GROUP BY session_id
),
sess AS (
    SELECT s.session_id AS session_id, s.start_ts AS start_ts, s.source AS source,
           s.medium AS medium, s.campaign AS campaign, s.channel AS channel,
           coalesce(s.user_id, i.user_id, s.anonymous_id) AS person
    FROM folded AS s
    LEFT JOIN (SELECT project_id, env, anonymous_id, user_id FROM identities FINAL
               WHERE project_id = {project:String} AND env = {env:String}) AS i
      ON i.anonymous_id = s.anonymous_id
    WHERE s.start_ts < {end:DateTime64(6)}{{bots}}
      AND (s.start_ts >= {start:DateTime64(6)} - toIntervalSecond({lookback:UInt32})
           OR s.session_id IN (SELECT session_id FROM conv))
),
touch AS (
    SELECT c.uid AS uid, c.ts AS ts, s.session_id AS session_id, s.start_ts AS start_ts,
           s.source AS source, s.medium AS medium, s.campaign AS campaign, s.channel AS channel
    FROM conv AS c INNER JOIN sess AS s ON s.person = c.person
    WHERE {{in_lookback}}
    UNION ALL
    SELECT c.uid AS uid, c.ts AS ts, s.session_id AS session_id, s.start_ts AS start_ts,
           s.source AS source, s.medium AS medium, s.campaign AS campaign, s.channel AS channel
    FROM conv AS c INNER JOIN sess AS s ON s.session_id = c.session_id
    WHERE NOT coalesce(s.person = c.person AND {{in_lookback}}, false)
)
