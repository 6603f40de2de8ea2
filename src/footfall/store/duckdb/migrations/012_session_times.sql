-- When a session's entry page, exit page and last user id happened, so a batch that arrives
-- out of time order (an SDK flushing late) folds them exactly: the entry page is the earliest
-- page view's, not the one of whichever batch started earlier (store/duckdb/sessions.py).
ALTER TABLE sessions ADD COLUMN entry_ts TIMESTAMP;
ALTER TABLE sessions ADD COLUMN exit_ts TIMESTAMP;
ALTER TABLE sessions ADD COLUMN user_ts TIMESTAMP;
UPDATE sessions SET entry_ts = t.entry_ts, exit_ts = t.exit_ts, user_ts = t.user_ts
FROM (
    SELECT project_id, env, session_id,
           min(ts) FILTER (WHERE name = '$pageview' AND path IS NOT NULL) AS entry_ts,
           max(ts) FILTER (WHERE name = '$pageview' AND path IS NOT NULL) AS exit_ts,
           max(ts) FILTER (WHERE user_id IS NOT NULL) AS user_ts
    FROM events WHERE session_id IS NOT NULL
    GROUP BY project_id, env, session_id
) t
WHERE sessions.project_id = t.project_id AND sessions.env = t.env
  AND sessions.session_id = t.session_id;
