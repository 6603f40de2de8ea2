SELECT attributes, context, custom_data, enrichment,
       formatDateTime(created_at, '%Y-%m-%dT%H:%i:%S.%fZ') AS created_at,
       formatDateTime(updated_at, '%Y-%m-%dT%H:%i:%S.%fZ') AS updated_at
FROM profiles FINAL
WHERE project_id = {project:String} AND env = {env:String} AND kind = {kind:String}
  AND subject_id = {subject:String}
