-- Events: one row per accepted event. Timestamps are UTC (naive TIMESTAMP).
CREATE TABLE events (
    project_id        VARCHAR NOT NULL,
    env               VARCHAR NOT NULL,
    uid               VARCHAR NOT NULL,
    event_id          VARCHAR,
    name              VARCHAR NOT NULL,
    ts                TIMESTAMP NOT NULL,
    received_at       TIMESTAMP NOT NULL,
    anonymous_id      VARCHAR,
    user_id           VARCHAR,
    session_id        VARCHAR,
    url               VARCHAR,
    path              VARCHAR,
    referrer          VARCHAR,
    properties        VARCHAR NOT NULL,
    dialect           VARCHAR NOT NULL,
    source            VARCHAR,
    medium            VARCHAR,
    campaign          VARCHAR,
    utm_term          VARCHAR,
    utm_content       VARCHAR,
    campaign_id       VARCHAR,
    click_id_type     VARCHAR,
    click_id          VARCHAR,
    source_confidence VARCHAR,
    source_rule_id    VARCHAR,
    referrer_host     VARCHAR,
    channel           VARCHAR,
    country           VARCHAR,
    region            VARCHAR,
    city              VARCHAR,
    device_type       VARCHAR,
    browser           VARCHAR,
    browser_version   VARCHAR,
    os                VARCHAR,
    os_version        VARCHAR,
    device_brand      VARCHAR,
    device_model      VARCHAR,
    is_bot            BOOLEAN NOT NULL,
    ip_hash           VARCHAR,
    ip                VARCHAR,
    user_agent        VARCHAR
);

-- anonymous_id → person links (identify, alias). One person per anonymous id: the first link wins,
-- so two identified users are never merged silently.
CREATE TABLE identities (
    project_id   VARCHAR NOT NULL,
    env          VARCHAR NOT NULL,
    anonymous_id VARCHAR NOT NULL,
    user_id      VARCHAR NOT NULL,
    ts           TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, env, anonymous_id)
);

-- How far the loader has applied the write-ahead log, committed with the rows it loaded.
CREATE TABLE loader_state (
    id          INTEGER PRIMARY KEY,
    applied_seq UBIGINT NOT NULL
);
INSERT INTO loader_state VALUES (1, 0);
