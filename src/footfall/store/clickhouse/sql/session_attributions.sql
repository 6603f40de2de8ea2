-- For sessions active at or after {since}: the fields of the session's first event with an
-- attribution signal of its own (one tuple, so every field comes from the same event).
SELECT project_id, env, assumeNotNull(session_id), argMin(tuple({{fields}}), (ts, uid))
FROM events
WHERE session_id IS NOT NULL
  AND source_rule_id NOT IN ('direct', 'self_referral') AND source_rule_id <> 'session_inherited'
  AND (project_id, env, session_id) IN (
      SELECT project_id, env, session_id FROM events WHERE ts >= {since:DateTime64(6)})
GROUP BY project_id, env, session_id
