-- summary: keys and memory by db, type and encoding; TTL coverage; the dump's facts.
-- memory_bytes is the per-key MEMORY USAGE estimate; used_mem is the dump's
-- own used-mem aux field (the whole server: keys, keyspace tables, buffers).

-- table: overview
WITH k AS (
    SELECT count(*) AS keys,
           count(DISTINCT db) AS dbs,
           coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes,
           count(*) FILTER (WHERE expire_at IS NOT NULL) AS keys_with_ttl,
           coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NOT NULL), 0)::BIGINT AS memory_with_ttl
    FROM keys
), m AS (
    SELECT count(*) AS files,
           string_agg(DISTINCT server, ', ') AS server,
           string_agg(DISTINCT magic, ', ') AS magic,
           string_agg(DISTINCT rdb_version::VARCHAR, ', ') AS rdb_version,
           min(snapshot_time) AS snapshot_time,
           max(snapshot_time) AS snapshot_time_last,
           sum(main_dict_buckets + expires_overhead)::BIGINT AS keyspace_overhead_bytes,
           CASE WHEN count(used_mem) = count(*) THEN sum(used_mem)::BIGINT END AS used_mem,
           bool_or(partial) AS partial,
           bool_or(what_if) AS what_if,
           string_agg(DISTINCT model_server, ', ') AS memory_model
    FROM meta
)
SELECT m.server, m.magic, m.rdb_version, m.snapshot_time, m.files,
       k.keys, k.dbs, k.memory_bytes,
       k.keys_with_ttl, round(k.keys_with_ttl / nullif(k.keys, 0), 4) AS keys_with_ttl_share,
       k.memory_with_ttl, round(k.memory_with_ttl / nullif(k.memory_bytes, 0), 4) AS memory_with_ttl_share,
       m.keyspace_overhead_bytes,
       k.memory_bytes + m.keyspace_overhead_bytes AS estimated_total,
       m.used_mem,
       round((k.memory_bytes + m.keyspace_overhead_bytes) / nullif(m.used_mem, 0), 4) AS estimated_share_of_used_mem,
       m.memory_model, m.what_if, m.partial
FROM k, m;

-- table: by_db
SELECT db,
       count(*) AS keys,
       sum(memory_bytes)::BIGINT AS memory_bytes,
       round(sum(memory_bytes) / sum(sum(memory_bytes)) OVER (), 4) AS memory_share,
       count(*) FILTER (WHERE expire_at IS NOT NULL) AS keys_with_ttl
FROM keys
GROUP BY db
ORDER BY db;

-- table: by_type
SELECT type,
       count(*) AS keys,
       sum(memory_bytes)::BIGINT AS memory_bytes,
       round(sum(memory_bytes) / sum(sum(memory_bytes)) OVER (), 4) AS memory_share,
       round(count(*) FILTER (WHERE expire_at IS NOT NULL) / count(*), 4) AS keys_with_ttl_share,
       max(memory_bytes) AS biggest_bytes
FROM keys
GROUP BY type
ORDER BY memory_bytes DESC, type;

-- table: by_encoding
SELECT type, encoding,
       count(*) AS keys,
       sum(memory_bytes)::BIGINT AS memory_bytes,
       round(sum(memory_bytes) / sum(sum(memory_bytes)) OVER (), 4) AS memory_share,
       round(avg(memory_bytes))::BIGINT AS avg_bytes
FROM keys
GROUP BY type, encoding
ORDER BY memory_bytes DESC, type, encoding;
