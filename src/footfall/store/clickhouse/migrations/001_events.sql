-- Events: one row per accepted event (docs/scaling.md explains the choices).
-- Partitioned by month (a forget or reclassify rewrites only the months it touches), ordered by
-- the filters every read starts with: project, environment, time. Dimensions are LowCardinality.
-- The dedup window makes a retried insert with the same insert_deduplication_token a no-op.
CREATE TABLE IF NOT EXISTS events (
    project_id        LowCardinality(String),
    env               LowCardinality(String),
    uid               String,
    event_id          Nullable(String),
    name              LowCardinality(String),
    ts                DateTime64(6, 'UTC'),
    received_at       DateTime64(6, 'UTC'),
    anonymous_id      Nullable(String),
    user_id           Nullable(String),
    session_id        Nullable(String),
    url               Nullable(String),
    path              Nullable(String),
    referrer          Nullable(String),
    properties        String,
    dialect           LowCardinality(String),
    source            LowCardinality(Nullable(String)),
    medium            LowCardinality(Nullable(String)),
    campaign          Nullable(String),
    utm_term          Nullable(String),
    utm_content       Nullable(String),
    campaign_id       Nullable(String),
    click_id_type     LowCardinality(Nullable(String)),
    click_id          Nullable(String),
    source_confidence LowCardinality(Nullable(String)),
    source_rule_id    LowCardinality(Nullable(String)),
    referrer_host     Nullable(String),
    channel           LowCardinality(Nullable(String)),
    country           LowCardinality(Nullable(String)),
    region            Nullable(String),
    city              Nullable(String),
    device_type       LowCardinality(Nullable(String)),
    browser           LowCardinality(Nullable(String)),
    browser_version   Nullable(String),
    os                LowCardinality(Nullable(String)),
    os_version        Nullable(String),
    device_brand      LowCardinality(Nullable(String)),
    device_model      Nullable(String),
    is_bot            Bool,
    ip_hash           Nullable(String),
    ip                Nullable(String),
    user_agent        Nullable(String),
    latitude          Nullable(Float64),
    longitude         Nullable(Float64),
    time_zone         LowCardinality(Nullable(String)),
    isp               Nullable(String),
    organization      Nullable(String),
    -- Replays and idempotency look event ids and uids up: skip granules that cannot hold them.
    INDEX event_id_bloom event_id TYPE bloom_filter GRANULARITY 4,
    INDEX uid_bloom uid TYPE bloom_filter GRANULARITY 4
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (project_id, env, ts, uid)
SETTINGS non_replicated_deduplication_window = 1000;

-- anonymous_id → person links. One person per anonymous id: the loader inserts only an anonymous
-- id's first link; alias chains are shortened by writing a newer version of a link.
CREATE TABLE IF NOT EXISTS identities (
    project_id   LowCardinality(String),
    env          LowCardinality(String),
    anonymous_id String,
    user_id      String,
    ts           DateTime64(6, 'UTC'),
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, env, anonymous_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- How far each node's loader has applied its own write-ahead log: one row per append, the
-- largest wins. Several nodes share the store, each with its own WAL (and sequence numbers), so
-- the position is per writer (the node id in its data directory, `node-id`).
CREATE TABLE IF NOT EXISTS loader_state (
    writer      String,
    applied_seq UInt64
) ENGINE = ReplacingMergeTree(applied_seq)
ORDER BY writer;

-- Events with the person they belong to: the identified user, else the user the anonymous id is
-- linked to, else the anonymous id itself. Every people-counting read goes through this.
CREATE VIEW IF NOT EXISTS events_people AS
SELECT e.*, coalesce(e.user_id, i.user_id, e.anonymous_id) AS person,
       coalesce(e.user_id, i.user_id) AS resolved_user_id
FROM events AS e
LEFT JOIN (SELECT project_id, env, anonymous_id, user_id FROM identities FINAL) AS i
  ON i.project_id = e.project_id AND i.env = e.env AND i.anonymous_id = e.anonymous_id
SETTINGS join_use_nulls = 1;
