-- Each visitor's latest session that had an event at or after {since}: carried across a restart.
SELECT project_id, env, assumeNotNull(anonymous_id), assumeNotNull(session_id), min(ts), max(ts)
FROM events
WHERE anonymous_id IS NOT NULL AND session_id IS NOT NULL
  AND startsWith(session_id, anonymous_id || '-')
  AND anonymous_id IN (SELECT anonymous_id FROM events WHERE ts >= {since:DateTime64(6)})
GROUP BY project_id, env, anonymous_id, session_id
ORDER BY max(ts) DESC
LIMIT 1 BY project_id, env, anonymous_id
