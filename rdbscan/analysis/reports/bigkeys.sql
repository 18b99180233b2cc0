-- bigkeys: the biggest keys by memory and by length (elements, or bytes for
-- strings), overall and per type.  Exact: every key is ranked, none sampled.

-- table: by_memory
-- (the floor -- the Nth biggest value, found from the numbers alone -- lets the scan skip reading the
-- text of every smaller key; the tie-breaking ORDER BY on key would otherwise need them all)
SELECT db, key, type, encoding, memory_bytes, length, expire_at, source
FROM keys
WHERE coalesce(memory_bytes, -1) >= coalesce(
    (SELECT CASE WHEN count(memory_bytes) >= $top THEN list_min(max(memory_bytes, $top)) END FROM keys), -1)
ORDER BY memory_bytes DESC NULLS LAST, db, key, source
LIMIT $top;

-- table: by_length
SELECT db, key, type, encoding, memory_bytes, length, expire_at, source
FROM keys
WHERE length >= coalesce((SELECT CASE WHEN count(length) >= $top THEN list_min(max(length, $top)) END FROM keys), -1)
ORDER BY length DESC, db, key, source
LIMIT $top;

-- temp: memory_candidates
-- each type's N biggest keys (ties included) as (file, row number), from the numbers alone
WITH floor AS (SELECT type, coalesce(list_min(max(memory_bytes, $top)), -1) AS floor FROM keys GROUP BY type)
SELECT k.file, k.file_row_number FROM keys k JOIN floor f ON k.type = f.type WHERE coalesce(k.memory_bytes, -1) >= f.floor;

-- values: memory_rows
SELECT file_row_number FROM memory_candidates;

-- table: by_type_memory
SELECT type, rank, db, key, encoding, memory_bytes, length, expire_at, source
FROM (SELECT type, db, key, encoding, memory_bytes, length, expire_at, source,
             row_number() OVER (PARTITION BY type ORDER BY memory_bytes DESC NULLS LAST, db, key, source) AS rank
      FROM keys k SEMI JOIN memory_candidates c ON k.file = c.file AND k.file_row_number = c.file_row_number
      WHERE k.file_row_number IN $memory_rows)       -- a constant list: the key text of these rows only is read
WHERE rank <= $top
ORDER BY type, rank;

-- temp: length_candidates
WITH floor AS (SELECT type, coalesce(list_min(max(length, $top)), -1) AS floor FROM keys GROUP BY type)
SELECT k.file, k.file_row_number FROM keys k JOIN floor f ON k.type = f.type WHERE k.length >= f.floor;

-- values: length_rows
SELECT file_row_number FROM length_candidates;

-- table: by_type_length
SELECT type, rank, db, key, encoding, memory_bytes, length, expire_at, source
FROM (SELECT type, db, key, encoding, memory_bytes, length, expire_at, source,
             row_number() OVER (PARTITION BY type ORDER BY length DESC, db, key, source) AS rank
      FROM keys k SEMI JOIN length_candidates c ON k.file = c.file AND k.file_row_number = c.file_row_number
      WHERE k.file_row_number IN $length_rows)
WHERE rank <= $top
ORDER BY type, rank;
