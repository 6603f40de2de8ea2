-- Profiles: what is known about a visitor (A-TRACK's uuid, Millimetric's anonymous_id) or a
-- person (user_id): attributes/traits, the context they arrived with, custom data, and the
-- enrichment computed at ingest (geo, device, source). JSON text; merged by the loader.
CREATE TABLE profiles (
    project_id  VARCHAR NOT NULL,
    env         VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,      -- visitor | person
    subject_id  VARCHAR NOT NULL,
    attributes  VARCHAR NOT NULL,
    context     VARCHAR NOT NULL,
    custom_data VARCHAR NOT NULL,
    enrichment  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, env, kind, subject_id)
);
