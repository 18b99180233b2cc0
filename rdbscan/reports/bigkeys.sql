-- bigkeys: the biggest keys by memory and by length (elements, or bytes for
-- strings), overall and per type.  Exact: every key is ranked, none sampled.

-- table: by_memory
-- (the floor -- the Nth biggest value, found from the numbers alone -- lets the scan skip reading the
-- text of every smaller key; the tie-breaking ORDER BY on key would otherwise need them all)
SELECT db, key, type, encoding, memory_bytes, length, expire_at
FROM keys
WHERE coalesce(memory_bytes, -1) >= coalesce(
    (SELECT CASE WHEN count(memory_bytes) >= $top THEN list_min(max(memory_bytes, $top)) END FROM keys), -1)
ORDER BY memory_bytes DESC NULLS LAST, db, key
LIMIT $top;

-- table: by_length
SELECT db, key, type, encoding, memory_bytes, length, expire_at
FROM keys
WHERE length >= coalesce((SELECT CASE WHEN count(length) >= $top THEN list_min(max(length, $top)) END FROM keys), -1)
ORDER BY length DESC, db, key
LIMIT $top;

-- table: by_type_memory
WITH floor AS (    -- each type's Nth biggest: only keys at or above it are ranked (a window over every key is slow)
    SELECT type, CASE WHEN count(memory_bytes) >= $top THEN list_min(max(memory_bytes, $top)) END AS floor
    FROM keys GROUP BY type
)
SELECT type, rank, db, key, encoding, memory_bytes, length, expire_at
FROM (SELECT k.type, k.db, k.key, k.encoding, k.memory_bytes, k.length, k.expire_at,
             row_number() OVER (PARTITION BY k.type ORDER BY k.memory_bytes DESC NULLS LAST, k.db, k.key) AS rank
      FROM keys k JOIN floor f ON k.type = f.type
      WHERE f.floor IS NULL OR k.memory_bytes >= f.floor)
WHERE rank <= $top
ORDER BY type, rank;

-- table: by_type_length
WITH floor AS (
    SELECT type, CASE WHEN count(length) >= $top THEN list_min(max(length, $top)) END AS floor
    FROM keys GROUP BY type
)
SELECT type, rank, db, key, encoding, memory_bytes, length, expire_at
FROM (SELECT k.type, k.db, k.key, k.encoding, k.memory_bytes, k.length, k.expire_at,
             row_number() OVER (PARTITION BY k.type ORDER BY k.length DESC, k.db, k.key) AS rank
      FROM keys k JOIN floor f ON k.type = f.type
      WHERE k.length IS NOT NULL AND (f.floor IS NULL OR k.length >= f.floor))
WHERE rank <= $top
ORDER BY type, rank;
