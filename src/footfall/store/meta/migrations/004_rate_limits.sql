-- Per-project overrides of the default rate limits, per route class (track, batch).
CREATE TABLE rate_limits (
    project_id  TEXT NOT NULL REFERENCES projects(id),
    route       TEXT NOT NULL,
    rate        REAL NOT NULL,
    burst       REAL NOT NULL,
    PRIMARY KEY (project_id, route)
);
