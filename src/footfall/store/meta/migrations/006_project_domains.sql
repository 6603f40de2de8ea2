-- The site domains a project accepts Plausible events for (the Plausible Events API has no key:
-- the event's `domain` picks the project). One domain belongs to one project.
CREATE TABLE project_domains (
    domain      TEXT PRIMARY KEY,      -- lower case, without a leading "www."
    project_id  TEXT NOT NULL REFERENCES projects(id)
);
CREATE INDEX project_domains_project ON project_domains(project_id);
