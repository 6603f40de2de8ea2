-- Events newest first with the person each belongs to (as DuckDB's event_log). The newest are
-- picked from `events` first ({{newest}}: ORDER BY … LIMIT on a page) and only they meet the
-- identity links; {{where}} (scope, range, filters, a person's candidates, the keyset) is on
-- `events`, {{person}} matches the stitched person exactly. Output names are qualified apart
-- from the columns (`ts` is formatted text here).
SELECT e.uid AS uid, formatDateTime(e.ts, '%Y-%m-%dT%H:%i:%S.%fZ') AS ts, e.name AS name,
       coalesce(e.user_id, i.user_id, e.anonymous_id) AS person, e.anonymous_id AS anonymous_id,
       coalesce(e.user_id, i.user_id) AS user_id, e.session_id AS session_id, e.url AS url,
       e.path AS path, e.referrer AS referrer, e.referrer_host AS referrer_host,
       e.source AS source, e.medium AS medium, e.campaign AS campaign, e.channel AS channel,
       e.utm_content AS utm_content, e.utm_term AS utm_term, e.country AS country,
       e.region AS region, e.city AS city, e.device_type AS device_type, e.browser AS browser,
       e.browser_version AS browser_version, e.os AS os, e.os_version AS os_version,
       e.properties AS properties
FROM (SELECT * FROM events WHERE {{where}}{{newest}}) AS e
LEFT JOIN (
    SELECT anonymous_id, user_id FROM identities FINAL
    WHERE project_id = {project:String} AND env = {env:String}
) AS i ON i.anonymous_id = e.anonymous_id
{{person}}
ORDER BY e.ts DESC, e.uid DESC
{{limit}}
SETTINGS join_use_nulls = 1
