-- Each conversion's touchpoints as a span of its person's session places (#19): side by side
-- weighs them from it, without an aggregate per conversion (store/duckdb/touch_spans.py).
-- NULL until `touch_spans` finds them: the loader finds them for the rows it writes, and at
-- each start for those it had not found yet (store.py: DuckDBStore.migrate); a read weighs a
-- conversion without one the exact slow way.
ALTER TABLE keyed_events ADD COLUMN IF NOT EXISTS span_lo BIGINT;
ALTER TABLE keyed_events ADD COLUMN IF NOT EXISTS span_hi BIGINT;
ALTER TABLE keyed_events ADD COLUMN IF NOT EXISTS span_nd BIGINT;
ALTER TABLE keyed_events ADD COLUMN IF NOT EXISTS span_decay DOUBLE;
