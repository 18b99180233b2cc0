-- nottl: keys that never expire, grouped by pattern -- where leaks hide.
-- A pattern whose keys mostly have a TTL but some do not is a missed EXPIRE.

-- table: totals
-- expired_fields / expired_field_bytes: hash fields in these keys whose own TTL had passed at the
-- snapshot (Valkey 9): the loader drops them, memory_bytes leaves them out, the writing server still held them
SELECT count(*) FILTER (WHERE expire_at IS NULL) AS keys_no_ttl,
       round(count(*) FILTER (WHERE expire_at IS NULL) / nullif(count(*), 0), 4) AS keys_no_ttl_share,
       coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NULL), 0)::BIGINT AS memory_no_ttl,
       round(coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NULL), 0) / nullif(sum(memory_bytes), 0), 4)
           AS memory_no_ttl_share,
       coalesce(sum(hash_fields_expired) FILTER (WHERE expire_at IS NULL), 0)::BIGINT AS expired_fields,
       coalesce(sum(hash_expired_bytes) FILTER (WHERE expire_at IS NULL), 0)::BIGINT AS expired_field_bytes
FROM keys;

-- table: by_pattern
WITH p AS (
    SELECT pattern,
           sum(keys_no_ttl)::BIGINT AS keys_no_ttl,
           sum(memory_no_ttl)::BIGINT AS memory_no_ttl,
           sum(keys)::BIGINT AS keys,
           sum(memory_bytes)::BIGINT AS memory_bytes
    FROM pattern_stats
    GROUP BY pattern
    HAVING sum(keys_no_ttl) > 0
)
SELECT pattern, keys_no_ttl, memory_no_ttl,
       round(memory_no_ttl / nullif(sum(memory_no_ttl) OVER (), 0), 4) AS share_of_no_ttl_memory,
       round(keys_no_ttl / keys, 4) AS keys_no_ttl_share_in_pattern,
       CASE WHEN keys_no_ttl < keys THEN 'mixed: ' || (keys - keys_no_ttl) || ' keys of this pattern have a TTL'
       END AS hint
FROM p
ORDER BY memory_no_ttl DESC, pattern
LIMIT $top;

-- table: biggest
SELECT db, key, type, memory_bytes, length,
       key_pattern(key) AS pattern,     -- inferred for these rows only
       source
FROM (SELECT db, key, type, memory_bytes, length, source
      FROM keys
      WHERE expire_at IS NULL
        AND coalesce(memory_bytes, -1) >= coalesce((SELECT CASE WHEN count(memory_bytes) >= $top
                 THEN list_min(max(memory_bytes, $top)) END FROM keys WHERE expire_at IS NULL), -1)
      ORDER BY memory_bytes DESC NULLS LAST, db, key, source
      LIMIT $top)
ORDER BY memory_bytes DESC NULLS LAST, db, key, source;
