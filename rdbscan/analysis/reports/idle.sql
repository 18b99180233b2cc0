-- idle: memory held by keys nobody touched for a while, from the LRU idle
-- times a dump carries when the server ran an LRU maxmemory-policy.

-- table: notes
SELECT note FROM (SELECT CASE WHEN count(idle_seconds) = 0
            THEN 'no LRU idle times in this dump (they are saved only when maxmemory-policy is an allkeys-lru '
                 || 'or volatile-lru policy): nothing to report'
            WHEN count(idle_seconds) < count(*)
            THEN (count(*) - count(idle_seconds)) || ' keys carry no idle time and are left out'
       END AS note
FROM keys) WHERE note IS NOT NULL;

-- table: idle_longer_than
WITH t AS MATERIALIZED (    -- one pass: every threshold counted at once
    SELECT count(*) FILTER (WHERE idle_seconds > 60) AS k0,
           coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > 60), 0) AS m0,
           count(*) FILTER (WHERE idle_seconds > 3600) AS k1,
           coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > 3600), 0) AS m1,
           count(*) FILTER (WHERE idle_seconds > 86400) AS k2,
           coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > 86400), 0) AS m2,
           count(*) FILTER (WHERE idle_seconds > 7 * 86400) AS k3,
           coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > 7 * 86400), 0) AS m3,
           count(*) FILTER (WHERE idle_seconds > 30 * 86400) AS k4,
           coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > 30 * 86400), 0) AS m4,
           sum(memory_bytes) AS total
    FROM keys WHERE idle_seconds IS NOT NULL
    HAVING count(*) > 0
)
SELECT idle, keys, memory_bytes::BIGINT AS memory_bytes, round(memory_bytes / nullif(total, 0), 4) AS memory_share
FROM (SELECT '1 minute' AS idle, k0 AS keys, m0 AS memory_bytes, total, 0 AS ord FROM t
      UNION ALL SELECT '1 hour', k1, m1, total, 1 FROM t
      UNION ALL SELECT '1 day', k2, m2, total, 2 FROM t
      UNION ALL SELECT '1 week', k3, m3, total, 3 FROM t
      UNION ALL SELECT '30 days', k4, m4, total, 4 FROM t)
ORDER BY ord;

-- table: by_pattern
SELECT pattern,
       sum(idle_keys)::BIGINT AS idle_keys,
       sum(idle_memory)::BIGINT AS idle_memory,
       sum(keys_with_idle)::BIGINT AS keys,
       max(max_idle_seconds) AS max_idle_seconds
FROM pattern_stats
WHERE keys_with_idle > 0
GROUP BY pattern
HAVING sum(idle_keys) > 0
ORDER BY idle_memory DESC, pattern
LIMIT $top;

-- table: coldest
SELECT db, key, type, memory_bytes, idle_seconds, expire_at, source
FROM keys
WHERE idle_seconds >= coalesce((SELECT list_min(max(idle_seconds, $top)) FROM keys), -1)
ORDER BY idle_seconds DESC, memory_bytes DESC NULLS LAST, db, key, source
LIMIT $top;
