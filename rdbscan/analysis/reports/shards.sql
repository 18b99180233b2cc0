-- shards: one row per dump, side by side -- a cluster's masters, or any
-- fleet of dumps: keys, memory, the dump's used-mem, the estimate's share
-- of it, each shard's share of the fleet's memory and deviation from the
-- mean shard, the slots it holds, its biggest key and top pattern.  Flags
-- a shard holding more than 1.5x the mean shard's memory and a single key
-- holding more than 10 % of its shard.

-- temp: shard_slots
-- keys and memory per (dump, slot), in one pass over the keys
SELECT source, slot, count(*) AS keys, coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes,
       max(memory_bytes) AS biggest_bytes
FROM keys
GROUP BY source, slot;

-- temp: shard_totals
-- every dump (one whose keys the filters all left out too), with the fleet's mean
WITH t AS (SELECT source, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory_bytes,
                  count(*) AS slots_with_keys, max(biggest_bytes) AS biggest_bytes
           FROM shard_slots GROUP BY source)
SELECT m.shard, m.source, m.server, coalesce(t.keys, 0) AS keys, coalesce(t.memory_bytes, 0) AS memory_bytes,
       m.used_mem, coalesce(t.memory_bytes, 0) + m.main_dict_buckets + m.expires_overhead AS estimated_total,
       coalesce(t.slots_with_keys, 0) AS slots_with_keys, t.biggest_bytes,
       avg(coalesce(t.memory_bytes, 0)) OVER () AS mean_bytes,
       sum(coalesce(t.memory_bytes, 0)) OVER () AS fleet_bytes,
       len(m.slot_info) > 0 AS has_slot_info
FROM meta m LEFT JOIN t USING (source);

-- table: notes
SELECT 'the dumps do not say they come from a cluster (no slot info, no --cluster): the slots are where '
       || 'their keys would land in one' AS note
FROM meta
HAVING NOT bool_or(coalesce(cluster, false) OR len(slot_info) > 0)
UNION ALL
SELECT count(*) || ' slots hold keys in more than one dump (slot ' || min(slot) || ' in '
       || any_value(sources) || '): these are not the dumps of one cluster''s masters only '
       || '(a replica''s dump repeats its master''s keys; a migration may be under way)'
FROM (SELECT slot, string_agg(source, ', ' ORDER BY source) AS sources FROM shard_slots
      GROUP BY slot HAVING count(*) > 1)
HAVING count(*) > 0;

-- table: fleet
SELECT count(*) AS dumps, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory_bytes,
       CASE WHEN count(used_mem) = count(*) THEN sum(used_mem)::BIGINT END AS used_mem,
       round(any_value(mean_bytes))::BIGINT AS mean_shard_bytes,
       arg_max(shard, memory_bytes) AS largest_shard,
       max(memory_bytes) AS largest_shard_bytes,
       round(max(memory_bytes) / nullif(any_value(mean_bytes), 0), 2) AS largest_to_mean,
       min(memory_bytes) AS smallest_shard_bytes,
       count(*) FILTER (WHERE memory_bytes > 1.5 * mean_bytes) AS shards_above_1_5x_mean
FROM shard_totals;

-- values: shard_biggest_sizes
SELECT DISTINCT biggest_bytes FROM shard_totals WHERE biggest_bytes IS NOT NULL;

-- temp: shard_biggest
-- each dump's biggest key as (file, row number), found by its size before any key text is read
SELECT k.source, k.file, k.file_row_number
FROM keys k JOIN shard_totals t ON k.source = t.source AND k.memory_bytes = t.biggest_bytes
WHERE k.memory_bytes IN $shard_biggest_sizes;

-- values: shard_biggest_rows
SELECT file_row_number FROM shard_biggest;

-- temp: shard_biggest_keys
SELECT k.source, min(k.key) AS biggest_key      -- ties: the first by name
FROM keys k SEMI JOIN shard_biggest c ON k.file = c.file AND k.file_row_number = c.file_row_number
WHERE k.file_row_number IN $shard_biggest_rows
GROUP BY k.source;

-- table: shards
SELECT t.shard, t.server, t.keys, t.memory_bytes, t.used_mem,
       round(t.estimated_total / nullif(t.used_mem, 0), 4) AS estimated_share_of_used_mem,
       round(t.memory_bytes / nullif(t.fleet_bytes, 0), 4) AS memory_share,
       round(t.memory_bytes / nullif(t.mean_bytes, 0) - 1, 4) AS deviation_from_mean,
       nullif(concat_ws('; ',
           CASE WHEN t.memory_bytes > 1.5 * t.mean_bytes
                THEN 'skew: ' || round(t.memory_bytes / t.mean_bytes, 2) || 'x the mean shard' END,
           CASE WHEN t.biggest_bytes > 0.10 * t.memory_bytes
                THEN 'big key: ' || b.biggest_key || ' holds ' || round(100 * t.biggest_bytes / t.memory_bytes, 1)
                     || ' % of the shard' END), '') AS flags,
       t.source
FROM shard_totals t LEFT JOIN shard_biggest_keys b USING (source)
ORDER BY t.memory_bytes DESC, t.shard;

-- temp: shard_slot_list
-- the slots each dump holds: its SLOT_INFO (Redis 7.4+, Valkey 8 slot-info aux) where it has one, else its keys' slots
SELECT source, s.slot AS slot, 'slot info' AS slots_from
FROM (SELECT source, unnest(slot_info) AS s FROM meta WHERE len(slot_info) > 0)
UNION ALL
SELECT source, slot, 'keys' FROM shard_slots
WHERE source IN (SELECT source FROM meta WHERE len(slot_info) = 0);

-- temp: shard_ranges
-- slots in runs: consecutive in slot order with no other dump's slot between them (a slot no dump has
-- keys in goes with its neighbours: a dump cannot say who owns an empty slot)
WITH o AS (
    SELECT source, slot, slots_from,
           row_number() OVER (ORDER BY slot, source) - row_number() OVER (PARTITION BY source ORDER BY slot) AS run
    FROM shard_slot_list
), r AS (
    SELECT source, any_value(slots_from) AS slots_from, min(slot) AS first_slot, max(slot) AS last_slot
    FROM o GROUP BY source, run
)
SELECT source, any_value(slots_from) AS slots_from, count(*) AS ranges,
       list(CASE WHEN first_slot = last_slot THEN first_slot::VARCHAR ELSE first_slot || '-' || last_slot END
            ORDER BY first_slot) AS range_list
FROM r GROUP BY source;

-- temp: shard_patterns
SELECT source, first(pattern ORDER BY memory_bytes DESC, pattern) AS top_pattern,
       max(memory_bytes) AS top_pattern_bytes
FROM (SELECT source, pattern, coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes FROM keys GROUP BY source, pattern)
GROUP BY source;

-- table: contents
SELECT t.shard,
       array_to_string(r.range_list[1:8], ', ')
           || CASE WHEN r.ranges > 8 THEN ', ... (' || r.ranges || ' ranges)' ELSE '' END AS slots,
       (SELECT count(*) FROM shard_slot_list l WHERE l.source = t.source) AS slot_count,
       r.slots_from,
       b.biggest_key, t.biggest_bytes AS biggest_key_bytes,
       round(t.biggest_bytes / nullif(t.memory_bytes, 0), 4) AS biggest_key_share,
       p.top_pattern, p.top_pattern_bytes,
       round(p.top_pattern_bytes / nullif(t.memory_bytes, 0), 4) AS top_pattern_share
FROM shard_totals t
LEFT JOIN shard_ranges r USING (source)
LEFT JOIN shard_biggest_keys b USING (source)
LEFT JOIN shard_patterns p USING (source)
ORDER BY t.memory_bytes DESC, t.shard;
