-- The mutations of a forget, in order; `forget_keys` holds what they delete.
ALTER TABLE events DELETE WHERE project_id = {project:String} AND env = {env:String}
    AND uid IN (SELECT key FROM forget_keys WHERE kind = 'event');
ALTER TABLE sessions DELETE WHERE project_id = {project:String} AND env = {env:String}
    AND session_id IN (SELECT key FROM forget_keys WHERE kind = 'session');
ALTER TABLE profiles DELETE WHERE project_id = {project:String} AND env = {env:String}
    AND ((kind = 'person' AND subject_id IN (SELECT key FROM forget_keys WHERE kind = 'person'))
      OR (kind = 'visitor' AND subject_id IN (SELECT key FROM forget_keys WHERE kind = 'visitor')));
ALTER TABLE identities DELETE WHERE project_id = {project:String} AND env = {env:String}
    AND (anonymous_id IN (SELECT key FROM forget_keys WHERE kind = 'link')
      OR user_id IN (SELECT key FROM forget_keys WHERE kind = 'person'));
