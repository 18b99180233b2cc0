-- ttl: time to live at the moment of the snapshot (the dump's ctime aux),
-- keys already past their expiry but still in the dump, and the memory
-- that expiry frees within the next hour, day and week.

-- view: ttl_keys
SELECT db, key, type, memory_bytes, expire_at, snapshot_time,
       (epoch_ms(expire_at) - epoch_ms(snapshot_time)) / 1000.0 AS ttl_seconds
FROM keys;

-- table: notes
SELECT 'the dump ' || source || ' records no snapshot time (ctime aux): its TTLs are not placed in time' AS note
FROM meta WHERE snapshot_time IS NULL;

-- table: distribution
WITH b AS (
    SELECT memory_bytes,
           CASE WHEN expire_at IS NULL THEN 8
                WHEN snapshot_time IS NULL THEN 9
                WHEN ttl_seconds <= 0 THEN 0
                WHEN ttl_seconds < 60 THEN 1
                WHEN ttl_seconds < 3600 THEN 2
                WHEN ttl_seconds < 86400 THEN 3
                WHEN ttl_seconds < 7 * 86400 THEN 4
                WHEN ttl_seconds < 30 * 86400 THEN 5
                ELSE 6 END AS bucket
    FROM ttl_keys
)
SELECT ['expired', '< 1 minute', '1 minute - 1 hour', '1 hour - 1 day', '1 day - 1 week',
        '1 week - 30 days', '>= 30 days', '', 'no TTL', 'TTL, snapshot time unknown'][bucket + 1] AS ttl,
       count(*) AS keys,
       coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes,
       round(coalesce(sum(memory_bytes), 0) / nullif(sum(sum(memory_bytes)) OVER (), 0), 4) AS memory_share
FROM b
GROUP BY bucket
ORDER BY bucket;

-- table: expiring
WITH t AS MATERIALIZED (    -- one pass: every window counted at once
    SELECT count(*) FILTER (WHERE ttl_seconds <= 0) AS k0,
           coalesce(sum(memory_bytes) FILTER (WHERE ttl_seconds <= 0), 0) AS m0,
           count(*) FILTER (WHERE ttl_seconds <= 3600) AS k1,
           coalesce(sum(memory_bytes) FILTER (WHERE ttl_seconds <= 3600), 0) AS m1,
           count(*) FILTER (WHERE ttl_seconds <= 86400) AS k2,
           coalesce(sum(memory_bytes) FILTER (WHERE ttl_seconds <= 86400), 0) AS m2,
           count(*) FILTER (WHERE ttl_seconds <= 7 * 86400) AS k3,
           coalesce(sum(memory_bytes) FILTER (WHERE ttl_seconds <= 7 * 86400), 0) AS m3
    FROM ttl_keys WHERE ttl_seconds IS NOT NULL
)
SELECT within, keys, memory_bytes::BIGINT AS memory_bytes
FROM (SELECT 'already expired' AS within, k0 AS keys, m0 AS memory_bytes, 0 AS ord FROM t
      UNION ALL SELECT '1 hour', k1, m1, 1 FROM t
      UNION ALL SELECT '1 day', k2, m2, 2 FROM t
      UNION ALL SELECT '1 week', k3, m3, 3 FROM t)
ORDER BY ord;

-- table: expired
SELECT db, key, type, memory_bytes, expire_at, round(-ttl_seconds)::BIGINT AS expired_seconds_before_snapshot
FROM ttl_keys
WHERE expire_at <= (SELECT max(snapshot_time) FROM meta) AND ttl_seconds <= 0
ORDER BY memory_bytes DESC NULLS LAST, db, key
LIMIT $top;
