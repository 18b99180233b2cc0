"""The server-side view of each key: ``encoding`` and ``memory_bytes`` for a batch.

Two implementations of the same rules: the vectorised pyarrow reference
(:mod:`rdbscan.model.encoding`, :mod:`rdbscan.model.memory`) and a compiled loop
(``rdbscan.model._model``), used when built.  The tests hold them to the same
answers on every fixture.
"""

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan.model import encoding as enc
from rdbscan.model import memory as mem
from rdbscan.model.alloc import jemalloc_size

try:
    from rdbscan.model import _model
except ImportError:   # the pure-Python build: the pyarrow reference does the work
    _model = None
else:
    assert all(enc.ENCODINGS[code] == name for name, code in _model.ENCODING_CODES.items())


def model_params(profile):
    """The flat parameter tuple the compiled model takes, from a server profile."""
    v = profile.redis_compat()
    t = profile.thresholds
    lay = mem.layout_for(profile)
    vl = lay.valkey
    return (
        v >= (3, 0), 44 if v >= (3, 2) else 39, v >= (7, 0), v < (3, 2), v >= (7, 2), v >= (7, 2),
        v >= (6, 0), profile.flavor == "valkey" and profile.version >= (9, 0), profile.flavor == "valkey",
        t.hash_max_entries, t.hash_max_value, t.zset_max_entries, t.zset_max_value,
        t.set_max_intset_entries, t.set_max_listpack_entries, t.set_max_listpack_value,
        t.list_max_ziplist_entries, t.list_max_ziplist_value, t.list_max_listpack_bytes,
        lay.zmalloc_strings, lay.zmalloc_embstr, lay.zmalloc_blobs, lay.embedded_key, lay.quantum16,
        lay.dict_struct, lay.quicklist_struct, lay.quicklist_node,
        jemalloc_size(lay.listpack_ex_struct, lay.quantum16) if lay.listpack_ex_struct else 0,
        lay.key_entry_extra, lay.argv_key, lay.bare_skiplist, lay.set_entries_on_collision,
        lay.zmalloc_stream_lp, lay.hfe_dict_grows, lay.hash_dict_grows,
        lay.stream_struct, lay.stream_cg, lay.stream_consumer,
        jemalloc_size(24 + 16 * lay.skiplist_max_level, lay.quantum16),
        mem.skiplist_node_expected(lay.quantum16),
        profile.flavor == "redis" and v >= (8, 2), profile.flavor == "redis", lay.alloc_tracked,
        enc.embstr_ttl_bytes(profile), lay.stream_nack,
        # Valkey 8.1+ (rdbscan.model.valkey)
        vl is not None, vl.hashtable_struct if vl else 0, vl.hash_metadata if vl else 0,
        vl.volatile_set if vl else False, vl.embstr_limit if vl else 0, vl.embstr_robj if vl else 0,
        vl.embstr_min_value if vl else 0,
        vl.embstr_max_len if vl else 0, vl.key_estimate if vl else False, vl.skiplist_embeds if vl else False,
        v >= (7, 2),
    )


def derive(n, cols, arrays, profile, compiled=True):
    """``(encoding, memory_bytes)`` arrays for one batch.

    ``cols`` are the scanner's raw buffers, ``arrays`` the Arrow columns
    already built from them (kind, rdb_type, length, key, key_bytes, type,
    stream counts and the scanner's private sums).
    """
    if compiled and _model is not None:
        codes, memory = _model.derive(n, cols, model_params(profile))
        encoding = pa.DictionaryArray.from_arrays(
            pa.Array.from_buffers(pa.int8(), n, [None, pa.py_buffer(codes)]), enc.DICTIONARY)
        values = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(memory)])
        if n and pc.min(values).as_py() < 0:      # -1 marks module values: no estimate
            values = pc.if_else(pc.equal(values, -1), pa.scalar(None, pa.int64()), values)
        return encoding, values
    encoding = enc.encoding_column(profile, arrays["kind"], arrays["rdb_type"], arrays["length"],
                                   arrays["max_element_bytes"], arrays["flags"], arrays["nodes"],
                                   arrays["blob_bytes"], arrays["element_bytes"], mem.key_lengths(arrays),
                                   mem.ttl_flags(arrays))
    memory = mem.memory_column(profile, {**arrays, "encoding": encoding}, arrays)
    return encoding, memory
