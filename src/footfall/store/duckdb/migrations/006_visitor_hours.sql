-- People seen per UTC hour and traffic dimension, as integer keys, so counts of people over whole
-- hours read about a row per visit instead of every event (store/duckdb/visitors.py keeps it).
CREATE TABLE visitor_keys (
    project_id VARCHAR NOT NULL,
    env        VARCHAR NOT NULL,
    id         VARCHAR NOT NULL,
    key        BIGINT NOT NULL,
    PRIMARY KEY (project_id, env, id)
);
CREATE TABLE visitor_hours (
    project_id    VARCHAR NOT NULL,
    env           VARCHAR NOT NULL,
    hour          TIMESTAMP NOT NULL,
    device_key    BIGINT,   -- the anonymous id's key, on rows of events without a user id
    person_key    BIGINT,   -- the person events_people names
    source        VARCHAR,
    medium        VARCHAR,
    campaign      VARCHAR,
    channel       VARCHAR,
    referrer_host VARCHAR,
    country       VARCHAR,
    region        VARCHAR,
    city          VARCHAR,
    device_type   VARCHAR,
    browser       VARCHAR,
    os            VARCHAR,
    utm_content   VARCHAR,
    utm_term      VARCHAR,
    is_bot        BOOLEAN NOT NULL
);
-- Backfill from the stored events (the same rows visitors.BACKFILL builds).
CREATE TEMP TABLE people AS
SELECT DISTINCT e.project_id, e.env, date_trunc('hour', e.ts) AS hour,
       CASE WHEN e.user_id IS NULL THEN e.anonymous_id END AS device,
       coalesce(e.user_id, i.user_id, e.anonymous_id) AS person,
       e.source, e.medium, e.campaign, e.channel, e.referrer_host, e.country, e.region, e.city,
       e.device_type, e.browser, e.os, e.utm_content, e.utm_term, e.is_bot
FROM events e
LEFT JOIN identities i
  ON i.project_id = e.project_id AND i.env = e.env AND i.anonymous_id = e.anonymous_id;
INSERT INTO visitor_keys
SELECT project_id, env, id, row_number() OVER ()
FROM (SELECT DISTINCT project_id, env, id FROM (
    SELECT project_id, env, device AS id FROM people UNION ALL SELECT project_id, env, person FROM people
) WHERE id IS NOT NULL);
INSERT INTO visitor_hours
SELECT p.project_id, p.env, p.hour, d.key, k.key,
       p.source, p.medium, p.campaign, p.channel, p.referrer_host, p.country, p.region, p.city,
       p.device_type, p.browser, p.os, p.utm_content, p.utm_term, p.is_bot
FROM people p
LEFT JOIN visitor_keys d ON d.project_id = p.project_id AND d.env = p.env AND d.id = p.device
LEFT JOIN visitor_keys k ON k.project_id = p.project_id AND k.env = p.env AND k.id = p.person
ORDER BY p.hour;
DROP TABLE people;
