-- slots: keys and memory per cluster hash slot (CRC16 of the key or its
-- {hash tag}, mod 16384) and how evenly they spread.  Computed for every
-- dump: for one that is not from a cluster it shows how the data would shard.
-- Where the dump declares its own per-slot counts (Redis SLOT_INFO, Valkey
-- slot-info) they are held against the keys found in each slot.

-- temp: slot_check
-- declared (summed over files) against found, per slot the dumps declare
WITH d AS (SELECT slot, sum(keys) AS keys_declared, sum(expires) AS expires_declared,
                  sum(keys_with_volatile_items) AS volatile_declared
           FROM slot_info GROUP BY slot),
     f AS (SELECT slot, count(*) AS keys_found, count(expire_at) AS expires_found,
                  count(*) FILTER (WHERE coalesce(hash_fields_with_ttl, 0) + coalesce(hash_fields_expired, 0) > 0)
                      AS volatile_found
           FROM keys WHERE slot IN (SELECT slot FROM slot_info) GROUP BY slot)
SELECT d.slot, d.keys_declared, coalesce(f.keys_found, 0) AS keys_found,
       d.expires_declared, coalesce(f.expires_found, 0) AS expires_found,
       d.volatile_declared, CASE WHEN d.volatile_declared IS NOT NULL THEN coalesce(f.volatile_found, 0) END
           AS volatile_found
FROM d LEFT JOIN f USING (slot);

-- table: notes
SELECT 'the dump does not say it comes from a cluster (no slot info, no --cluster): the slots are where '
       || 'its keys would land in one' AS note
FROM meta
HAVING NOT bool_or(coalesce(cluster, false) OR len(slot_info) > 0)
UNION ALL
SELECT 'the slot info of ' || count(*) || ' slots disagrees with the keys found in them'
       || ' (with --db, --type or --match fewer keys are found)' AS note
FROM slot_check
WHERE keys_declared <> keys_found OR expires_declared <> expires_found OR volatile_declared <> volatile_found
HAVING count(*) > 0;

-- temp: slot_totals
SELECT slot, count(*) AS keys, sum(memory_bytes)::BIGINT AS memory_bytes, max(memory_bytes) AS biggest_bytes
FROM keys GROUP BY slot;

-- table: skew
SELECT count(*) AS slots_used,
       sum(keys)::BIGINT AS keys,
       sum(memory_bytes)::BIGINT AS memory_bytes,
       round(avg(memory_bytes))::BIGINT AS avg_slot_bytes,
       max(memory_bytes)::BIGINT AS max_slot_bytes,
       round(max(memory_bytes) / nullif(avg(memory_bytes), 0), 2) AS max_to_avg,
       round(stddev_pop(memory_bytes) / nullif(avg(memory_bytes), 0), 3) AS coefficient_of_variation
FROM slot_totals;

-- temp: top_slot_keys
-- the top slots' biggest keys as (file, row number), from the numbers alone
WITH t AS (SELECT slot, biggest_bytes FROM slot_totals ORDER BY memory_bytes DESC, slot LIMIT $top)
SELECT k.file, k.file_row_number FROM keys k JOIN t ON k.slot = t.slot AND k.memory_bytes = t.biggest_bytes;

-- values: top_slot_rows
SELECT file_row_number FROM top_slot_keys;

-- values: top_slot_numbers
SELECT slot FROM slot_totals ORDER BY memory_bytes DESC, slot LIMIT $top;

-- table: top_slots
-- source: the dump(s) holding the slot's keys (more than one only when the dumps are not one cluster's masters)
WITH s AS (SELECT slot, keys, memory_bytes, sum(memory_bytes) OVER () AS total FROM slot_totals),
     b AS (SELECT slot, min(key) AS biggest_key     -- ties: the first by name; key text read for these rows only
           FROM keys k SEMI JOIN top_slot_keys c ON k.file = c.file AND k.file_row_number = c.file_row_number
           WHERE k.file_row_number IN $top_slot_rows
           GROUP BY slot),
     d AS (SELECT slot, string_agg(DISTINCT source, ', ' ORDER BY source) AS source
           FROM keys WHERE slot IN $top_slot_numbers GROUP BY slot)
SELECT s.slot, s.keys, s.memory_bytes, round(s.memory_bytes / nullif(s.total, 0), 4) AS memory_share, b.biggest_key,
       d.source
FROM s LEFT JOIN b USING (slot) LEFT JOIN d USING (slot)
ORDER BY s.memory_bytes DESC, s.slot
LIMIT $top;

-- table: slot_info
-- the dumps' own slot counts next to the keys found (filters make fewer keys found)
SELECT count(*) AS slots_declared,
       sum(keys_declared)::BIGINT AS keys_declared, sum(keys_found)::BIGINT AS keys_found,
       sum(expires_declared)::BIGINT AS expires_declared, sum(expires_found)::BIGINT AS expires_found,
       sum(volatile_declared)::BIGINT AS keys_with_volatile_items_declared,
       sum(volatile_found)::BIGINT AS keys_with_volatile_items_found,
       count(*) FILTER (WHERE keys_declared <> keys_found OR expires_declared <> expires_found
                        OR volatile_declared <> volatile_found) AS slots_mismatched
FROM slot_check
HAVING count(*) > 0;

-- table: slot_info_mismatches
SELECT slot, keys_declared, keys_found, expires_declared, expires_found,
       volatile_declared AS keys_with_volatile_items_declared, volatile_found AS keys_with_volatile_items_found
FROM slot_check
WHERE keys_declared <> keys_found OR expires_declared <> expires_found OR volatile_declared <> volatile_found
ORDER BY abs(keys_declared - keys_found) DESC, slot
LIMIT $top;
