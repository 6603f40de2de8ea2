-- Conversion attribution, as on DuckDB (store/duckdb/credit.py): each conversion's touchpoints
-- are its person's sessions that started in the lookback window, plus its own session; a model
-- weighs them (weights of one conversion sum to 1); no touchpoint means direct.
WITH conv AS (
    SELECT uid, person, ts, session_id, {{value}} AS value FROM events_people
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
),
decayed AS (
    SELECT *, pow(2.0, -(toUnixTimestamp64Micro(ts) - toUnixTimestamp64Micro(start_ts)) / 1e6
                      / {{half_life}}) AS decay
    FROM touch
),
-- Each conversion's aggregates beside its touchpoints by window functions: `decayed` is read
-- once (ClickHouse inlines a CTE at every reference, and a join back to its aggregate doubled
-- the whole chain).
agg AS (
    SELECT *, count() OVER w AS n, sum(decay) OVER w AS decay_sum,
           argMin(session_id, (start_ts, session_id)) OVER w AS first_sid,
           argMax(session_id, (start_ts, session_id)) OVER w AS last_sid,
           if(countIf({{non_direct}}) OVER w = 0, NULL,
              argMaxIf(session_id, (start_ts, session_id), {{non_direct}}) OVER w)
               AS last_non_direct_sid
    FROM decayed
    WINDOW w AS (PARTITION BY uid)
),
weighted AS (
    SELECT * FROM (
        SELECT t.uid AS uid, t.source AS source, t.medium AS medium, t.campaign AS campaign,
               t.channel AS channel, {{weight}} AS w
        FROM agg AS t
    ) WHERE w > 0
),
credited AS (
    SELECT c.uid AS uid, c.value AS value, coalesce(t.w, 1.0) AS w, {{fallback}}
    FROM conv AS c LEFT JOIN weighted AS t ON t.uid = c.uid
)
