"""Per-key records: the Arrow schema, and batches built from scanner buffers.

The scanners hand over raw little-endian column buffers; this layer wraps
them with ``pa.Array.from_buffers`` (no per-row Python work), derives the
server-side view (``encoding``, via :mod:`rdbscan.model.encoding`) and applies the
user's filters.
"""

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan import model
from rdbscan.scanner.format import FORMAT_NAMES, FORMAT_SHIFT, KIND_NAMES

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
    pa.field("value_format", pa.dictionary(pa.int8(), pa.string())),
    pa.field("hash_fields_expired", pa.int64()),
    pa.field("hash_expired_bytes", pa.int64()),
])
"""The scan output schema: one row per key.  Later layers and users rely on these names."""

COLUMNS = tuple(SCHEMA.names)

OUTPUT_SCHEMA = SCHEMA.append(pa.field("pattern", pa.dictionary(pa.int32(), pa.string())))
"""The Parquet files ``rdbscan scan`` writes: :data:`SCHEMA` plus each key's inferred ``pattern``
(default delimiters, no rules), computed on the writer thread so reports need not infer it again."""


def _fixed(cols, name, typ, n):
    """A fixed-width column from its raw little-endian buffer."""
    return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(cols[name])])


def _nullable(cols, name, valid, typ, n):
    """A nullable column: ``cols[valid]`` is a bitmap, None (all valid) or False (none)."""
    bitmap = cols[valid]
    if bitmap is False:
        return pa.nulls(n, typ)
    return pa.Array.from_buffers(typ, n, [None if bitmap is None else pa.py_buffer(bitmap),
                                          pa.py_buffer(cols[name])])


_FORMATS = pa.array(FORMAT_NAMES[1:], pa.string())


def _value_format(flags):
    """String values' sniffed format (flags' high bits); null for other types."""
    code = pc.shift_right(flags, FORMAT_SHIFT)
    index = pc.if_else(pc.equal(code, 0), pa.scalar(None, pa.int8()), pc.cast(pc.subtract(code, 1), pa.int8()))
    return pa.DictionaryArray.from_arrays(index, _FORMATS)


def build_batch(n, cols, module_names, profile, compiled_model=True):
    """Turn one scanner batch (``n`` rows of raw buffers) into a RecordBatch of :data:`SCHEMA`.

    ``compiled_model=False`` derives encoding and memory with the pyarrow
    reference instead of the compiled loop (the tests compare the two).
    """
    key = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(cols["key_offsets"]),
                                                 pa.py_buffer(cols["key_data"])])
    raw = cols["key_raw_valid"]
    key_bytes = pa.nulls(n, pa.binary()) if raw is False else pa.Array.from_buffers(
        pa.binary(), n, [None if raw is None else pa.py_buffer(raw),
                         pa.py_buffer(cols["key_raw_offsets"]), pa.py_buffer(cols["key_raw_data"])])

    kind = _fixed(cols, "kind", pa.uint8(), n)
    type_names = list(KIND_NAMES) + list(module_names)
    type_col = pa.DictionaryArray.from_arrays(pc.cast(kind, pa.int16()), pa.array(type_names, pa.string()))

    rdb_type = _fixed(cols, "rdb_type", pa.uint8(), n)
    length = _nullable(cols, "length", "length_valid", pa.int64(), n)
    max_elem = _fixed(cols, "max_element_bytes", pa.int64(), n)
    streams = {name: _nullable(cols, name, "stream_valid", pa.int64(), n)
               for name in ("stream_groups", "stream_consumers", "stream_pending")}
    hfe = _nullable(cols, "hash_fields_with_ttl", "hfe_valid", pa.int64(), n)
    expired = {name: _nullable(cols, name, "expired_valid", pa.int64(), n)
               for name in ("hash_fields_expired", "hash_expired_bytes")}
    expire = _nullable(cols, "expire_at", "expire_valid", pa.int64(), n).view(pa.timestamp("ms", tz="UTC"))
    arrays = {"kind": kind, "rdb_type": rdb_type, "length": length, "max_element_bytes": max_elem,
              "flags": _fixed(cols, "flags", pa.uint8(), n), "key": key, "key_bytes": key_bytes,
              "type": type_col, "expire_at": expire, "hash_fields_with_ttl": hfe, **streams, **expired}
    if cols.get("conv_at_0") is not None and cols.get("conv_at") is None:
        cols = {**cols, "conv_at": cols["conv_at_0"]}     # the loader's own value limit comes first
    if not compiled_model:
        if cols.get("conv_at") is not None:
            arrays["conv_at"] = _fixed(cols, "conv_at", pa.int64(), n)
        arrays.update({name: _fixed(cols, name, pa.int64(), n) for name in
                       ("nodes", "blob_bytes", "element_bytes", "mem_elements", "mem_values", "mem_blobs",
                        "lp_bytes", "lp_bytes_70", "zl_bytes", "intset_bytes")})
    encoding_col, memory = model.derive(n, cols, arrays, profile, compiled=compiled_model)

    columns = [
        _fixed(cols, "db", pa.uint16(), n),
        key,
        key_bytes,
        type_col,
        encoding_col,
        rdb_type,
        length,
        max_elem,
        _fixed(cols, "serialized_bytes", pa.int64(), n),
        memory,
        expire,
        _nullable(cols, "idle", "idle_valid", pa.int64(), n),
        _nullable(cols, "freq", "freq_valid", pa.uint8(), n),
        _fixed(cols, "slot", pa.uint16(), n),
        _fixed(cols, "offset", pa.int64(), n),
        streams["stream_groups"],
        streams["stream_consumers"],
        streams["stream_pending"],
        hfe,
        _value_format(arrays["flags"]),
        expired["hash_fields_expired"],
        expired["hash_expired_bytes"],
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


INTERNAL_FIXED = [("_kind", pa.uint8()), ("_flags", pa.uint8()), ("_key_len", pa.int32()),
                  ("_nodes", pa.int64()), ("_blob_bytes", pa.int64()), ("_element_bytes", pa.int64()),
                  ("_lp_bytes", pa.int64()), ("_lp_bytes_70", pa.int64()), ("_zl_bytes", pa.int64()),
                  ("_intset_bytes", pa.int64())]
SLOT_SUMS = ("mem_elements", "mem_values", "mem_blobs")


def internal_schema(slots, conv=0):
    """The model's inputs a what-if scan keeps per key (``_``-prefixed), with ``slots`` sizing slots
    and ``conv`` columns of conversion points (``_conv_at_N``: the limits are in the scan's metadata)."""
    fields = [pa.field(name, typ, nullable=False) for name, typ in INTERNAL_FIXED]
    for i in range(slots):
        fields += [pa.field(f"_{name}_{i}", pa.int64(), nullable=False) for name in SLOT_SUMS]
    fields += [pa.field(f"_conv_at_{i}", pa.int64(), nullable=False) for i in range(conv)]
    return pa.schema(fields)


def internal_columns(batch, n, cols, scanner_slots):
    """The internal columns of one batch (see :func:`internal_schema`).

    ``scanner_slots[i]`` is the scanner slot holding requested slot ``i``'s
    sums: 0 for the scan's own columns, ``j`` for ``mem_elements_j`` ...
    """
    key_len = pc.coalesce(pc.binary_length(batch.column("key_bytes")), pc.binary_length(batch.column("key")))
    out = [_fixed(cols, "kind", pa.uint8(), n), _fixed(cols, "flags", pa.uint8(), n),
           pc.cast(key_len, pa.int32())]
    out += [_fixed(cols, name, pa.int64(), n) for name in
            ("nodes", "blob_bytes", "element_bytes", "lp_bytes", "lp_bytes_70", "zl_bytes", "intset_bytes")]
    for j in scanner_slots:
        out += [_fixed(cols, name if j == 0 else f"{name}_{j}", pa.int64(), n) for name in SLOT_SUMS]
    i = 0
    while cols.get(f"conv_at_{i}") is not None:
        out.append(_fixed(cols, f"conv_at_{i}", pa.int64(), n))
        i += 1
    return out


def model_inputs(table, slot, conv=None):
    """The raw buffers :func:`rdbscan.model.derive` takes, rebuilt from a what-if scan's columns.

    ``table`` holds the public columns the model reads and the internal
    ones of :func:`internal_schema`; ``slot`` picks the sizing slot,
    ``conv`` the column of conversion points (for the hash value limit in force).
    Returns ``(n, cols, arrays)``.
    """
    n = table.num_rows

    def data(name, typ=None, fill=None):
        arr = table.column(name).combine_chunks() if isinstance(table, pa.Table) else table.column(name)
        if fill is not None and arr.null_count:
            arr = pc.fill_null(arr, fill)
        if typ is not None and arr.type != typ:
            arr = pc.cast(arr, typ)
        arr = pa.concat_arrays([arr]) if arr.offset else arr
        return arr

    def buf(arr):
        width = arr.type.bit_width // 8
        return arr.buffers()[1].to_pybytes()[arr.offset * width:(arr.offset + len(arr)) * width]

    key_len = data("_key_len", pa.int64())
    expire = table.column("expire_at")
    expire = expire.combine_chunks() if isinstance(table, pa.Table) else expire
    has_ttl = pc.is_valid(expire)
    offsets = pc.cast(pc.cumulative_sum(key_len), pa.int32()) if n else pa.array([], pa.int32())
    cols = {"kind": buf(data("_kind")), "rdb_type": buf(data("rdb_type")), "flags": buf(data("_flags")),
            "length": buf(data("length", pa.int64(), 0)), "max_element_bytes": buf(data("max_element_bytes")),
            "key_offsets": b"\0\0\0\0" + buf(offsets), "key_raw_valid": False,
            "expire_valid": False if n and expire.null_count == n else
            (None if expire.null_count == 0 else has_ttl.buffers()[1].to_pybytes()[:(n + 7) // 8]),
            "key_raw_offsets": None, "key_raw_data": None}
    arrays = {"kind": data("_kind"), "rdb_type": data("rdb_type"), "length": data("length"),
              "max_element_bytes": data("max_element_bytes"), "flags": data("_flags"),
              "type": data("type"), "key_len": key_len, "expire_at": expire}
    for name in ("nodes", "blob_bytes", "element_bytes", "lp_bytes", "lp_bytes_70", "zl_bytes", "intset_bytes"):
        arrays[name] = data("_" + name)
        cols[name] = buf(arrays[name])
    for name in SLOT_SUMS:
        arrays[name] = data(f"_{name}_{slot}")
        cols[name] = buf(arrays[name])
    if conv is not None:
        arrays["conv_at"] = data(conv)
        cols["conv_at"] = buf(arrays["conv_at"])
    streams = any(table.column(name).null_count < n for name in
                  ("stream_groups", "stream_consumers", "stream_pending")) if n else False
    for name in ("stream_groups", "stream_consumers", "stream_pending"):
        arrays[name] = data(name)
        cols[name] = buf(data(name, pa.int64(), 0)) if streams else None
    for name in ("hash_fields_with_ttl", "hash_fields_expired"):      # Valkey layouts read them
        arrays[name] = data(name, pa.int64())
        cols[name] = buf(data(name, pa.int64(), 0)) if n and arrays[name].null_count < n else None
    return n, cols, arrays


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
        """AND one more condition into the mask."""
        nonlocal mask
        mask = m if mask is None else pc.and_(mask, m)

    if db:
        add(pc.is_in(batch.column("db"), value_set=pa.array(sorted(db), pa.uint16())))
    if types:
        add(pc.is_in(pc.cast(batch.column("type"), pa.string()), value_set=pa.array(sorted(types), pa.string())))
    if match is not None:
        add(pc.match_substring_regex(batch.column("key"), redis_glob_to_regex(match)))
    if min_bytes is not None:
        size = pc.coalesce(batch.column("memory_bytes"), batch.column("serialized_bytes"))
        add(pc.greater_equal(size, min_bytes))
    if mask is None:
        return batch
    return batch.filter(mask)
