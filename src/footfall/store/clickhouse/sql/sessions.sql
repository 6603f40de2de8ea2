-- Sessions that started in [start, end), newest first. A session's partial rows are folded here;
-- candidates are the sessions with any partial row starting in range (the earliest start of a
-- session is one of its rows' starts), so the fold reads only those. Without a person to match,
-- {{newest}} first folds only the start (and bot flag) to pick the newest `limit` of them.
-- {{limit}}: a page's LIMIT, empty for every session (the batches).
SELECT s.session_id, s.anonymous_id, coalesce(s.user_id, i.user_id) AS user_id,
       formatDateTime(s.start_ts, '%Y-%m-%dT%H:%i:%S.%fZ') AS start,
       formatDateTime(s.end_ts, '%Y-%m-%dT%H:%i:%S.%fZ') AS `end`,
       {{duration}} AS duration_s,
       s.entry_path, s.exit_path, s.pageviews, s.events, CAST(s.events <= 1 AS Bool) AS bounce,
       s.source, s.medium, s.campaign, s.channel, s.referrer_host,
       s.device_type, s.browser, s.os, s.country
FROM (
    SELECT project_id, env, session_id,
           argMinMerge(anonymous_id) AS anonymous_id, argMaxMerge(user_id) AS user_id,
           min(start_ts) AS start_ts, max(end_ts) AS end_ts,
           sum(events) AS events, sum(pageviews) AS pageviews,
           argMinMerge(entry_path) AS entry_path, argMaxMerge(exit_path) AS exit_path,
           argMinMerge(source) AS source, argMinMerge(medium) AS medium,
           argMinMerge(campaign) AS campaign, argMinMerge(channel) AS channel,
           argMinMerge(referrer_host) AS referrer_host, argMinMerge(device_type) AS device_type,
           argMinMerge(browser) AS browser, argMinMerge(os) AS os, argMinMerge(country) AS country,
           max(is_bot) AS is_bot,
           toFloat64(dateDiff('microsecond', start_ts, end_ts)) AS duration_us
    FROM sessions
    WHERE project_id = {project:String} AND env = {env:String}
      AND session_id IN (
          SELECT session_id FROM sessions
          WHERE project_id = {project:String} AND env = {env:String}
            AND start_ts >= {start:DateTime64(6)} AND start_ts < {end:DateTime64(6)}){{newest}}
    GROUP BY project_id, env, session_id
) AS s
LEFT JOIN (SELECT project_id, env, anonymous_id, user_id FROM identities FINAL) AS i
  ON i.project_id = s.project_id AND i.env = s.env AND i.anonymous_id = s.anonymous_id
WHERE {{where}}
ORDER BY s.start_ts DESC, s.session_id
{{limit}}
