-- Saved funnels: a named funnel definition per project, shared by everyone who sees the project.
CREATE TABLE saved_funnels (
    id          TEXT PRIMARY KEY,                -- fnl_<hex>
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,                   -- JSON: {"steps": [{"event", "where"}], "window", "breakdown"}
    created_by  TEXT NOT NULL,                   -- the dashboard user's e-mail (kept if the user goes)
    created_at  TEXT NOT NULL
);
CREATE INDEX saved_funnels_project ON saved_funnels(project_id, created_at);
