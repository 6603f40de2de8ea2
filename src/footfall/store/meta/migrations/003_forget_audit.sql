-- One row per /v1/forget: who asked (key prefix), a hash of the subject, what was deleted.
-- No user id or anonymous id is ever written here.
CREATE TABLE forget_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   TEXT NOT NULL,
    env          TEXT NOT NULL,
    subject_hash TEXT NOT NULL,    -- sha256(project_id ":" env ":" user_id)
    key_prefix   TEXT NOT NULL,
    events       INTEGER NOT NULL,
    identities   INTEGER NOT NULL,
    sessions     INTEGER NOT NULL,
    at           TEXT NOT NULL
);
