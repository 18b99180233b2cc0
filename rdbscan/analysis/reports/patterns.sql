-- patterns: keys and memory per inferred key pattern (user:{id}:profile).
-- Every key is in exactly one pattern, so the rows (with the closing
-- "(other patterns)" row) add up to the totals.

-- temp: pattern_rows
WITH p AS (
    SELECT pattern,
           sum(keys)::BIGINT AS keys,
           sum(memory_bytes)::BIGINT AS memory_bytes,
           sum(keys_no_ttl)::BIGINT AS keys_no_ttl,
           sum(memory_no_ttl)::BIGINT AS memory_no_ttl,
           max(biggest_bytes) AS biggest_bytes,
           string_agg(DISTINCT type, ',' ORDER BY type) AS types,
           string_agg(DISTINCT db::VARCHAR, ',' ORDER BY db::VARCHAR) AS dbs
    FROM pattern_stats
    GROUP BY pattern
), ranked AS (
    SELECT *, row_number() OVER (ORDER BY memory_bytes DESC NULLS LAST, pattern) AS rank,
           sum(memory_bytes) OVER () AS total_memory, sum(keys) OVER () AS total_keys
    FROM p
)
SELECT rank, pattern, false AS other, types, dbs, keys, memory_bytes, keys_no_ttl, memory_no_ttl, biggest_bytes,
       total_memory, total_keys
FROM ranked WHERE rank <= $top
UNION ALL
SELECT $top + 1, '(other ' || count(*) || ' patterns)', true, NULL, NULL, sum(keys)::BIGINT, sum(memory_bytes)::BIGINT,
       sum(keys_no_ttl)::BIGINT, sum(memory_no_ttl)::BIGINT, max(biggest_bytes),
       any_value(total_memory), any_value(total_keys)
FROM ranked WHERE rank > $top
HAVING count(*) > 0;

-- temp: pattern_biggest
-- each row's biggest key as (rank, file, row number): found by pattern and memory, without the key text
SELECT r.rank, k.file, k.file_row_number
FROM keys k JOIN pattern_rows r ON k.memory_bytes = r.biggest_bytes
WHERE k.pattern = r.pattern
   OR (r.other AND k.pattern NOT IN (SELECT pattern FROM pattern_rows WHERE NOT other));

-- values: pattern_biggest_rows
SELECT file_row_number FROM pattern_biggest;

-- table: patterns
WITH b AS (
    SELECT c.rank, min(k.key) AS biggest_key    -- ties: the first by name; key text read for these rows only
    FROM keys k JOIN pattern_biggest c ON k.file = c.file AND k.file_row_number = c.file_row_number
    WHERE k.file_row_number IN $pattern_biggest_rows
    GROUP BY c.rank
)
SELECT pattern, types, dbs, keys::BIGINT AS keys,
       round(keys / nullif(total_keys, 0), 4) AS keys_share,
       memory_bytes::BIGINT AS memory_bytes,
       round(memory_bytes / nullif(total_memory, 0), 4) AS memory_share,
       round(keys_no_ttl / nullif(keys, 0), 4) AS keys_no_ttl_share,
       round(memory_no_ttl / nullif(memory_bytes, 0), 4) AS memory_no_ttl_share,
       round(memory_bytes / nullif(keys, 0))::BIGINT AS avg_bytes,
       b.biggest_key, biggest_bytes
FROM pattern_rows LEFT JOIN b USING (rank)
ORDER BY rank;
