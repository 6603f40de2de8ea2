-- One page of events, newest first, with the person each belongs to (as DuckDB's event_log).
-- {{where}}: scope, range, filters, person and the keyset, on `ep.` columns (the formatted `ts`
-- below would shadow an unqualified one).
SELECT ep.uid AS uid, formatDateTime(ep.ts, '%Y-%m-%dT%H:%i:%S.%fZ') AS ts, ep.name AS name,
       ep.person AS person, ep.anonymous_id AS anonymous_id, ep.resolved_user_id AS user_id,
       ep.session_id AS session_id, ep.url AS url, ep.path AS path, ep.referrer AS referrer,
       ep.referrer_host AS referrer_host, ep.source AS source, ep.medium AS medium,
       ep.campaign AS campaign, ep.channel AS channel, ep.utm_content AS utm_content,
       ep.utm_term AS utm_term, ep.country AS country, ep.region AS region, ep.city AS city,
       ep.device_type AS device_type, ep.browser AS browser, ep.browser_version AS browser_version,
       ep.os AS os, ep.os_version AS os_version, ep.properties AS properties
FROM events_people AS ep
WHERE {{where}}
ORDER BY ep.ts DESC, ep.uid DESC
LIMIT {limit:UInt32}
