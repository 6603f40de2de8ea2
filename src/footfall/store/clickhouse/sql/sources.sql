SELECT {{keys}}, count() AS events, count(DISTINCT person) AS uniques,
       {{paid_share}} AS paid_share
FROM {{people}}
WHERE {{where}}
GROUP BY {{keys}}
ORDER BY events DESC, {{keys}}
LIMIT {limit:UInt32}
