-- Dashboard: people who log in to the web dashboard, the projects a viewer may see, their
-- login sessions, and each project's reporting time zone (day boundaries of the report).
ALTER TABLE projects ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE dashboard_users (
    email          TEXT PRIMARY KEY,             -- stored lower-cased
    password_hash  TEXT NOT NULL,                -- scrypt$n$r$p$salt$hash (never the password)
    role           TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at     TEXT NOT NULL
);

CREATE TABLE dashboard_user_projects (
    email       TEXT NOT NULL REFERENCES dashboard_users(email) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    PRIMARY KEY (email, project_id)
);

CREATE TABLE dashboard_sessions (
    token_hash  TEXT PRIMARY KEY,                -- sha256 of the cookie value
    email       TEXT NOT NULL REFERENCES dashboard_users(email) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,                   -- sent back in every form of this session
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX dashboard_sessions_email ON dashboard_sessions(email);
