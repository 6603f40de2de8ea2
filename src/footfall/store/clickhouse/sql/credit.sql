-- After touchpoints.sql: a model weighs each conversion's touchpoints (the weights of one
-- conversion sum to 1), `credited` has the weights (`w`, or `w_<model>` for every model side by
-- side) and value; a conversion without touchpoints is credited whole to direct.
, decayed AS (
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
               t.channel AS channel, {{weights}}
        FROM agg AS t
    ) WHERE {{nonzero}}
),
credited AS (
    SELECT c.uid AS uid, c.value AS value, {{credited}}, {{fallback}}
    FROM conv AS c LEFT JOIN weighted AS t ON t.uid = c.uid
)
