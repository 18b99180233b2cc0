-- bigkeys: the biggest keys by memory and by length (elements, or bytes for
-- strings), overall and per type.  Exact: every key is ranked, none sampled.

-- table: by_memory
SELECT db, key, type, encoding, memory_bytes, length, expire_at
FROM keys
ORDER BY memory_bytes DESC NULLS LAST, db, key
LIMIT $top;

-- table: by_length
SELECT db, key, type, encoding, memory_bytes, length, expire_at
FROM keys
WHERE length IS NOT NULL
ORDER BY length DESC, db, key
LIMIT $top;

-- table: by_type_memory
SELECT type, rank, db, key, encoding, memory_bytes, length, expire_at
FROM (SELECT *, row_number() OVER (PARTITION BY type ORDER BY memory_bytes DESC NULLS LAST, db, key) AS rank
      FROM keys)
WHERE rank <= $top
ORDER BY type, rank;

-- table: by_type_length
SELECT type, rank, db, key, encoding, memory_bytes, length, expire_at
FROM (SELECT *, row_number() OVER (PARTITION BY type ORDER BY length DESC, db, key) AS rank
      FROM keys WHERE length IS NOT NULL)
WHERE rank <= $top
ORDER BY type, rank;
