-- One row per session, maintained incrementally by the loader from each batch's rows.
CREATE TABLE sessions (
    project_id    VARCHAR NOT NULL,
    env           VARCHAR NOT NULL,
    session_id    VARCHAR NOT NULL,
    anonymous_id  VARCHAR,
    user_id       VARCHAR,
    start_ts      TIMESTAMP NOT NULL,
    end_ts        TIMESTAMP NOT NULL,
    events        BIGINT NOT NULL,
    pageviews     BIGINT NOT NULL,
    entry_path    VARCHAR,
    exit_path     VARCHAR,
    source        VARCHAR,
    medium        VARCHAR,
    campaign      VARCHAR,
    channel       VARCHAR,
    referrer_host VARCHAR,
    device_type   VARCHAR,
    browser       VARCHAR,
    os            VARCHAR,
    country       VARCHAR,
    is_bot        BOOLEAN NOT NULL,
    PRIMARY KEY (project_id, env, session_id)
);

-- Events with the person they belong to: the identified user, else the user the anonymous id
-- is linked to, else the anonymous id itself. Every people-counting read goes through this.
CREATE VIEW events_people AS
SELECT e.*, coalesce(e.user_id, i.user_id, e.anonymous_id) AS person,
       coalesce(e.user_id, i.user_id) AS resolved_user_id
FROM events e
LEFT JOIN identities i
  ON i.project_id = e.project_id AND i.env = e.env AND i.anonymous_id = e.anonymous_id;
