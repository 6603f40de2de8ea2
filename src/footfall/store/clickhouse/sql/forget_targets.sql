-- What a forget of {user} deletes: the person's events (as user, as an anonymous id that is the
-- user id, or on an anonymous id linked to them) with their sessions, visitors and days.
SELECT uid, session_id, anonymous_id, toString(toDate(ts))
FROM events
WHERE project_id = {project:String} AND env = {env:String}
  AND (user_id = {user:String} OR anonymous_id = {user:String}
       OR anonymous_id IN {linked:Array(String)})
