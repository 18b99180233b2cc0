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
SELECT w.idle,
       count(k.key) AS keys,
       coalesce(sum(k.memory_bytes), 0)::BIGINT AS memory_bytes,
       round(coalesce(sum(k.memory_bytes), 0) / nullif((SELECT sum(memory_bytes) FROM keys WHERE idle_seconds IS NOT NULL), 0), 4)
           AS memory_share
FROM (VALUES ('1 minute', 60, 0), ('1 hour', 3600, 1), ('1 day', 86400, 2), ('1 week', 7 * 86400, 3),
             ('30 days', 30 * 86400, 4)) AS w(idle, seconds, ord)
LEFT JOIN keys k ON k.idle_seconds > w.seconds
WHERE EXISTS (SELECT 1 FROM keys WHERE idle_seconds IS NOT NULL)
GROUP BY w.idle, w.ord
ORDER BY w.ord;

-- table: by_pattern
SELECT pattern,
       count(*) FILTER (WHERE idle_seconds > $idle) AS idle_keys,
       coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > $idle), 0)::BIGINT AS idle_memory,
       count(*) AS keys,
       round(median(idle_seconds))::BIGINT AS median_idle_seconds
FROM keys
WHERE idle_seconds IS NOT NULL
GROUP BY pattern
HAVING idle_keys > 0
ORDER BY idle_memory DESC, pattern
LIMIT $top;

-- table: coldest
SELECT db, key, type, memory_bytes, idle_seconds, expire_at
FROM keys
WHERE idle_seconds IS NOT NULL
ORDER BY idle_seconds DESC, memory_bytes DESC NULLS LAST, db, key
LIMIT $top;
