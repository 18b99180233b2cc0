"""Per-key records: the Arrow schema, and batches built from scanner buffers.

The scanners hand over raw little-endian column buffers; this layer wraps
them with ``pa.Array.from_buffers`` (no per-row Python work), derives the
server-side view (``encoding``, via :mod:`rdbscan.encoding`) and applies the
user's filters.
"""

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan import encoding as enc
from rdbscan.format import KIND_NAMES

SCHEMA = pa.schema([
    pa.field("db", pa.uint16(), nullable=False),
    pa.field("key", pa.string(), nullable=False),
    pa.field("key_bytes", pa.binary()),
    pa.field("type", pa.dictionary(pa.int16(), pa.string()), nullable=False),
    pa.field("encoding", pa.dictionary(pa.int8(), pa.string()), nullable=False),
    pa.field("rdb_type", pa.uint8(), nullable=False),
    pa.field("length", pa.int64()),
    pa.field("max_element_bytes", pa.int64(), nullable=False),
    pa.field("serialized_bytes", pa.int64(), nullable=False),
    pa.field("memory_bytes", pa.int64()),
    pa.field("expire_at", pa.timestamp("ms", tz="UTC")),
    pa.field("idle_seconds", pa.int64()),
    pa.field("lfu_freq", pa.uint8()),
    pa.field("slot", pa.uint16(), nullable=False),
    pa.field("offset", pa.int64(), nullable=False),
    pa.field("stream_groups", pa.int64()),
    pa.field("stream_consumers", pa.int64()),
    pa.field("stream_pending", pa.int64()),
    pa.field("hash_fields_with_ttl", pa.int64()),
])
"""The scan output schema: one row per key.  Later layers and users rely on these names."""

COLUMNS = tuple(SCHEMA.names)


def _validity(cols, name, n):
    """A validity bitmap from a byte-per-row 0/1 buffer (None when all valid)."""
    flags = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(cols[name])])
    if pc.all(pc.equal(flags, 1)).as_py():
        return None, 0
    mask = pc.not_equal(flags, 0)
    return mask.buffers()[1], n - pc.sum(mask).as_py()


def _fixed(cols, name, typ, n, valid=None):
    """A fixed-width column, nullable through the ``valid`` byte buffer."""
    bitmap, nulls = (None, 0) if valid is None else _validity(cols, valid, n)
    return pa.Array.from_buffers(typ, n, [bitmap, pa.py_buffer(cols[name])], null_count=nulls)


def _all_null(typ, n):
    return pa.nulls(n, typ)


def build_batch(n, cols, module_names, profile):
    """Turn one scanner batch (``n`` rows of raw buffers) into a RecordBatch of :data:`SCHEMA`."""
    key = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(cols["key_offsets"]),
                                                 pa.py_buffer(cols["key_data"])])
    raw_bitmap, raw_nulls = _validity(cols, "key_raw_valid", n)
    # key_bytes is null where the key is plain UTF-8: invert the "raw" flags.
    raw_flags = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(cols["key_raw_valid"])])
    raw_mask = pc.not_equal(raw_flags, 0)
    raw_count = pc.sum(raw_mask).as_py() or 0
    key_bytes = pa.Array.from_buffers(
        pa.binary(), n,
        [raw_mask.buffers()[1] if raw_count else None, pa.py_buffer(cols["key_raw_offsets"]),
         pa.py_buffer(cols["key_raw_data"])],
        null_count=n - raw_count) if raw_count else _all_null(pa.binary(), n)

    kind = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(cols["kind"])])
    type_names = list(KIND_NAMES) + list(module_names)
    type_col = pa.DictionaryArray.from_arrays(pc.cast(kind, pa.int16()), pa.array(type_names, pa.string()))

    rdb_type = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(cols["rdb_type"])])
    length = _fixed(cols, "length", pa.int64(), n, "length_valid")
    max_elem = _fixed(cols, "max_element_bytes", pa.int64(), n)
    flags = pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(cols["flags"])])
    nodes = _fixed(cols, "nodes", pa.int64(), n)
    blob = _fixed(cols, "blob_bytes", pa.int64(), n)
    elem = _fixed(cols, "element_bytes", pa.int64(), n)
    encoding_col = enc.encoding_column(profile, kind, rdb_type, length, max_elem, flags,
                                       nodes, blob, elem)

    expire = _fixed(cols, "expire_at", pa.int64(), n, "expire_valid").view(pa.timestamp("ms", tz="UTC"))
    arrays = [
        _fixed(cols, "db", pa.uint16(), n),
        key,
        key_bytes,
        type_col,
        encoding_col,
        rdb_type,
        length,
        max_elem,
        _fixed(cols, "serialized_bytes", pa.int64(), n),
        _all_null(pa.int64(), n),
        expire,
        _fixed(cols, "idle", pa.int64(), n, "idle_valid"),
        _fixed(cols, "freq", pa.uint8(), n, "freq_valid"),
        _fixed(cols, "slot", pa.uint16(), n),
        _fixed(cols, "offset", pa.int64(), n),
        _fixed(cols, "stream_groups", pa.int64(), n, "stream_valid"),
        _fixed(cols, "stream_consumers", pa.int64(), n, "stream_valid"),
        _fixed(cols, "stream_pending", pa.int64(), n, "stream_valid"),
        _fixed(cols, "hash_fields_with_ttl", pa.int64(), n, "hfe_valid"),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _lit(c):
    # RE2 literal: letters, digits and non-ASCII as they are, the rest as \x{..}.
    return c if c.isalnum() or ord(c) > 127 else "\\x{%x}" % ord(c)


def redis_glob_to_regex(pattern):
    """Translate a Redis glob (``*``, ``?``, ``[a-z]``, ``[^x]``, ``\\`` escapes) to an anchored RE2 regex.

    Follows Redis ``stringmatchlen``: reversed ranges are swapped, and a
    class left open runs to the end of the pattern.
    """
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("(?s:.*)")
        elif c == "?":
            out.append("(?s:.)")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(_lit(pattern[i]))
        elif c == "[":
            i += 1
            negate = i < n and pattern[i] == "^"
            if negate:
                i += 1
            items = []
            while i < n and pattern[i] != "]":
                if pattern[i] == "\\" and i + 1 < n:
                    i += 1
                    items.append(_lit(pattern[i]))
                elif i + 2 < n and pattern[i + 1] == "-":
                    lo, hi = sorted((pattern[i], pattern[i + 2]))
                    items.append(_lit(lo) + "-" + _lit(hi))
                    i += 2
                else:
                    items.append(_lit(pattern[i]))
                i += 1
            if items:
                out.append("[" + ("^" if negate else "") + "".join(items) + "]")
            else:
                out.append("(?s:.)" if negate else "[^\\x{0}-\\x{10FFFF}]")
        else:
            out.append(_lit(c))
        i += 1
    out.append("$")
    return "".join(out)


def filter_batch(batch, db=None, types=None, match=None, min_bytes=None):
    """Keep the rows that pass every given filter (None means no filter).

    ``db`` and ``types`` are collections; ``match`` is a Redis glob on the
    key text; ``min_bytes`` compares memory_bytes when known, else
    serialized_bytes.
    """
    mask = None

    def add(m):
        nonlocal mask
        mask = m if mask is None else pc.and_(mask, m)

    if db:
        add(pc.is_in(batch.column("db"), value_set=pa.array(sorted(db), pa.uint16())))
    if types:
        add(pc.is_in(pc.cast(batch.column("type"), pa.string()), value_set=pa.array(sorted(types), pa.string())))
    if match:
        add(pc.match_substring_regex(batch.column("key"), redis_glob_to_regex(match)))
    if min_bytes is not None:
        size = pc.coalesce(batch.column("memory_bytes"), batch.column("serialized_bytes"))
        add(pc.greater_equal(size, min_bytes))
    if mask is None:
        return batch
    return batch.filter(mask)
