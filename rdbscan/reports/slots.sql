-- slots: keys and memory per cluster hash slot (CRC16 of the key or its
-- {hash tag}, mod 16384) and how evenly they spread.  Computed for every
-- dump: for one that is not from a cluster it shows how the data would shard.

-- table: notes
SELECT 'the dump does not say it comes from a cluster (no slot info, no --cluster): the slots are where '
       || 'its keys would land in one' AS note
FROM meta
HAVING NOT bool_or(coalesce(cluster, false));

-- table: skew
WITH s AS (SELECT slot, count(*) AS keys, sum(memory_bytes) AS memory_bytes FROM keys GROUP BY slot)
SELECT count(*) AS slots_used,
       sum(keys)::BIGINT AS keys,
       sum(memory_bytes)::BIGINT AS memory_bytes,
       round(avg(memory_bytes))::BIGINT AS avg_slot_bytes,
       max(memory_bytes)::BIGINT AS max_slot_bytes,
       round(max(memory_bytes) / nullif(avg(memory_bytes), 0), 2) AS max_to_avg,
       round(stddev_pop(memory_bytes) / nullif(avg(memory_bytes), 0), 3) AS coefficient_of_variation
FROM s;

-- table: top_slots
WITH s AS (SELECT slot, count(*) AS keys, sum(memory_bytes)::BIGINT AS memory_bytes,
                  sum(sum(memory_bytes)) OVER () AS total
           FROM keys GROUP BY slot
           ORDER BY memory_bytes DESC, slot LIMIT $top),
     b AS (SELECT slot, arg_max(key, memory_bytes) AS biggest_key    -- keys read for the top slots only
           FROM keys WHERE slot IN (SELECT slot FROM s) GROUP BY slot)
SELECT s.slot, s.keys, s.memory_bytes, round(s.memory_bytes / nullif(s.total, 0), 4) AS memory_share, b.biggest_key
FROM s JOIN b USING (slot)
ORDER BY s.memory_bytes DESC, s.slot;
