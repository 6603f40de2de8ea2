CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    origins       TEXT NOT NULL DEFAULT '[]',   -- JSON list of allowed browser origins
    store_raw_ip  INTEGER NOT NULL DEFAULT 0,   -- opt-in: keep raw client IPs
    created_at    TEXT NOT NULL
);

CREATE TABLE api_keys (
    prefix       TEXT PRIMARY KEY,             -- 8 chars, safe to log
    project_id   TEXT REFERENCES projects(id), -- NULL for account keys
    kind         TEXT NOT NULL CHECK (kind IN ('pk', 'sk', 'rk', 'ak')),
    env          TEXT NOT NULL CHECK (env IN ('live', 'test')),
    secret_hash  TEXT NOT NULL,                -- sha256 of the secret; the secret itself is never stored
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

-- Daily salts for ip_hash and cookieless visitor ids; old days are deleted so hashes cannot be
-- recomputed later.
CREATE TABLE daily_salts (
    day   TEXT PRIMARY KEY,
    salt  BLOB NOT NULL
);
