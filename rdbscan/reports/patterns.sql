-- patterns: keys and memory per inferred key pattern (user:{id}:profile).
-- Every key is in exactly one pattern, so the rows (with the closing
-- "(other patterns)" row) add up to the totals.

-- table: patterns
WITH p AS (
    SELECT pattern,
           sum(keys)::BIGINT AS keys,
           sum(memory_bytes)::BIGINT AS memory_bytes,
           sum(keys_no_ttl)::BIGINT AS keys_no_ttl,
           sum(memory_no_ttl)::BIGINT AS memory_no_ttl,
           arg_max(biggest_key, biggest_bytes) AS biggest_key,
           max(biggest_bytes) AS biggest_bytes,
           string_agg(DISTINCT type, ',' ORDER BY type) AS types,
           string_agg(DISTINCT db::VARCHAR, ',' ORDER BY db::VARCHAR) AS dbs
    FROM pattern_stats
    GROUP BY pattern
), ranked AS (
    SELECT *, row_number() OVER (ORDER BY memory_bytes DESC NULLS LAST, pattern) AS rank,
           sum(memory_bytes) OVER () AS total_memory, sum(keys) OVER () AS total_keys
    FROM p
), shown AS (
    SELECT rank, pattern, types, dbs, keys, memory_bytes, keys_no_ttl, memory_no_ttl, biggest_key, biggest_bytes,
           total_memory, total_keys
    FROM ranked WHERE rank <= $top
    UNION ALL
    SELECT $top + 1, '(other ' || count(*) || ' patterns)', NULL, NULL, sum(keys)::BIGINT, sum(memory_bytes)::BIGINT,
           sum(keys_no_ttl)::BIGINT, sum(memory_no_ttl)::BIGINT, arg_max(biggest_key, biggest_bytes), max(biggest_bytes),
           any_value(total_memory), any_value(total_keys)
    FROM ranked WHERE rank > $top
    HAVING count(*) > 0
)
SELECT pattern, types, dbs, keys::BIGINT AS keys,
       round(keys / nullif(total_keys, 0), 4) AS keys_share,
       memory_bytes::BIGINT AS memory_bytes,
       round(memory_bytes / nullif(total_memory, 0), 4) AS memory_share,
       round(keys_no_ttl / nullif(keys, 0), 4) AS keys_no_ttl_share,
       round(memory_no_ttl / nullif(memory_bytes, 0), 4) AS memory_no_ttl_share,
       round(memory_bytes / nullif(keys, 0))::BIGINT AS avg_bytes,
       biggest_key, biggest_bytes
FROM shown
ORDER BY rank;
