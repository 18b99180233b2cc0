-- diff: what changed between two snapshots -- totals; keys and memory per
-- pattern, type and db; new and vanished big keys; keys that lost their TTL;
-- the keys that grew most.  OLD and NEW are joined on (db, key).

-- view: changes
SELECT coalesce(n.db, o.db) AS db,
       coalesce(n.key, o.key) AS key,
       coalesce(n.type, o.type) AS type,
       key_pattern_of(coalesce(n.key, o.key)) AS pattern,
       o.memory_bytes AS memory_before, n.memory_bytes AS memory_after,
       o.length AS length_before, n.length AS length_after,
       o.expire_at AS expire_at_before, n.expire_at AS expire_at_after,
       o.key IS NULL AS added, n.key IS NULL AS removed,
       coalesce(n.source, o.source) AS source     -- the dump holding the key now (before, when removed)
FROM old_keys o FULL OUTER JOIN new_keys n ON o.db = n.db AND o.key = n.key
WHERE o.key IS NULL OR n.key IS NULL
   OR o.memory_bytes IS DISTINCT FROM n.memory_bytes
   OR o.length IS DISTINCT FROM n.length
   OR (o.expire_at IS NULL) <> (n.expire_at IS NULL)
   OR o.type IS DISTINCT FROM n.type;

-- table: totals
WITH o AS (SELECT sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory,
                  sum(keys - keys_no_ttl)::BIGINT AS keys_ttl, sum(memory_no_ttl)::BIGINT AS memory_no_ttl
           FROM old_pattern_stats),
     n AS (SELECT sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory,
                  sum(keys - keys_no_ttl)::BIGINT AS keys_ttl, sum(memory_no_ttl)::BIGINT AS memory_no_ttl
           FROM new_pattern_stats),
     c AS (SELECT count(*) FILTER (WHERE added) AS added, count(*) FILTER (WHERE removed) AS removed,
                  count(*) FILTER (WHERE NOT added AND NOT removed) AS changed,
                  count(*) FILTER (WHERE NOT added AND NOT removed AND expire_at_before IS NOT NULL
                                   AND expire_at_after IS NULL) AS lost_ttl
           FROM changes),
     u AS (SELECT (SELECT CASE WHEN count(used_mem) = count(*) THEN sum(used_mem) END FROM old_meta)::BIGINT AS before,
                  (SELECT CASE WHEN count(used_mem) = count(*) THEN sum(used_mem) END FROM new_meta)::BIGINT AS after)
SELECT metric, before, after, after - before AS delta,
       round((after - before) / nullif(before, 0), 4) AS growth
FROM (SELECT 'keys' AS metric, o.keys AS before, n.keys AS after, 1 AS ord FROM o, n
      UNION ALL SELECT 'memory_bytes', o.memory, n.memory, 2 FROM o, n
      UNION ALL SELECT 'keys_with_ttl', o.keys_ttl, n.keys_ttl, 3 FROM o, n
      UNION ALL SELECT 'memory_no_ttl_bytes', o.memory_no_ttl, n.memory_no_ttl, 4 FROM o, n
      UNION ALL SELECT 'used_mem', u.before, u.after, 5 FROM u
      UNION ALL SELECT 'keys_added', NULL, c.added, 6 FROM c
      UNION ALL SELECT 'keys_removed', NULL, c.removed, 7 FROM c
      UNION ALL SELECT 'keys_changed', NULL, c.changed, 8 FROM c
      UNION ALL SELECT 'keys_that_lost_ttl', NULL, c.lost_ttl, 9 FROM c)
ORDER BY ord;

-- table: by_pattern
WITH o AS (SELECT pattern, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory
           FROM old_pattern_stats GROUP BY pattern),
     n AS (SELECT pattern, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory
           FROM new_pattern_stats GROUP BY pattern)
SELECT coalesce(n.pattern, o.pattern) AS pattern,
       coalesce(o.keys, 0) AS keys_before, coalesce(n.keys, 0) AS keys_after,
       coalesce(n.keys, 0) - coalesce(o.keys, 0) AS keys_delta,
       coalesce(o.memory, 0) AS memory_before, coalesce(n.memory, 0) AS memory_after,
       coalesce(n.memory, 0) - coalesce(o.memory, 0) AS memory_delta,
       round((coalesce(n.memory, 0) - coalesce(o.memory, 0)) / nullif(o.memory, 0), 4) AS growth
FROM o FULL OUTER JOIN n ON o.pattern = n.pattern
WHERE coalesce(n.memory, 0) <> coalesce(o.memory, 0) OR coalesce(n.keys, 0) <> coalesce(o.keys, 0)
ORDER BY abs(coalesce(n.memory, 0) - coalesce(o.memory, 0)) DESC, pattern
LIMIT $top;

-- table: by_type
WITH o AS (SELECT type, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory FROM old_pattern_stats GROUP BY type),
     n AS (SELECT type, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory FROM new_pattern_stats GROUP BY type)
SELECT coalesce(n.type, o.type) AS type,
       coalesce(o.keys, 0) AS keys_before, coalesce(n.keys, 0) AS keys_after,
       coalesce(n.keys, 0) - coalesce(o.keys, 0) AS keys_delta,
       coalesce(o.memory, 0) AS memory_before, coalesce(n.memory, 0) AS memory_after,
       coalesce(n.memory, 0) - coalesce(o.memory, 0) AS memory_delta,
       round((coalesce(n.memory, 0) - coalesce(o.memory, 0)) / nullif(o.memory, 0), 4) AS growth
FROM o FULL OUTER JOIN n ON o.type = n.type
ORDER BY abs(coalesce(n.memory, 0) - coalesce(o.memory, 0)) DESC, 1;

-- table: by_db
WITH o AS (SELECT db, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory FROM old_pattern_stats GROUP BY db),
     n AS (SELECT db, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory FROM new_pattern_stats GROUP BY db)
SELECT coalesce(n.db, o.db) AS db,
       coalesce(o.keys, 0) AS keys_before, coalesce(n.keys, 0) AS keys_after,
       coalesce(n.keys, 0) - coalesce(o.keys, 0) AS keys_delta,
       coalesce(o.memory, 0) AS memory_before, coalesce(n.memory, 0) AS memory_after,
       coalesce(n.memory, 0) - coalesce(o.memory, 0) AS memory_delta,
       round((coalesce(n.memory, 0) - coalesce(o.memory, 0)) / nullif(o.memory, 0), 4) AS growth
FROM o FULL OUTER JOIN n ON o.db = n.db
ORDER BY 1;

-- table: new_big_keys
SELECT db, key, type, pattern, memory_after AS memory_bytes, length_after AS length, expire_at_after AS expire_at,
       source
FROM changes WHERE added
ORDER BY memory_after DESC NULLS LAST, db, key, source
LIMIT $top;

-- table: vanished_big_keys
SELECT db, key, type, pattern, memory_before AS memory_bytes, length_before AS length, source
FROM changes WHERE removed
ORDER BY memory_before DESC NULLS LAST, db, key, source
LIMIT $top;

-- table: lost_ttl
SELECT db, key, type, pattern, memory_after AS memory_bytes, expire_at_before, source
FROM changes
WHERE NOT added AND NOT removed AND expire_at_before IS NOT NULL AND expire_at_after IS NULL
ORDER BY memory_after DESC NULLS LAST, db, key, source
LIMIT $top;

-- table: top_growers
SELECT db, key, type, pattern, memory_before, memory_after, memory_after - memory_before AS memory_delta,
       length_before, length_after, source
FROM changes
WHERE NOT added AND NOT removed AND memory_after > memory_before
ORDER BY memory_after - memory_before DESC, db, key, source
LIMIT $top;
