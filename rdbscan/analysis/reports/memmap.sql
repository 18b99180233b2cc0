-- memmap: where the memory goes, type by pattern by key.  Each type's
-- biggest patterns, and the biggest keys (at most 5) of each, with "(other
-- N patterns)" and "(other N keys)" rows so that every level adds up to the
-- one above it; the HTML report draws it as a zoomable treemap.

-- temp: memmap_patterns
WITH p AS (
    SELECT type, pattern, sum(keys)::BIGINT AS keys, coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes
    FROM pattern_stats
    GROUP BY type, pattern
), r AS (
    SELECT *, row_number() OVER (PARTITION BY type ORDER BY memory_bytes DESC, pattern) AS rank
    FROM p
)
SELECT type, rank, pattern, false AS other, keys, memory_bytes FROM r WHERE rank <= $top
UNION ALL
SELECT type, $top + 1, '(other ' || count(*) || ' patterns)', true, sum(keys)::BIGINT, sum(memory_bytes)::BIGINT
FROM r WHERE rank > $top
GROUP BY type;

-- table: patterns
-- types in order of their memory
SELECT type, rank, pattern, other, keys, memory_bytes,
       round(memory_bytes / nullif(sum(memory_bytes) OVER (PARTITION BY type), 0), 4) AS share_of_type
FROM memmap_patterns
ORDER BY sum(memory_bytes) OVER (PARTITION BY type) DESC NULLS LAST, type, rank;

-- temp: memmap_biggest
-- each shown pattern's biggest keys as (file, row), from pattern_stats: no key text is read
SELECT type, pattern, rank, b.memory_bytes, b.file_index, b.file_row_number
FROM (SELECT type, pattern, b,
             row_number() OVER (PARTITION BY type, pattern
                                ORDER BY b.memory_bytes DESC, b.file_index DESC, b.file_row_number DESC) AS rank
      FROM (SELECT s.type, s.pattern, unnest(s.biggest) AS b
            FROM pattern_stats s
            SEMI JOIN memmap_patterns p ON s.type = p.type AND s.pattern = p.pattern AND NOT p.other))
WHERE rank <= least($top, 5);

-- values: memmap_rows
SELECT file_row_number FROM memmap_biggest;

-- table: keys
WITH shown AS (
    SELECT b.type, b.pattern, b.rank, k.db, k.key, k.memory_bytes
    FROM keys k JOIN memmap_biggest b ON k.file_index = b.file_index AND k.file_row_number = b.file_row_number
    WHERE k.file_row_number IN $memmap_rows      -- a constant list: the key text of these rows only is read
), other AS (
    SELECT p.type, p.pattern, least($top, 5) + 1 AS rank, NULL::USMALLINT AS db, NULL::VARCHAR AS key,
           p.keys - count(s.key) AS keys, (p.memory_bytes - coalesce(sum(s.memory_bytes), 0))::BIGINT AS memory_bytes
    FROM memmap_patterns p LEFT JOIN shown s ON s.type = p.type AND s.pattern = p.pattern
    WHERE NOT p.other
    GROUP BY p.type, p.pattern, p.keys, p.memory_bytes
    HAVING p.keys > count(s.key)
), t AS (SELECT type, sum(memory_bytes) AS type_memory FROM memmap_patterns GROUP BY type)
SELECT type, pattern, rank, other, db, key, keys, memory_bytes
FROM (SELECT *, false AS other, 1::BIGINT AS keys FROM shown
      UNION ALL BY NAME SELECT *, true AS other FROM other)
JOIN t USING (type) JOIN (SELECT type, pattern, rank AS pattern_rank FROM memmap_patterns) USING (type, pattern)
ORDER BY type_memory DESC NULLS LAST, type, pattern_rank, rank;
