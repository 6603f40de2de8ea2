-- Profiles of visitors and persons (JSON text), folded by the loader; the newest version wins.
CREATE TABLE IF NOT EXISTS profiles (
    project_id  LowCardinality(String),
    env         LowCardinality(String),
    kind        LowCardinality(String),
    subject_id  String,
    attributes  String,
    context     String,
    custom_data String,
    enrichment  String,
    created_at  DateTime64(6, 'UTC'),
    updated_at  DateTime64(6, 'UTC'),
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, env, kind, subject_id)
SETTINGS non_replicated_deduplication_window = 1000;
