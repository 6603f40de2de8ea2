-- Recount the rollup of the (project, env, day) triples a forget or reclassify touched.
ALTER TABLE daily_rollup DELETE WHERE (project_id, env, toString(day)) IN ({{days}});
INSERT INTO daily_rollup
SELECT project_id, env, toDate(ts) AS day, name, source, medium, campaign, channel, referrer_host,
       country, device_type, browser, os, path, is_bot, toUInt64(count()) AS events
FROM events
WHERE (project_id, env, toString(toDate(ts))) IN ({{days}})
GROUP BY project_id, env, day, name, source, medium, campaign, channel, referrer_host, country,
         device_type, browser, os, path, is_bot;
