-- rebalance: a slot-migration plan that evens memory across a cluster's
-- masters (redis-cli --cluster rebalance evens slot counts; OOM is about
-- bytes): which slot ranges to move from which shard to which, and each
-- shard's memory before and after.  Greedy: the fullest shard gives the
-- range of its slots holding the most memory that fits to the emptiest one,
-- until the largest shard is within 1 % of the mean shard, no range fits,
-- or $max_moves moves (the method: rdbscan/analysis/rebalance.py).

-- temp: slot_memory
-- keys and memory per (shard, slot): one pass over the keys, then each dump's short shard name
SELECT m.shard, s.source, s.slot, s.keys, s.memory_bytes
FROM (SELECT source, slot, count(*) AS keys, coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes
      FROM keys GROUP BY source, slot) s
JOIN meta m USING (source);

-- temp: plan
-- the moves as slot ranges, chosen by rebalance_plan() (Python: a greedy search SQL does not express cleanly)
SELECT unnest(move)
FROM (SELECT unnest(rebalance_plan(
          (SELECT list({'shard': shard, 'slot': slot, 'memory_bytes': memory_bytes} ORDER BY shard, slot)
           FROM slot_memory),
          (SELECT list(shard ORDER BY shard) FROM meta),
          $max_moves)) AS move);

-- temp: moved
-- what each move carries: the giver's slots in its range (a slot no dump has keys in carries nothing)
SELECT p.step, p.from_shard, p.to_shard, p.first_slot, p.last_slot, s.slot, s.keys, s.memory_bytes
FROM plan p JOIN slot_memory s ON s.shard = p.from_shard AND s.slot BETWEEN p.first_slot AND p.last_slot;

-- temp: shard_plan
SELECT m.shard, m.source,
       coalesce(b.keys, 0) AS keys_before, coalesce(b.memory_bytes, 0) AS memory_before,
       coalesce(b.keys, 0) - coalesce(o.keys, 0) + coalesce(i.keys, 0) AS keys_after,
       coalesce(b.memory_bytes, 0) - coalesce(o.memory_bytes, 0) + coalesce(i.memory_bytes, 0) AS memory_after
FROM meta m
LEFT JOIN (SELECT shard, sum(keys) AS keys, sum(memory_bytes) AS memory_bytes FROM slot_memory GROUP BY shard) b
       USING (shard)
LEFT JOIN (SELECT from_shard AS shard, sum(keys) AS keys, sum(memory_bytes) AS memory_bytes FROM moved GROUP BY 1) o
       USING (shard)
LEFT JOIN (SELECT to_shard AS shard, sum(keys) AS keys, sum(memory_bytes) AS memory_bytes FROM moved GROUP BY 1) i
       USING (shard);

-- table: notes
SELECT note FROM (
    SELECT 'one dump: there is nothing to balance it against' AS note, 0 AS ord
    FROM meta HAVING count(*) < 2
    UNION ALL
    SELECT 'the dumps do not say they come from a cluster (no slot info, no --cluster): the plan moves the '
           || 'slots their keys would land in', 1
    FROM meta HAVING count(*) > 1 AND NOT bool_or(coalesce(cluster, false) OR len(slot_info) > 0)
    UNION ALL
    SELECT 'the shards are already within 1 % of the mean shard: nothing to move', 2
    FROM shard_plan HAVING count(*) > 1 AND max(memory_before) <= 1.01 * avg(memory_before)
    UNION ALL
    -- what the plan cannot even out: the largest shard's biggest slot, when a slot alone is beyond the room left
    SELECT 'after the plan ' || a.shard || ' still holds ' || round(a.memory_after / a.mean, 2)
           || 'x the mean shard: its slot ' || s.slot || ' alone holds ' || human_bytes(s.memory_bytes)
           || ' (' || format('{:,}', s.keys)
           || ' keys; a hot hash tag -- only spreading its keys over more tags evens it out)', 3
    FROM (SELECT shard, memory_after, avg(memory_before) OVER () AS mean, count(*) OVER () AS shards
          FROM shard_plan ORDER BY memory_after DESC, shard LIMIT 1) a
    JOIN (SELECT shard, slot, keys, memory_bytes FROM slot_memory
          WHERE slot NOT IN (SELECT slot FROM moved)
          QUALIFY row_number() OVER (PARTITION BY shard ORDER BY memory_bytes DESC, slot) = 1) s USING (shard)
    WHERE a.shards > 1 AND a.memory_after > 1.01 * a.mean AND s.memory_bytes > a.memory_after - a.mean
) ORDER BY ord;

-- table: summary
SELECT count(*) AS shards,
       sum(memory_before)::BIGINT AS memory_bytes,
       round(avg(memory_before))::BIGINT AS mean_shard_bytes,
       arg_max(shard, memory_before) AS largest_before,
       max(memory_before)::BIGINT AS largest_before_bytes,
       arg_max(shard, memory_after) AS largest_after,
       max(memory_after)::BIGINT AS largest_after_bytes,
       round(max(memory_before) / nullif(avg(memory_before), 0), 3) AS largest_to_mean_before,
       round(max(memory_after) / nullif(avg(memory_before), 0), 3) AS largest_to_mean_after,
       (SELECT count(*) FROM plan) AS moves,
       (SELECT count(*) FROM moved) AS slots_moved,
       (SELECT coalesce(sum(keys), 0)::BIGINT FROM moved) AS keys_moved,
       (SELECT coalesce(sum(memory_bytes), 0)::BIGINT FROM moved) AS memory_moved
FROM shard_plan;

-- table: moves
SELECT step,
       'move slot' || CASE WHEN first_slot < last_slot THEN 's ' ELSE ' ' END || slots
           || ' (' || human_bytes(memory_bytes) || ', '
           || format('{:,}', keys) || CASE WHEN keys = 1 THEN ' key' ELSE ' keys' END
           || ') from ' || from_shard || ' to ' || to_shard AS move,
       from_shard, to_shard, slots, first_slot, last_slot, slots_with_keys, keys, memory_bytes
FROM (SELECT step, from_shard, to_shard, first_slot, last_slot,
             CASE WHEN first_slot = last_slot THEN first_slot::VARCHAR ELSE first_slot || '-' || last_slot END AS slots,
             count(*) AS slots_with_keys, sum(keys)::BIGINT AS keys, sum(memory_bytes)::BIGINT AS memory_bytes
      FROM moved GROUP BY ALL)
ORDER BY step;

-- table: shards
SELECT shard, keys_before::BIGINT AS keys_before, keys_after::BIGINT AS keys_after,
       memory_before::BIGINT AS memory_before, memory_after::BIGINT AS memory_after,
       (memory_after - memory_before)::BIGINT AS memory_delta,
       round(memory_before / nullif(avg(memory_before) OVER (), 0) - 1, 4) AS deviation_before,
       round(memory_after / nullif(avg(memory_before) OVER (), 0) - 1, 4) AS deviation_after,
       source
FROM shard_plan
ORDER BY memory_before DESC, shard;
