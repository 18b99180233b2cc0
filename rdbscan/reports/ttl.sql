-- ttl: time to live at the moment of the snapshot (the dump's ctime aux),
-- keys already past their expiry but still in the dump, and the memory
-- that expiry frees within the next hour, day and week.

-- view: ttl_keys
SELECT k.db, k.key, k.type, k.memory_bytes, k.expire_at, m.snapshot_time,
       (epoch_ms(k.expire_at) - epoch_ms(m.snapshot_time)) / 1000.0 AS ttl_seconds
FROM keys k JOIN meta m ON m.file = k.file;

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
SELECT w.within,
       count(t.key) AS keys,
       coalesce(sum(t.memory_bytes), 0)::BIGINT AS memory_bytes
FROM (VALUES ('already expired', 0, 0), ('1 hour', 3600, 1), ('1 day', 86400, 2), ('1 week', 7 * 86400, 3))
     AS w(within, seconds, ord)
LEFT JOIN ttl_keys t ON t.ttl_seconds <= w.seconds
GROUP BY w.within, w.ord
ORDER BY w.ord;

-- table: expired
SELECT db, key, type, memory_bytes, expire_at, round(-ttl_seconds)::BIGINT AS expired_seconds_before_snapshot
FROM ttl_keys
WHERE ttl_seconds <= 0
ORDER BY memory_bytes DESC NULLS LAST, db, key
LIMIT $top;
