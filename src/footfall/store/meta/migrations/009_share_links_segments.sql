-- Dashboard sharing: read-only share links to one project's report (live or test), and saved
-- segments (named filter sets of a project's report).
CREATE TABLE share_links (
    id             TEXT PRIMARY KEY,             -- shr_<hex>: names the link in lists, never opens it
    token_hash     TEXT NOT NULL UNIQUE,         -- sha256 of the URL's token (never the token)
    project_id     TEXT NOT NULL REFERENCES projects(id),
    env            TEXT NOT NULL CHECK (env IN ('live', 'test')),
    label          TEXT NOT NULL DEFAULT '',
    password_hash  TEXT,                         -- scrypt$n$r$p$salt$hash, NULL without a password
    embed_origins  TEXT NOT NULL DEFAULT '',     -- space-separated origins that may frame it; '' = any
    created_by     TEXT NOT NULL,                -- e-mail address of the admin who made it
    created_at     TEXT NOT NULL,
    expires_at     TEXT,                         -- NULL: until revoked
    revoked_at     TEXT,
    last_used_at   TEXT
);
CREATE INDEX share_links_project ON share_links(project_id, env);

CREATE TABLE saved_segments (
    id          TEXT PRIMARY KEY,                -- seg_<hex>: `?segment=<id>` on the report
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    filters     TEXT NOT NULL,                   -- JSON [[column, value], ...] (report filters)
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX saved_segments_project ON saved_segments(project_id);
