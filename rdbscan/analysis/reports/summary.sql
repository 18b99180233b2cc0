-- summary: keys and memory by db, type and encoding; TTL coverage; the dump's facts.
-- memory_bytes is the per-key MEMORY USAGE estimate; used_mem is the dump's
-- own used-mem aux field (the whole server: keys, keyspace tables, buffers).
-- allocators: the estimated total (keys and keyspace tables) under each
-- allocator as a share of used-mem: above it is impossible, nearly all of it
-- fits (the notes name the likely allocator and its --allocator option).

-- temp: summary_groups
-- one pass over the keys for every table below: GROUPING SETS of db, type, (type, encoding) and the total
SELECT db, type, encoding, grouping(db, type, encoding) AS g,
       count(*) AS keys,
       coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes,
       count(*) FILTER (WHERE expire_at IS NOT NULL) AS keys_with_ttl,
       coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NOT NULL), 0)::BIGINT AS memory_with_ttl,
       max(memory_bytes) AS biggest_bytes,
       coalesce(sum(hash_fields_expired), 0)::BIGINT AS expired_fields,
       coalesce(sum(hash_expired_bytes), 0)::BIGINT AS expired_field_bytes
FROM keys
GROUP BY GROUPING SETS ((db), (type), (type, encoding), ());

-- table: overview
WITH k AS (
    SELECT keys, memory_bytes, keys_with_ttl, memory_with_ttl, expired_fields, expired_field_bytes,
           (SELECT count(*) FROM summary_groups WHERE g = 3) AS dbs
    FROM summary_groups WHERE g = 7
), m AS (
    SELECT count(*) AS files,
           string_agg(DISTINCT server, ', ' ORDER BY server) AS server,
           string_agg(DISTINCT magic, ', ' ORDER BY magic) AS magic,
           string_agg(DISTINCT rdb_version::VARCHAR, ', ' ORDER BY rdb_version::VARCHAR) AS rdb_version,
           min(snapshot_time) AS snapshot_time,
           sum(main_dict_buckets + expires_overhead)::BIGINT AS keyspace_overhead_bytes,
           CASE WHEN count(used_mem) = count(*) THEN sum(used_mem)::BIGINT END AS used_mem,
           bool_or(partial) AS partial,
           bool_or(what_if) AS what_if,
           string_agg(DISTINCT model_server, ', ' ORDER BY model_server) AS memory_model
    FROM meta
)
SELECT m.server, m.magic, m.rdb_version, m.snapshot_time, m.files,
       coalesce(k.keys, 0) AS keys, coalesce(k.dbs, 0) AS dbs, coalesce(k.memory_bytes, 0) AS memory_bytes,
       coalesce(k.keys_with_ttl, 0) AS keys_with_ttl,
       round(k.keys_with_ttl / nullif(k.keys, 0), 4) AS keys_with_ttl_share,
       coalesce(k.memory_with_ttl, 0) AS memory_with_ttl,
       round(k.memory_with_ttl / nullif(k.memory_bytes, 0), 4) AS memory_with_ttl_share,
       m.keyspace_overhead_bytes,
       coalesce(k.memory_bytes, 0) + m.keyspace_overhead_bytes AS estimated_total,
       m.used_mem,
       round((coalesce(k.memory_bytes, 0) + m.keyspace_overhead_bytes) / nullif(m.used_mem, 0), 4)
           AS estimated_share_of_used_mem,
       coalesce(k.expired_fields, 0) AS expired_hash_fields,
       coalesce(k.expired_field_bytes, 0) AS expired_field_bytes,
       m.memory_model, m.what_if, m.partial
FROM m LEFT JOIN k ON true;

-- table: by_db
SELECT db, keys, memory_bytes,
       round(memory_bytes / nullif(sum(memory_bytes) OVER (), 0), 4) AS memory_share,
       keys_with_ttl
FROM summary_groups WHERE g = 3
ORDER BY db;

-- table: by_type
SELECT type, keys, memory_bytes,
       round(memory_bytes / nullif(sum(memory_bytes) OVER (), 0), 4) AS memory_share,
       round(keys_with_ttl / keys, 4) AS keys_with_ttl_share,
       biggest_bytes
FROM summary_groups WHERE g = 5
ORDER BY memory_bytes DESC, type;

-- table: by_encoding
SELECT type, encoding, keys, memory_bytes,
       round(memory_bytes / nullif(sum(memory_bytes) OVER (), 0), 4) AS memory_share,
       round(memory_bytes / keys)::BIGINT AS avg_bytes
FROM summary_groups WHERE g = 4
ORDER BY memory_bytes DESC, type, encoding;

-- table: allocators
WITH a AS (
    SELECT file, used_mem,
           unnest(from_json(by_allocator, '[{"allocator": "VARCHAR", "estimated_total": "BIGINT", "fit": "VARCHAR"}]'))
               AS r
    FROM meta WHERE by_allocator IS NOT NULL
)
SELECT r.allocator AS allocator, sum(r.estimated_total)::BIGINT AS estimated_total,
       CASE WHEN count(used_mem) = count(*) THEN sum(used_mem)::BIGINT END AS used_mem,
       round(sum(r.estimated_total) / nullif(CASE WHEN count(used_mem) = count(*) THEN sum(used_mem) END, 0), 4)
           AS share_of_used_mem,
       CASE WHEN bool_or(r.fit = 'impossible') THEN 'impossible'
            WHEN bool_and(r.fit = 'fits') THEN 'fits'
            WHEN count(r.fit) = count(*) THEN 'possible' END AS fit,
       bool_or(r.allocator = (SELECT any_value(allocator) FROM meta)) AS assumed
FROM a
GROUP BY r.allocator
ORDER BY r.allocator;

-- table: notes
SELECT DISTINCT allocator_note AS note FROM meta WHERE allocator_note IS NOT NULL
UNION ALL
SELECT DISTINCT n AS note FROM (SELECT unnest(from_json(notes, '["VARCHAR"]')) AS n FROM meta)
WHERE n LIKE 'cluster mode assumed%';
