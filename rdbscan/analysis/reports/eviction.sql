-- eviction: how much each maxmemory-policy could evict, and whether that
-- relieves the pressure.  allkeys-* policies reach every key; volatile-*
-- only keys with a TTL; noeviction none (writes fail with "OOM command not
-- allowed when used memory > 'maxmemory'").  $maxmemory defaults to the
-- dump's used-mem (a server at its limit); used memory is the dump's
-- used-mem, else the estimate.

-- temp: eviction_basis
SELECT m.maxmemory, m.used_memory, greatest(m.used_memory - m.maxmemory, 0) AS needed,
       k.memory_bytes, k.ttl_memory, k.cold_memory, k.cold_ttl_memory, k.lfu_cold_memory, k.lfu_cold_ttl_memory,
       k.has_idle, k.has_lfu
FROM (SELECT coalesce($maxmemory::BIGINT, CASE WHEN count(used_mem) = count(*) THEN sum(used_mem) END,
                      sum(estimated_total))::BIGINT AS maxmemory,
             coalesce(CASE WHEN count(used_mem) = count(*) THEN sum(used_mem) END, sum(estimated_total))::BIGINT
                 AS used_memory
      FROM meta) m,
     (SELECT coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes,
             coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NOT NULL), 0)::BIGINT AS ttl_memory,
             coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > $idle), 0)::BIGINT AS cold_memory,
             coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > $idle AND expire_at IS NOT NULL), 0)::BIGINT
                 AS cold_ttl_memory,
             coalesce(sum(memory_bytes) FILTER (WHERE lfu_freq <= 1), 0)::BIGINT AS lfu_cold_memory,
             coalesce(sum(memory_bytes) FILTER (WHERE lfu_freq <= 1 AND expire_at IS NOT NULL), 0)::BIGINT
                 AS lfu_cold_ttl_memory,
             count(idle_seconds) > 0 AS has_idle, count(lfu_freq) > 0 AS has_lfu
      FROM keys) k;

-- table: pressure
SELECT maxmemory, used_memory, needed AS must_free, memory_bytes AS key_memory,
       ttl_memory AS key_memory_with_ttl, round(ttl_memory / nullif(memory_bytes, 0), 4) AS ttl_share
FROM eviction_basis;

-- table: policies
WITH p AS (
    SELECT * FROM (VALUES
        ('noeviction', 0, false), ('allkeys-lru', 1, false), ('allkeys-lfu', 2, false),
        ('allkeys-random', 3, false), ('volatile-lru', 4, true), ('volatile-lfu', 5, true),
        ('volatile-random', 6, true), ('volatile-ttl', 7, true)) AS t(policy, ord, volatile)
), e AS (
    SELECT p.policy, p.ord, p.volatile, b.*,
           CASE WHEN p.policy = 'noeviction' THEN 0
                WHEN p.volatile THEN b.ttl_memory ELSE b.memory_bytes END AS evictable,
           CASE WHEN p.policy LIKE '%-lru' AND b.has_idle THEN (CASE WHEN p.volatile THEN b.cold_ttl_memory ELSE b.cold_memory END)
                WHEN p.policy LIKE '%-lfu' AND b.has_lfu THEN (CASE WHEN p.volatile THEN b.lfu_cold_ttl_memory ELSE b.lfu_cold_memory END)
           END AS cold
    FROM p, eviction_basis b
)
SELECT policy, evictable AS evictable_bytes,
       round(evictable / nullif(memory_bytes, 0), 4) AS evictable_share,
       cold AS cold_evictable_bytes,
       CASE WHEN policy = 'noeviction'
                THEN CASE WHEN needed > 0 THEN 'writes fail now: nothing is evicted'
                          ELSE 'writes fail once used memory reaches maxmemory' END
            WHEN evictable = 0 THEN 'nothing to evict: behaves like noeviction'
            WHEN evictable < needed THEN 'cannot relieve: must free ' || needed || ' bytes, only '
                                         || evictable || ' are evictable'
            WHEN volatile AND evictable / nullif(memory_bytes, 0) < 0.10
                THEN 'only ' || round(100 * evictable / memory_bytes, 1) || ' % of memory has a TTL: once it is '
                     || 'evicted, writes fail'
            ELSE 'can relieve the pressure' END AS verdict
FROM e
ORDER BY ord;

-- table: notes
SELECT 'volatile-* policies can evict only keys with a TTL: here ' || round(100 * ttl_memory / memory_bytes, 1)
       || ' % of key memory; with volatile-lru and most memory in keys without TTL the server still '
       || 'answers OOM at maxmemory' AS note
FROM eviction_basis
WHERE memory_bytes > 0 AND ttl_memory / memory_bytes < 0.5
UNION ALL
SELECT 'the dump carries no LRU idle times or LFU counters: the cold_evictable_bytes column is empty '
       || '(they are saved only under an LRU or LFU maxmemory-policy)'
FROM eviction_basis WHERE NOT has_idle AND NOT has_lfu;
