-- advice: changes that would shrink the dataset, each with the memory at
-- stake (the memory of the keys concerned) and, where the saving can be
-- estimated from the scan, an estimated saving.  Encoding advice cites the
-- what-if scenario that raises that limit far enough (scenario: the
-- report's compact-encodings scenario, or a --scenario), when the whatif
-- section ran, with its figure for the pattern (scenario_delta_bytes: every
-- key of the pattern, re-encoded as that limit has them).

-- table: advice
WITH t AS (
    SELECT coalesce(max(json_extract(thresholds, '$.hash_max_entries')::BIGINT), 128) AS hash_entries,
           coalesce(max(json_extract(thresholds, '$.hash_max_value')::BIGINT), 64) AS hash_value,
           coalesce(max(json_extract(thresholds, '$.zset_max_entries')::BIGINT), 128) AS zset_entries,
           coalesce(max(json_extract(thresholds, '$.zset_max_value')::BIGINT), 64) AS zset_value,
           coalesce(max(json_extract(thresholds, '$.set_max_listpack_entries')::BIGINT), 128) AS set_entries,
           coalesce(max(json_extract(thresholds, '$.set_max_listpack_value')::BIGINT), 64) AS set_value
    FROM meta
), json_docs AS (
    SELECT 'json-strings' AS advice, pattern AS subject, sum(json_keys)::BIGINT AS keys,
           sum(json_memory)::BIGINT AS memory_at_stake, NULL::BIGINT AS estimated_saving,
           'JSON documents stored as strings: a hash per document (HSET field value) lets clients read and '
           || 'update single fields, and small hashes are listpack-encoded' AS detail
    FROM pattern_stats
    WHERE json_keys > 0
    GROUP BY pattern
), near_threshold AS (
    SELECT 'above-listpack-threshold' AS advice, type || ' ' || pattern AS subject, count(*) AS keys,
           sum(memory_bytes)::BIGINT AS memory_at_stake,
           greatest(sum(memory_bytes - serialized_bytes - 64), 0)::BIGINT AS estimated_saving,
           'collections just above the listpack limit (' || any_value(setting) || ' ' || any_value(lim)
           || '): raising it to ' || max(length) || ' keeps them compact' AS detail,
           type, pattern, max(length) AS need_entries, max(max_element_bytes) AS need_value
    FROM (SELECT k.pattern, k.type, k.length, k.max_element_bytes, k.memory_bytes, k.serialized_bytes,
                 CASE k.type WHEN 'hash' THEN t.hash_entries WHEN 'zset' THEN t.zset_entries
                                  ELSE t.set_entries END AS lim,
                 CASE k.type WHEN 'hash' THEN 'hash-max-listpack-entries' WHEN 'zset' THEN 'zset-max-listpack-entries'
                             ELSE 'set-max-listpack-entries' END AS setting,
                 CASE k.type WHEN 'hash' THEN t.hash_value WHEN 'zset' THEN t.zset_value
                             ELSE t.set_value END AS vlim
          FROM keys k, t
          WHERE k.type IN ('hash', 'zset', 'set') AND k.encoding IN ('hashtable', 'skiplist'))
    WHERE length > lim AND length <= 2 * lim AND max_element_bytes <= vlim
    GROUP BY type, pattern
), near_linked AS (
    -- the first limits-only what-if scenario under which these collections fit
    SELECT n.*, (SELECT min(s.scenario_no) FROM whatif_scenarios s
                 WHERE s.scenario_no > 0 AND s.release IS NULL AND s.allocator IS NULL
                   AND greatest(coalesce(json_extract(s.limits, CASE n.type WHEN 'hash' THEN '$.hash_max_entries'
                                                                     WHEN 'zset' THEN '$.zset_max_entries'
                                                                     ELSE '$.set_max_listpack_entries' END)::BIGINT, -1),
                                CASE WHEN n.type = 'set' THEN coalesce(json_extract(s.limits,
                                     '$.set_max_intset_entries')::BIGINT, -1) ELSE -1 END)
                       >= n.need_entries) AS scenario_no
    FROM near_threshold n
), near AS (
    SELECT l.advice, l.subject, l.keys, l.memory_at_stake,
           l.estimated_saving,
           l.detail || coalesce(' (what-if "' || s.scenario || '": ' || d.delta || ' bytes for the pattern)', '')
               AS detail,
           s.scenario, d.delta AS scenario_delta_bytes
    FROM near_linked l
    LEFT JOIN whatif_scenarios s ON s.scenario_no = l.scenario_no
    LEFT JOIN (SELECT scenario_no, type, pattern, sum(memory_bytes - asis_bytes)::BIGINT AS delta
               FROM whatif_stats GROUP BY ALL) d
           ON d.scenario_no = l.scenario_no AND d.type = l.type AND d.pattern = l.pattern
), tiny AS (
    SELECT 'bucket-tiny-keys' AS advice, pattern AS subject, sum(keys)::BIGINT AS keys,
           sum(memory_bytes)::BIGINT AS memory_at_stake,
           -- as hash fields each key costs about its value, its name (the pattern's length stands in) and 4 bytes
           greatest(sum(memory_bytes) - sum(length) - (strlen(pattern) + 4) * sum(keys), 0)::BIGINT AS estimated_saving,
           'many small string keys: stored as fields of hashes holding a few hundred each (HSET '
           || 'bucket field value), each key''s own overhead goes' AS detail
    FROM pattern_stats
    WHERE type = 'string'
    GROUP BY pattern
    HAVING sum(keys) >= $tiny_keys AND sum(memory_bytes) / sum(keys) <= 128
), big_values AS (
    SELECT 'compress-big-values' AS advice, pattern AS subject, sum(big_text_keys)::BIGINT AS keys,
           sum(big_text_memory)::BIGINT AS memory_at_stake,
           sum(big_text_saving)::BIGINT AS estimated_saving,
           'big ' || CASE WHEN bool_or(big_text_has_json) THEN 'JSON/text' ELSE 'text' END
           || ' values: compress them in the client (the dump''s LZF shows how well they shrink)' AS detail
    FROM pattern_stats
    WHERE big_text_keys > 0
    GROUP BY pattern
), pel AS (
    SELECT 'stream-pending' AS advice, key AS subject, 1 AS keys, memory_bytes AS memory_at_stake,
           NULL::BIGINT AS estimated_saving,
           stream_pending || ' entries read but never acknowledged (XACK) in ' || stream_groups
           || ' groups: the pending list keeps growing' AS detail
    FROM keys
    WHERE type = 'stream' AND stream_pending >= $pending
)
SELECT advice, subject, keys, memory_at_stake, estimated_saving, detail, scenario, scenario_delta_bytes
FROM (SELECT *, NULL::VARCHAR AS scenario, NULL::BIGINT AS scenario_delta_bytes FROM json_docs
      UNION ALL SELECT * FROM near
      UNION ALL SELECT *, NULL, NULL FROM tiny
      UNION ALL SELECT *, NULL, NULL FROM big_values UNION ALL SELECT *, NULL, NULL FROM pel)
ORDER BY memory_at_stake DESC NULLS LAST, advice, subject
LIMIT $top;
