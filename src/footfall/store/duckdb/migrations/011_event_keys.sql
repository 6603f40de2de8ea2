-- One 64-bit key per stored event_id, for the loader's idempotency check (store/duckdb/dedupe.py):
-- it scans this column instead of every event's ids. A filter only: matches are checked exactly.
CREATE TABLE event_keys (k UBIGINT NOT NULL);
INSERT INTO event_keys
SELECT md5_number_lower(concat_ws(chr(31), project_id, env, event_id)) FROM events
WHERE event_id IS NOT NULL;
