-- streams: entries, consumer groups, consumers and pending entries (PEL)
-- per stream; a large PEL means messages read but never acknowledged.

-- table: streams
SELECT db, key, length AS entries, stream_groups AS groups, stream_consumers AS consumers,
       stream_pending AS pending, memory_bytes, expire_at, source
FROM keys
WHERE type = 'stream'
ORDER BY memory_bytes DESC NULLS LAST, db, key, source
LIMIT $top;

-- table: biggest_pel
SELECT db, key, stream_pending AS pending, stream_groups AS groups, stream_consumers AS consumers,
       length AS entries, memory_bytes, source
FROM keys
WHERE type = 'stream' AND stream_pending > 0
ORDER BY stream_pending DESC, db, key, source
LIMIT $top;

-- table: totals
SELECT count(*) AS streams, coalesce(sum(length), 0)::BIGINT AS entries,
       coalesce(sum(stream_groups), 0)::BIGINT AS groups, coalesce(sum(stream_consumers), 0)::BIGINT AS consumers,
       coalesce(sum(stream_pending), 0)::BIGINT AS pending, coalesce(sum(memory_bytes), 0)::BIGINT AS memory_bytes
FROM keys
WHERE type = 'stream';
