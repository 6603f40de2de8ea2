-- Sessions of the person: those of their events, and those whose (folded) visitor or user is
-- theirs.
SELECT session_id FROM (
    SELECT session_id, argMinMerge(anonymous_id) AS anonymous_id, argMaxMerge(user_id) AS user_id
    FROM sessions
    WHERE project_id = {project:String} AND env = {env:String}
    GROUP BY session_id
)
WHERE user_id = {user:String} OR anonymous_id = {user:String}
   OR anonymous_id IN {linked:Array(String)} OR has({sessions:Array(String)}, session_id)
