-- Per-project attribution rules, evaluated in position order before the built-in classifier.
CREATE TABLE attribution_rules (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    position    INTEGER NOT NULL,
    rule        TEXT NOT NULL,      -- JSON: {"when": {...}, "source", "medium", "campaign", "channel"}
    created_at  TEXT NOT NULL
);
CREATE INDEX attribution_rules_project ON attribution_rules(project_id, position);
