-- ttl: time to live at the moment of the snapshot (the dump's ctime aux),
-- keys already past their expiry but still in the dump, hash fields already
-- past theirs (Valkey 9), and the memory that expiry frees within the next
-- hour, day and week.

-- view: ttl_keys
SELECT db, key, type, memory_bytes, expire_at, snapshot_time, source, file, file_row_number,
       (epoch_ms(expire_at) - epoch_ms(snapshot_time)) / 1000.0 AS ttl_seconds
FROM keys;

-- table: notes
SELECT 'the dump ' || source || ' records no snapshot time (ctime aux): its TTLs are not placed in time' AS note
FROM meta WHERE snapshot_time IS NULL;

-- temp: ttl_buckets
-- one pass: keys and memory per TTL bucket; "expiring within" adds buckets up
SELECT CASE WHEN expire_at IS NULL THEN 8
            WHEN snapshot_time IS NULL THEN 9
            WHEN ttl_seconds <= 0 THEN 0
            WHEN ttl_seconds < 60 THEN 1
            WHEN ttl_seconds < 3600 THEN 2
            WHEN ttl_seconds < 86400 THEN 3
            WHEN ttl_seconds < 7 * 86400 THEN 4
            WHEN ttl_seconds < 30 * 86400 THEN 5
            ELSE 6 END AS bucket,
       count(*) AS keys,
       coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes
FROM ttl_keys
GROUP BY bucket;

-- table: distribution
SELECT ['expired', '< 1 minute', '1 minute - 1 hour', '1 hour - 1 day', '1 day - 1 week',
        '1 week - 30 days', '>= 30 days', '', 'no TTL', 'TTL, snapshot time unknown'][bucket + 1] AS ttl,
       keys, memory_bytes,
       round(memory_bytes / nullif(sum(memory_bytes) OVER (), 0), 4) AS memory_share
FROM ttl_buckets
ORDER BY bucket;

-- table: expiring
-- keys whose TTL runs out before the snapshot time plus the window (already expired ones included)
SELECT w.within, coalesce(sum(b.keys), 0)::BIGINT AS keys, coalesce(sum(b.memory_bytes), 0)::BIGINT AS memory_bytes
FROM (VALUES ('already expired', 0, 0), ('1 hour', 2, 1), ('1 day', 3, 2), ('1 week', 4, 3)) AS w(within, last, ord)
LEFT JOIN ttl_buckets b ON b.bucket <= w.last
GROUP BY w.within, w.ord
ORDER BY w.ord;

-- temp: expired_candidates
-- the biggest keys already past their expiry (ties included) as (file, row number), without their text
WITH e AS (SELECT file, file_row_number, memory_bytes FROM ttl_keys WHERE ttl_seconds <= 0)
SELECT file, file_row_number FROM e
WHERE coalesce(memory_bytes, -1) >= coalesce((SELECT list_min(max(memory_bytes, $top)) FROM e), -1);

-- values: expired_rows
SELECT file_row_number FROM expired_candidates;

-- table: expired
SELECT db, key, type, memory_bytes, expire_at, round(-ttl_seconds)::BIGINT AS expired_seconds_before_snapshot, source
FROM ttl_keys t SEMI JOIN expired_candidates c ON t.file = c.file AND t.file_row_number = c.file_row_number
WHERE t.file_row_number IN $expired_rows
ORDER BY memory_bytes DESC NULLS LAST, db, key, source
LIMIT $top;

-- table: expired_fields
-- hash fields whose own TTL had passed at the snapshot (Valkey 9 field expiration): the writing server
-- still held them, a loader drops them (memory_bytes leaves them out; a hash left with none is not loaded)
SELECT count(*) FILTER (WHERE hash_fields_expired > 0) AS hashes,
       count(*) FILTER (WHERE hash_fields_expired > 0 AND length = 0) AS hashes_left_empty,
       coalesce(sum(hash_fields_expired), 0)::BIGINT AS expired_fields,
       coalesce(sum(hash_expired_bytes), 0)::BIGINT AS expired_field_bytes,
       round(coalesce(sum(hash_expired_bytes), 0)
             / nullif(coalesce(sum(memory_bytes), 0) + coalesce(sum(hash_expired_bytes), 0), 0), 4)
           AS share_of_memory_held
FROM keys;

-- table: expired_field_hashes
SELECT db, key, hash_fields_expired AS expired_fields, hash_expired_bytes AS expired_field_bytes,
       length AS fields_left, memory_bytes
FROM keys
WHERE hash_fields_expired > 0
ORDER BY hash_expired_bytes DESC, db, key
LIMIT $top;
