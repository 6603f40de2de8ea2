-- The keys a forget deletes by (event uids, sessions, visitors, the person, days), held in memory
-- only: the mutations name this table, never a person's ids, because ClickHouse keeps each
-- mutation's text beside the table's parts.
CREATE TABLE IF NOT EXISTS forget_keys (
    kind LowCardinality(String),
    key  String
) ENGINE = Memory;

-- Parts a forget's mutation replaced stay on disk until cleanup; shorten that from 8 minutes
-- for the tables that hold personal data (docs/reliability.md).
ALTER TABLE events MODIFY SETTING old_parts_lifetime = 60;
ALTER TABLE sessions MODIFY SETTING old_parts_lifetime = 60;
ALTER TABLE identities MODIFY SETTING old_parts_lifetime = 60;
ALTER TABLE profiles MODIFY SETTING old_parts_lifetime = 60;
