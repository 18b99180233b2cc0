-- eviction: how much each maxmemory-policy could evict, and whether that
-- relieves the pressure.  allkeys-* policies reach every key; volatile-*
-- only keys with a TTL; noeviction none (writes fail with "OOM command not
-- allowed when used memory > 'maxmemory'").  $maxmemory is each server's
-- limit and defaults to the dump's used-mem (a server at its limit); used
-- memory is the dump's used-mem, else the estimate.  With more than one
-- dump, each server is judged alone (memory one shard frees does not help
-- another): the shards table shows what eviction could free on each, and
-- a note names the shard that runs out first.

-- temp: eviction_by_source
-- what each kind of policy reaches, per dump, in one pass over the keys
SELECT source,
       coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes,
       coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NOT NULL), 0)::BIGINT AS ttl_memory,
       coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > $idle), 0)::BIGINT AS cold_memory,
       coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > $idle AND expire_at IS NOT NULL), 0)::BIGINT
           AS cold_ttl_memory,
       coalesce(sum(memory_bytes) FILTER (WHERE lfu_freq <= 1), 0)::BIGINT AS lfu_cold_memory,
       coalesce(sum(memory_bytes) FILTER (WHERE lfu_freq <= 1 AND expire_at IS NOT NULL), 0)::BIGINT
           AS lfu_cold_ttl_memory,
       count(idle_seconds) > 0 AS has_idle, count(lfu_freq) > 0 AS has_lfu
FROM keys
GROUP BY source;

-- temp: eviction_shards
-- every dump (one whose keys the filters all left out too) against its own server's limit
SELECT m.shard, m.source, m.used_mem, m.estimated_total,
       coalesce(m.used_mem, m.estimated_total)::BIGINT AS used_memory,
       coalesce($maxmemory::BIGINT, m.used_mem, m.estimated_total)::BIGINT AS maxmemory,
       greatest(coalesce(m.used_mem, m.estimated_total) - coalesce($maxmemory::BIGINT, m.used_mem,
                                                                  m.estimated_total), 0)::BIGINT AS needed,
       coalesce(k.memory_bytes, 0) AS memory_bytes, coalesce(k.ttl_memory, 0) AS ttl_memory,
       coalesce(k.cold_memory, 0) AS cold_memory, coalesce(k.cold_ttl_memory, 0) AS cold_ttl_memory,
       coalesce(k.lfu_cold_memory, 0) AS lfu_cold_memory, coalesce(k.lfu_cold_ttl_memory, 0) AS lfu_cold_ttl_memory,
       coalesce(k.has_idle, false) AS has_idle, coalesce(k.has_lfu, false) AS has_lfu
FROM meta m LEFT JOIN eviction_by_source k USING (source);

-- temp: eviction_basis
-- the whole dataset: the servers' limits and shortfalls added up (one dump: its own figures)
WITH used AS (SELECT coalesce(CASE WHEN count(used_mem) = count(*) THEN sum(used_mem) END,
                              sum(estimated_total))::BIGINT AS used_memory FROM eviction_shards)
SELECT CASE WHEN $maxmemory IS NULL THEN any_value(u.used_memory) ELSE sum(s.maxmemory) END::BIGINT AS maxmemory,
       any_value(u.used_memory) AS used_memory, sum(s.needed)::BIGINT AS needed,
       sum(s.memory_bytes)::BIGINT AS memory_bytes, sum(s.ttl_memory)::BIGINT AS ttl_memory,
       sum(s.cold_memory)::BIGINT AS cold_memory, sum(s.cold_ttl_memory)::BIGINT AS cold_ttl_memory,
       sum(s.lfu_cold_memory)::BIGINT AS lfu_cold_memory, sum(s.lfu_cold_ttl_memory)::BIGINT AS lfu_cold_ttl_memory,
       bool_or(s.has_idle) AS has_idle, bool_or(s.has_lfu) AS has_lfu, count(*) AS dumps,
       count(*) FILTER (WHERE s.needed > s.memory_bytes) AS shards_short_allkeys,
       count(*) FILTER (WHERE s.needed > s.ttl_memory) AS shards_short_volatile
FROM eviction_shards s, used u;

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
            WHEN dumps > 1 AND (CASE WHEN volatile THEN shards_short_volatile ELSE shards_short_allkeys END) > 0
                THEN 'cannot relieve on ' || (CASE WHEN volatile THEN shards_short_volatile ELSE shards_short_allkeys END)
                     || ' of ' || dumps || ' shards: each must free more than it can evict there (see the shards table)'
            WHEN evictable < needed THEN 'cannot relieve: must free ' || needed || ' bytes, only '
                                         || evictable || ' are evictable'
            WHEN volatile AND evictable / nullif(memory_bytes, 0) < 0.10
                THEN 'only ' || round(100 * evictable / memory_bytes, 1) || ' % of memory has a TTL: once it is '
                     || 'evicted, writes fail'
            ELSE 'can relieve the pressure' END AS verdict
FROM e
ORDER BY ord;

-- fleet table: shards
-- per dump, against its own server's limit: what allkeys-* (its key memory) and volatile-* (its keys with a
-- TTL) policies could free there, and of it the cold part (LRU idle times or LFU counters, when it has them)
SELECT shard, used_mem, maxmemory, round(used_memory / nullif(maxmemory, 0), 4) AS used_share_of_maxmemory,
       needed AS must_free, memory_bytes AS key_memory, ttl_memory AS volatile_evictable_bytes,
       round(ttl_memory / nullif(memory_bytes, 0), 4) AS volatile_share,
       CASE WHEN has_idle THEN cold_memory WHEN has_lfu THEN lfu_cold_memory END AS cold_evictable_bytes,
       CASE WHEN has_idle THEN cold_ttl_memory WHEN has_lfu THEN lfu_cold_ttl_memory END AS cold_volatile_bytes,
       CASE WHEN needed > memory_bytes
                THEN 'no policy can relieve: must free ' || human_bytes(needed) || ', its keys hold '
                     || human_bytes(memory_bytes)
            WHEN needed > ttl_memory
                THEN 'volatile-* cannot relieve: must free ' || human_bytes(needed) || ', keys with a TTL hold '
                     || human_bytes(ttl_memory) || '; allkeys-* can'
            WHEN ttl_memory = 0 THEN 'no key has a TTL: volatile-* behaves like noeviction'
            WHEN ttl_memory / memory_bytes < 0.10
                THEN 'only ' || round(100 * ttl_memory / memory_bytes, 1) || ' % of its memory has a TTL: '
                     || 'volatile-* soon runs out'
            ELSE 'can relieve the pressure' END AS verdict,
       source
FROM eviction_shards
ORDER BY (ttl_memory - needed) / nullif(used_memory, 0) NULLS FIRST, shard;

-- table: notes
SELECT 'volatile-* policies can evict only keys with a TTL: here ' || round(100 * ttl_memory / memory_bytes, 1)
       || ' % of key memory; with volatile-lru and most memory in keys without TTL the server still '
       || 'answers OOM at maxmemory' AS note
FROM eviction_basis
WHERE memory_bytes > 0 AND ttl_memory / memory_bytes < 0.5
UNION ALL
SELECT 'the dump carries no LRU idle times or LFU counters: the cold_evictable_bytes column is empty '
       || '(they are saved only under an LRU or LFU maxmemory-policy)'
FROM eviction_basis WHERE NOT has_idle AND NOT has_lfu
UNION ALL
SELECT * FROM (
    -- the shard that runs out first: the least memory volatile-* policies can evict beyond what it must
    -- free, for its size (the first row of the shards table)
    SELECT 'worst shard: ' || shard || ' uses ' || human_bytes(used_memory) || ' of ' || human_bytes(maxmemory)
           || ' (' || round(100 * round(used_memory / nullif(maxmemory, 0), 4), 1) || ' %)'
           || CASE WHEN needed > 0 THEN ' and must free ' || human_bytes(needed) ELSE '' END
           || '; volatile-* policies can evict ' || human_bytes(ttl_memory) || ' there ('
           || coalesce(round(100 * ttl_memory / nullif(memory_bytes, 0), 1), 0) || ' % of its key memory), '
           || 'allkeys-* ' || human_bytes(memory_bytes) || ': a cluster fails writes as soon as one master does'
    FROM eviction_shards
    WHERE (SELECT count(*) FROM eviction_shards) > 1
    ORDER BY (ttl_memory - needed) / nullif(used_memory, 0) NULLS FIRST, shard
    LIMIT 1);
