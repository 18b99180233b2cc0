-- hot: the most frequently used keys, from the LFU counters a dump carries
-- when the server ran an LFU maxmemory-policy.  The counter is logarithmic
-- (255 = very hot) and decays while a key is not used.

-- table: notes
SELECT note FROM (SELECT CASE WHEN count(lfu_freq) = 0
            THEN 'no LFU counters in this dump (they are saved only when maxmemory-policy is an allkeys-lfu '
                 || 'or volatile-lfu policy): nothing to report'
       END AS note
FROM keys) WHERE note IS NOT NULL;

-- table: hottest
SELECT db, key, type, lfu_freq, memory_bytes, expire_at, source
FROM keys
WHERE lfu_freq IS NOT NULL
ORDER BY lfu_freq DESC, memory_bytes DESC NULLS LAST, db, key, source
LIMIT $top;

-- table: frequency
SELECT CASE WHEN lfu_freq = 0 THEN '0 (cold)'
            WHEN lfu_freq <= 5 THEN '1-5 (new or rarely used)'
            WHEN lfu_freq <= 15 THEN '6-15'
            WHEN lfu_freq <= 50 THEN '16-50'
            WHEN lfu_freq <= 100 THEN '51-100'
            ELSE '101-255 (hot)' END AS lfu_counter,
       count(*) AS keys,
       sum(memory_bytes)::BIGINT AS memory_bytes,
       round(sum(memory_bytes) / nullif(sum(sum(memory_bytes)) OVER (), 0), 4) AS memory_share
FROM keys
WHERE lfu_freq IS NOT NULL
GROUP BY 1
ORDER BY min(lfu_freq);
