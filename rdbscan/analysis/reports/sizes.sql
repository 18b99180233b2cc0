-- sizes: how key sizes spread: keys and memory per size bucket, overall and
-- per type.  The buckets double (64 - 128 B, 128 - 256 B, ...) of
-- memory_bytes, so millions of small keys and a few huge ones show side by
-- side.

-- temp: size_groups
-- one pass: (type, bucket) and (bucket) at once
SELECT type, bucket, grouping(type) AS g,
       CASE WHEN bucket % 10 = 9
            THEN '512 ' || (['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'])[bucket // 10 + 1] || ' - 1 '
                 || (['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'])[bucket // 10 + 2]
            ELSE (1 << (bucket % 10)) || ' - ' || (2 << (bucket % 10)) || ' '
                 || (['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'])[bucket // 10 + 1] END AS size,
       count(*) AS keys, sum(memory_bytes)::BIGINT AS memory_bytes
FROM (SELECT type, memory_bytes, floor(log2(greatest(memory_bytes, 1)))::INTEGER AS bucket
      FROM keys WHERE memory_bytes IS NOT NULL)
GROUP BY GROUPING SETS ((type, bucket), (bucket));

-- table: notes
SELECT count(*) || ' keys have no memory estimate (module values, linked lists before Redis 3.2) '
       || 'and are left out' AS note
FROM keys WHERE memory_bytes IS NULL
HAVING count(*) > 0;

-- table: overall
SELECT size, 1::BIGINT << bucket AS size_from, 2::BIGINT << bucket AS size_below, keys, memory_bytes,
       round(keys / sum(keys) OVER (), 4) AS keys_share,
       round(memory_bytes / nullif(sum(memory_bytes) OVER (), 0), 4) AS memory_share
FROM size_groups WHERE g = 1
ORDER BY bucket;

-- table: by_type
-- types in order of their memory
SELECT type, size, 1::BIGINT << bucket AS size_from, 2::BIGINT << bucket AS size_below, keys, memory_bytes
FROM size_groups WHERE g = 0
ORDER BY sum(memory_bytes) OVER (PARTITION BY type) DESC, type, bucket;
