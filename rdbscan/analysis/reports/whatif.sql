-- whatif: what would it take: the dataset's memory under other releases,
-- encoding limits and allocators, side by side with the dump as it is.
-- Each scenario (--scenario SPEC: a release such as 7.2, 8.6 or valkey-8.1,
-- limits such as hash-max-listpack-entries=512, allocator=jemalloc|jemalloc-16|libc,
-- cluster=yes|no) is every key's MEMORY USAGE estimate recomputed from the
-- one scan: collections re-encoded as that loader would (ziplists read as
-- listpacks, hashtables within raised limits built as listpacks or
-- intsets, listpacks above lowered ones as hashtables, skiplists or
-- hashtables), sized as it holds them.  Without --scenario: the newest
-- Redis and Valkey layouts the model knows, and compact encodings (limits
-- raised to where the dataset's small collections fit; the why column
-- says which and why).  delta_share is relative to the as-is memory of the
-- same rows.

-- temp: whatif_totals
SELECT s.scenario_no, s.scenario, s.why,
       coalesce(sum(w.memory_bytes), 0)::BIGINT AS memory_bytes,
       coalesce(sum(w.asis_bytes), 0)::BIGINT AS asis_bytes,
       coalesce(sum(w.keys_changing_encoding), 0)::BIGINT AS keys_changing_encoding
FROM whatif_scenarios s LEFT JOIN whatif_stats w USING (scenario_no)
GROUP BY ALL;

-- table: scenarios
SELECT scenario, memory_bytes, memory_bytes - asis_bytes AS delta_bytes,
       round((memory_bytes - asis_bytes) / nullif(asis_bytes, 0), 4) AS delta_share,
       keys_changing_encoding, why
FROM whatif_totals
ORDER BY scenario_no;

-- table: by_type
SELECT s.scenario, w.type, w.encoding, sum(w.keys)::BIGINT AS keys,
       sum(w.memory_bytes)::BIGINT AS memory_bytes,
       (sum(w.memory_bytes) - sum(w.asis_bytes))::BIGINT AS delta_bytes,
       round((sum(w.memory_bytes) - sum(w.asis_bytes)) / nullif(sum(w.asis_bytes), 0), 4) AS delta_share,
       sum(w.keys_changing_encoding)::BIGINT AS keys_changing_encoding
FROM whatif_stats w JOIN whatif_scenarios s USING (scenario_no)
WHERE w.scenario_no > 0
GROUP BY s.scenario_no, s.scenario, w.type, w.encoding
ORDER BY s.scenario_no, abs(sum(w.memory_bytes) - sum(w.asis_bytes)) DESC, w.type, w.encoding;

-- table: by_pattern
SELECT scenario, pattern, type, keys, memory_bytes, delta_bytes, delta_share, keys_changing_encoding
FROM (SELECT s.scenario_no, s.scenario, w.pattern, string_agg(DISTINCT w.type, ', ' ORDER BY w.type) AS type,
             sum(w.keys)::BIGINT AS keys, sum(w.memory_bytes)::BIGINT AS memory_bytes,
             (sum(w.memory_bytes) - sum(w.asis_bytes))::BIGINT AS delta_bytes,
             round((sum(w.memory_bytes) - sum(w.asis_bytes)) / nullif(sum(w.asis_bytes), 0), 4) AS delta_share,
             sum(w.keys_changing_encoding)::BIGINT AS keys_changing_encoding
      FROM whatif_stats w JOIN whatif_scenarios s USING (scenario_no)
      WHERE w.scenario_no > 0
      GROUP BY s.scenario_no, s.scenario, w.pattern)
QUALIFY row_number() OVER (PARTITION BY scenario_no ORDER BY abs(delta_bytes) DESC, pattern) <= $top
ORDER BY scenario_no, abs(delta_bytes) DESC, pattern;

-- table: notes
-- one verdict per scenario: the change, and the two groups of keys (type and
-- as-is encoding) that carry most of it
WITH groups AS (
    SELECT scenario_no,
           CASE WHEN type = 'hash' AND encoding IN ('listpack', 'ziplist', 'zipmap', 'listpackex') THEN 'small hashes'
                WHEN type = 'hash' THEN 'large hashes'
                WHEN type = 'set' AND encoding = 'intset' THEN 'integer sets'
                WHEN type = 'set' AND encoding = 'listpack' THEN 'small sets'
                WHEN type = 'set' THEN 'large sets'
                WHEN type = 'zset' AND encoding IN ('listpack', 'ziplist') THEN 'small sorted sets'
                WHEN type = 'zset' THEN 'large sorted sets'
                WHEN type = 'string' AND encoding IN ('int', 'embstr') THEN 'short strings'
                WHEN type = 'string' THEN 'long strings'
                WHEN type = 'list' THEN 'lists'
                WHEN type = 'stream' THEN 'streams'
                ELSE type END AS what,
           sum(memory_bytes) - sum(asis_bytes) AS delta
    FROM whatif_stats WHERE scenario_no > 0
    GROUP BY ALL
), ranked AS (
    SELECT g.*, t.memory_bytes - t.asis_bytes AS total,
           row_number() OVER (PARTITION BY g.scenario_no ORDER BY abs(g.delta) DESC, g.what) AS r
    FROM groups g JOIN whatif_totals t USING (scenario_no)
    WHERE sign(g.delta) = sign(t.memory_bytes - t.asis_bytes) AND g.delta <> 0
), lead AS (
    SELECT scenario_no,
           string_agg(what, ' and ' ORDER BY r) FILTER (WHERE r <= 2) AS what
    FROM ranked GROUP BY scenario_no
)
SELECT t.scenario || ': '
       || CASE WHEN t.memory_bytes = t.asis_bytes THEN 'no change'
               ELSE CASE WHEN t.memory_bytes < t.asis_bytes THEN '−' ELSE '+' END
                    || round(100 * abs(t.memory_bytes - t.asis_bytes) / nullif(t.asis_bytes, 0), 1) || ' % ('
                    || replace(formatReadableDecimalSize(abs(t.memory_bytes - t.asis_bytes)), 'kB', 'KB') || ')'
                    || coalesce(', mostly in ' || l.what, '') END
       || CASE WHEN t.keys_changing_encoding > 0
               THEN '; ' || t.keys_changing_encoding || ' keys change encoding' ELSE '' END AS note
FROM whatif_totals t LEFT JOIN lead l USING (scenario_no)
WHERE t.scenario_no > 0
ORDER BY t.scenario_no;
