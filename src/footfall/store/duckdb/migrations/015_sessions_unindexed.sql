-- Sessions without their primary-key index (#23). The loader folds each batch into the stored
-- rows by deleting the ones it merges and appending the merged rows (store/duckdb/sessions.py):
-- DuckDB's ON CONFLICT update wrote an undo entry per column and row, and its ART index grew
-- in memory with every session and was rewritten whole at each checkpoint. The fold and the
-- rebuild after reclassify keep (project_id, env, session_id) unique: each writes a key once.
CREATE TABLE sessions_unindexed AS SELECT * FROM sessions ORDER BY start_ts;
ALTER TABLE sessions_unindexed ALTER COLUMN project_id SET NOT NULL;
ALTER TABLE sessions_unindexed ALTER COLUMN env SET NOT NULL;
ALTER TABLE sessions_unindexed ALTER COLUMN session_id SET NOT NULL;
ALTER TABLE sessions_unindexed ALTER COLUMN start_ts SET NOT NULL;
ALTER TABLE sessions_unindexed ALTER COLUMN end_ts SET NOT NULL;
ALTER TABLE sessions_unindexed ALTER COLUMN events SET NOT NULL;
ALTER TABLE sessions_unindexed ALTER COLUMN pageviews SET NOT NULL;
ALTER TABLE sessions_unindexed ALTER COLUMN is_bot SET NOT NULL;
DROP TABLE sessions;
ALTER TABLE sessions_unindexed RENAME TO sessions;
