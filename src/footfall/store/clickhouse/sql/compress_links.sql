SELECT i.project_id, i.env, i.anonymous_id, j.user_id, i.ts, {version:UInt64}
FROM identities AS i FINAL
INNER JOIN identities AS j FINAL
  ON i.project_id = j.project_id AND i.env = j.env AND i.user_id = j.anonymous_id
WHERE j.user_id <> i.anonymous_id AND i.user_id <> j.user_id
