"""What ``MEMORY USAGE key SAMPLES 0`` answers once the writing server has loaded the dump.

The model follows the server's own ``objectComputeSize`` and
``memoryCommand`` (Redis ``object.c``), release by release:

- jemalloc size classes (8-byte quantum) wherever the server asks the
  allocator (``zmalloc_size`` / ``sdsZmallocSize``), exact header + length
  where it does not (``sdsAllocSize``, ``ziplistBlobLen`` before 6.0/7.0);
- sds headers of 1/3/5/9 bytes by length (type 5 only for 1..31 bytes);
- per key: the key's sds plus a 24-byte dictEntry (Valkey 8.0: one embedded
  entry holding both; Redis 8.2: the key embedded in the value's robj, the
  "kvobj", counted with it and no dictEntry; Valkey 8.1: the key embedded in
  the robj but not counted at all);
- listpack/ziplist/intset blobs at their uncompressed length, quicklist
  nodes as stored, hashtables with power-of-two bucket arrays sized to the
  element count (how the loader creates them), skiplist nodes at their
  expected size (level p = 1/4, the average Redis' random levels give);
- Valkey 8.1+ (:mod:`rdbscan.model.valkey`): the key and expiry embedded in
  the robj and counted with it; the ``hashtable`` (sets, hashes, sorted
  sets) of 64-byte buckets of 7 slots, as many as the loader pre-sizes for
  the element count, plus the child buckets that full buckets chain (their
  expected number); hash entries; streams' real radix-tree allocations;
- Redis 8.4 and later: ``kvobjAllocSize``, the sizes each object tracks of
  its own allocations (``_memory_column_tracked``; 8.4, 8.6 and 8.8+ count
  the kvobj itself differently, see ``TRACKED_*``).

The scanner supplies, per key, the sized sums that need every element
(``mem_elements``, ``mem_values``, ``mem_blobs``) using the tables from
:func:`sizing_tables`; everything else is vectorised here.
"""

from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan.model import valkey as valkey_model
from rdbscan.model.alloc import ALLOCATORS, LIBC, LIBC_MMAP_THRESHOLD, jemalloc_size
from rdbscan.scanner.format import (KIND_ARRAY, KIND_HASH, KIND_SET, KIND_ZSET, STREAM_ALLOC, STREAM_ALLOC_PEL_TIME,
                                    TYPE_HASH, TYPE_HASH_METADATA, TYPE_HASH_METADATA_PRE_GA, TYPE_SET, TYPE_ZSET,
                                    TYPE_ZSET_2)

SIZING_LUT = 4096    # element lengths covered by the scanner's sizing tables


def sds_header(n, empty_type8=True):
    """sds header bytes for a string of ``n`` bytes (Redis 3.2+ sds types)."""
    if n == 0 and empty_type8:
        return 3
    if n < 32:
        return 1
    if n < 256:
        return 3
    if n < 65536:
        return 5
    return 9 if n < 2**32 else 17


def _J(arr, quantum16=False):
    """Vectorised :func:`jemalloc_size` over an int64 array (``quantum16`` is an allocator code)."""
    if quantum16 == LIBC:
        chunk = pc.max_element_wise(pc.bit_wise_and(pc.add(arr, 8 + 15), ~15), 32)
        mapped = pc.subtract(pc.bit_wise_and(pc.add(chunk, 8 + 4095), ~4095), 16)
        return pc.if_else(pc.greater_equal(chunk, LIBC_MMAP_THRESHOLD), mapped, pc.subtract(chunk, 8))
    n = pc.max_element_wise(arr, 1)
    q, limit = (16, 128) if quantum16 else (8, 64)
    small = pc.multiply(pc.divide(pc.add(n, q - 1), q), q)
    lg = pc.cast(pc.floor(pc.log2(pc.cast(pc.subtract(pc.max_element_wise(n, 2), 1), pa.float64()))), pa.int64())
    delta = pc.shift_left(1, pc.subtract(pc.max_element_wise(lg, 2), 2))
    big = pc.multiply(pc.divide(pc.subtract(pc.add(n, delta), 1), delta), delta)
    return pc.if_else(pc.less_equal(n, 8), 8, pc.if_else(pc.less_equal(n, limit), small, big))


def _sds_hdr(length):
    """Vectorised :func:`sds_header` (type 5 for 1..31 bytes, type 8 when empty)."""
    return pc.case_when(
        pc.make_struct(pc.equal(length, 0), pc.less(length, 32), pc.less(length, 256),
                       pc.less(length, 65536), field_names=["a", "b", "c", "d"]),
        3, 1, 3, 5, 9)


def _buckets(n):
    """Bucket count of a dict the loader expanded to ``n`` entries: next power of two, at least 4."""
    n = pc.max_element_wise(n, 4)
    lg = pc.cast(pc.ceil(pc.log2(pc.cast(n, pa.float64()))), pa.int64())
    return pc.shift_left(1, lg)


def ht_bucket_exp(n):
    """Valkey 8.1 ``nextBucketExp``: buckets for ``n`` entries at most 32/5 per bucket (91 % fill)."""
    if n <= 0:
        return -1
    min_buckets = (n * 5 - 1) // 32 + 1
    return 0 if min_buckets == 1 else (min_buckets - 1).bit_length()


def _ht_buckets(n):
    """Top-level plus expected child buckets of a Valkey 8.1 hashtable pre-sized for ``n`` entries.

    The loader expands the table for the element count before inserting
    (``hashtableTryExpand``); with a uniform hash a bucket gets
    Binomial(n, 1/B) entries, and a chain holding ``x > 7`` of them needs
    ``ceil((x - 7) / 6)`` children (a full bucket gives up its last slot to
    the child pointer).  The expected count is summed term by term in the
    same order as the compiled model, so both round alike.
    """
    nf = pc.cast(pc.max_element_wise(n, 0), pa.float64())
    min_buckets = pc.add(pc.divide(pc.subtract(pc.multiply(pc.max_element_wise(n, 1), 5), 1), 32), 1)
    exp = pc.cast(pc.ceil(pc.log2(pc.cast(min_buckets, pa.float64()))), pa.int64())
    top = pc.if_else(pc.less_equal(n, 0), 0, pc.shift_left(1, exp))
    bf = pc.cast(pc.max_element_wise(top, 2), pa.float64())
    q = pc.divide(1.0, bf)
    ratio = pc.divide(q, pc.subtract(1.0, q))
    pm = pc.power(pc.subtract(1.0, q), nf)          # P(X = 0)
    acc = pc.multiply(pm, 0.0)
    for x in range(CHILD_TERMS):
        # P(X = x + 1) from P(X = x); x + 1 entries need ceil((x + 1 - 7) / 6) children
        pm = pc.multiply(pc.divide(pc.multiply(pm, pc.subtract(nf, float(x))), float(x + 1)), ratio)
        pm = pc.max_element_wise(pm, 0.0)
        if x + 1 > HT_SLOTS:
            acc = pc.add(acc, pc.multiply(pm, float((x + 1 - HT_SLOTS + 5) // 6)))
    child = pc.cast(pc.round(pc.multiply(bf, acc)), pa.int64())
    return pc.add(top, pc.if_else(pc.less_equal(top, 1), 0, child))


def _dict_next(size):
    """_dictNextExp: the bucket count a dict expanded for ``size`` entries gets (a power of two, at least 4)."""
    b = 4
    while b < size:
        b <<= 1
    return b


def dict_slots_after(k, n, is_set, presized=True):
    """Buckets (both tables while rehashing) of a dict the loader converted to after ``k`` elements.

    A hash read from a hashtable-typed record starts as a listpack; at the
    first pair longer than the value limit (index ``k``) it becomes a dict
    expanded for the ``k`` pairs so far, takes that pair, is expanded for
    the ``n - k - 1`` still to come, and grows as they are inserted.  A set
    (before 7.2) leaves its intset at its first non-integer member: a dict
    for ``k`` members, expanded for all ``n``.  An expansion rehashes
    incrementally, one bucket per insert: the old table's expected
    occupied buckets (its ``used`` entries spread over ``size`` buckets)
    is how many inserts it takes.  Before 7.0 (not ``presized``) the hash's
    dict starts empty and grows through the ``k`` pairs as well.
    """
    size, used, old, steps = _dict_next(k), k, 0, 0
    if not presized and not is_set:
        size, used = 4, 0

    def expand(target):
        nonlocal size, old, steps
        if old or used > target:
            return
        new = _dict_next(target)
        if new == size:
            return
        m = float(size)
        old, steps, size = size, max(1, int(round(m * (1.0 - (1.0 - 1.0 / m) ** used)))), new

    def add(count):
        nonlocal used, old, steps
        while count > 0:
            if old:
                t = min(count, steps)
                used += t
                count -= t
                steps -= t
                if steps <= 0:
                    old = 0
            elif used >= size:
                expand(used + 1)
                used += 1
                count -= 1
            else:
                t = min(count, size - used)
                used += t
                count -= t

    if is_set:
        expand(n)
        add(n - k)
    else:
        add(k - used)
        add(1)
        if n - k - 1 > 4:
            expand(n - k - 1)
        add(n - k - 1)
    return size + old


@dataclass(frozen=True)
class Layout:
    """The sizes and accounting rules of one family of server releases."""
    zmalloc_strings: bool      # raw strings / keys / elements measured with zmalloc_size (6.0+)
    zmalloc_embstr: bool       # embstr measured with zmalloc_size (7.0+)
    zmalloc_blobs: bool        # listpack/ziplist/intset/quicklist nodes with zmalloc_size (7.0+)
    embedded_key: int          # where the key lives: one of the KEY_* constants below
    dict_struct: int           # sizeof(dict)
    quicklist_struct: int
    quicklist_node: int
    listpack_ex_struct: int    # sizeof(listpackEx), 7.4+: ExpireMeta, key, listpack pointer
    hfield_header_extra: int   # 7.4 hash fields are mstr: bytes beyond an sds header
    hfield_ttl_extra: int      # and with TTL metadata attached
    quantum16: int = 0         # allocator code (rdbscan.model.alloc): 1 = jemalloc with a 16-byte
                               # quantum (distribution builds), 2 = glibc malloc
    key_entry_extra: int = 0   # bytes of dictEntry metadata per key (7.0-7.2 cluster mode)
    argv_key: bool = False     # 4.0 measures the key as the command argument, not the stored key
    bare_skiplist: bool = False    # 4.0 counts neither the zskiplist, its header node nor the dict struct
    set_entries_on_collision: bool = False  # Valkey 8: set members own no entry unless they collide
    skiplist_max_level: int = 32   # ZSKIPLIST_MAXLEVEL: the header node's levels (64 in 5.x)
    hfe_dict_grows: bool = False   # 7.4 builds field-TTL hashtables by inserts, no pre-sizing
    hash_dict_grows: bool = False  # so does 4.0 for every hashtable-encoded hash
    stream_struct: int = 80        # sizeof(stream)
    stream_cg: int = 40            # sizeof(streamCG)
    stream_consumer: int = 32      # sizeof(streamConsumer)
    zmalloc_stream_lp: bool = True  # listpacks of streams measured with zmalloc_size (6.2+)
    alloc_tracked: int = 0         # Redis 8.4+: a TRACKED_* code (MEMORY USAGE from tracked sizes)
    stream_nack: int = 0           # sizeof(streamNACK) where tracked (8.4: 32, 8.6: 64)
    valkey: valkey_model.ValkeyLayout = None  # Valkey 8.1+: the rest of the layout (rdbscan.model.valkey)


HFIELD_TTL_EXTRA = 18   # 7.4 hash field with a TTL: mstr flags (2) + ExpireMeta (16)

# Where the key lives (Layout.embedded_key; the compiled model gets the same code).
KEY_SDS = 0       # its own sds plus a dictEntry (up to Redis 7.4 / Valkey 7.2)
KEY_IN_ENTRY = 1  # Valkey 8.0: embedded in the dictEntry (objectComputeSize + dictEntryMemUsage)
KEY_IN_KVOBJ = 2  # Redis 8.2: embedded in the value's robj, "kvobj" (kvobjComputeSize counts
                  # zmalloc_size(kv)); no dictEntry counted
KEY_IN_ROBJ = 3   # Valkey 8.1+: embedded in the robj with its expiry, counted with it
                  # (zmalloc_size(o)); the rest of the layout is Layout.valkey

ROBJ = 16                # sizeof(robj)
HT_BUCKET = 64           # Valkey 8.1+ bucket: one cache line
HT_SLOTS = 7             # entries per bucket (the last one becomes the child pointer when full)
CHILD_TERMS = 64         # binomial terms summed for the expected child buckets
ZSET_NOVALUE_ENTRY = 16  # Redis 8.2 zset element dict entry: dictEntryMemUsage(1) (key, next)
EMBED_STRING_LIMIT = 64  # Redis 8.2 kvobjSet: key and value share one allocation up to this many bytes
EXPIRE_KEY_THRESHOLD = 128  # KEY_SIZE_TO_INCLUDE_EXPIRE_THRESHOLD: longer keys reserve an expire field
HASH_EMBED_LIMIT = 128   # Redis 8.6 (and Valkey 8.1+) EMBED_VALUE_MAX_ALLOC_SIZE: field and value in one allocation
PAIR_FIELDS = 128        # the pair table covers fields shorter than this (others: no embedding)

# From Redis 8.4 MEMORY USAGE is kvobjAllocSize: the kvobj plus the sizes
# each type tracks of its own allocations (Layout.alloc_tracked).  The three
# ways the kvobj itself is counted:
TRACKED_84 = 1    # 8.4: robj, expiry slot, key header byte and key sds summed
                  # (the expiry slot also when the allocation had room for it)
TRACKED_86 = 2    # 8.6: zmalloc_size of the allocation (metadata slots first)
TRACKED_88 = 3    # 8.8+ (redis/redis#14704): summed again, metadata slots and all

# Redis 8.4/8.6 struct sizes, from their headers
QUICKLIST_86 = 48        # sizeof(quicklist): alloc_size added (8.4 too)
LISTPACK_EX_86 = 24      # sizeof(listpackEx): ExpireMeta and the listpack pointer
STREAM_86 = 160          # sizeof(stream): alloc_size, cgroups_ref, IDMP fields added
KVOBJ_META = 8           # one metadata slot before the kvobj (the expiry, or a module's)
ZSKIPLIST_86 = 40        # sizeof(zskiplist): alloc_size added
ZSKIPLIST_HEADER_86 = 16 + 16 * 32  # the header node: score, backward, 32 levels
ENTRY_EXPIRE = 16        # sizeof(ExpireMeta) before a hash field entry with a TTL
ENTRY_VALUE_PTR = 8      # an entry whose value is not embedded points to it
STREAM_NACK_86 = 64      # sizeof(streamNACK): delivery time/count, consumer, index node, id, time list
STREAM_84 = 120          # 8.4 sizeof(stream): alloc_size and cgroups_ref, no IDMP fields
STREAM_CG_84 = 48        # 8.4 sizeof(streamCG): a pel_by_time tree where 8.6 has a time list
STREAM_NACK_84 = 32      # 8.4 sizeof(streamNACK): delivery time/count, consumer, index node
ZSKIPLIST_HEADER_84 = 24 + 16 * 32  # 8.4 header node: the member pointer too
MSTR_TTL_EXTRA = 18      # 8.4 hash field with a TTL: mstr flags (2) + ExpireMeta (16)


def layout_for(profile):
    """The :class:`Layout` of the release a :class:`~rdbscan.model.encoding.ServerProfile` names."""
    v = profile.version
    q16 = ALLOCATORS.get(profile.allocator, 0)
    old_stream = dict(stream_struct=40, stream_cg=32, stream_consumer=24)
    if profile.flavor == "valkey":
        if v >= (8, 1):
            vl = valkey_model.valkey_layout(v)
            return Layout(True, True, True, KEY_IN_ROBJ, vl.hashtable_struct, valkey_model.QUICKLIST_STRUCT,
                          valkey_model.QUICKLIST_NODE, 0, 0, 0, q16, valkey=vl)
        return Layout(True, True, True, KEY_IN_ENTRY if v >= (8, 0) else KEY_SDS, 56, 40, 40, 0, 0, 0, q16,
                      key_entry_extra=16 if profile.cluster and v < (8, 0) else 0,
                      set_entries_on_collision=v >= (8, 0))
    if v >= (8, 4):
        return _layout_tracked(v, q16)
    if v >= (8, 2):
        # The kvobj (redis/redis#13806), before per-key allocation tracking;
        # Redis 8.0 still has 7.4's keys (checked against a real 8.0.2).
        return Layout(True, True, True, KEY_IN_KVOBJ, 56, 40, 40, 32, 0, HFIELD_TTL_EXTRA, q16, hfe_dict_grows=True)
    if v >= (7, 4):
        return Layout(True, True, True, KEY_SDS, 56, 40, 40, 32, 0, HFIELD_TTL_EXTRA, q16, hfe_dict_grows=True)
    if v >= (7, 0):
        return Layout(True, True, True, KEY_SDS, 56, 40, 40, 0, 0, 0, q16,
                      key_entry_extra=16 if profile.cluster else 0,
                      stream_consumer=32 if v >= (7, 2) else 24)
    if v < (6, 2):
        old_stream["stream_struct"] = 0    # 5.0 and 6.0 leave the stream struct out
    if v >= (6, 0):
        return Layout(True, False, False, KEY_SDS, 96, 40, 32, 0, 0, 0, q16,
                      zmalloc_stream_lp=v >= (6, 2), **old_stream)
    if v >= (5, 0):
        return Layout(False, False, False, KEY_SDS, 96, 40, 32, 0, 0, 0, q16,
                      zmalloc_stream_lp=False, skiplist_max_level=64, **old_stream)
    return Layout(False, False, False, KEY_SDS, 96, 40, 32, 0, 0, 0, q16, argv_key=True, bare_skiplist=True,
                  hash_dict_grows=True, zmalloc_stream_lp=False, **old_stream)


def _layout_tracked(v, q16):
    """Redis 8.4 and later: MEMORY USAGE from the sizes objects track (kvobjAllocSize)."""
    if v >= (8, 6):
        return Layout(True, True, True, KEY_IN_KVOBJ, 56, QUICKLIST_86, 40, LISTPACK_EX_86, 0, 0, q16,
                      hfe_dict_grows=True, stream_struct=STREAM_86, stream_cg=56, stream_consumer=32,
                      alloc_tracked=TRACKED_88 if v >= (8, 8) else TRACKED_86, stream_nack=STREAM_NACK_86)
    return Layout(True, True, True, KEY_IN_KVOBJ, 56, QUICKLIST_86, 40, LISTPACK_EX_86, 0, 0, q16,
                  hfe_dict_grows=True, stream_struct=STREAM_84, stream_cg=STREAM_CG_84, stream_consumer=32,
                  alloc_tracked=TRACKED_84, stream_nack=STREAM_NACK_84)


def sizing_tables(profile):
    """Tables for the scanner's ``set_sizing``: bytes per hashtable element by length.

    Five roles: hash fields, hash values, hash fields carrying a TTL (Redis
    7.4 metadata), set members and sorted-set members (the same as fields
    until Redis 8.6 sized each differently); a sixth table when hash
    fields and values pair up.  Returns ``(tables, big_headers, rounded,
    allocator code, stream_alloc, big_extra, vset_table, listpacks,
    ziplists)``, the scanner's ``set_sizing`` arguments: ``vset_table``
    (Valkey 9.0+) has the scanner price volatile sets past one vector
    (:mod:`rdbscan.model.valkey`); ``listpacks`` when the release converts ziplists to listpacks on load
    (7.0+), ``ziplists`` when it holds ziplists (before 7.0: a listpack in
    the file is sized as one).  :func:`slot_sizing` is the part a what-if
    sizing slot takes.
    """
    lay = layout_for(profile)
    listpack_era = profile.redis_compat() >= (7, 0)
    vset_table = lay.valkey.hashtable_struct if lay.valkey is not None and lay.valkey.volatile_set else 0
    return _sizing_tables(lay) + (vset_table, listpack_era, not listpack_era)


def slot_sizing(profile):
    """The scanner's ``set_slots`` tuple for one what-if release or allocator:
    ``(tables, big_headers, rounded, allocator code, stream_alloc, big_extra,
    vset_table, listpacks)`` (see :func:`sizing_tables`)."""
    sizing = sizing_tables(profile)
    return sizing[:8]


@lru_cache(maxsize=8)
def _sizing_tables(lay):
    if lay.valkey is not None:
        return valkey_model.sizing_tables(lay.valkey, SIZING_LUT, lay.quantum16)
    if lay.alloc_tracked == TRACKED_84:
        return _sizing_tables_84(lay.quantum16)
    if lay.alloc_tracked:
        return _sizing_tables_86(lay.quantum16)
    def element(n, extra=0):
        """Bytes of one element's own allocation (header, string, terminator)."""
        size = sds_header(n) + extra + n + 1
        return jemalloc_size(size, lay.quantum16) if lay.zmalloc_strings else size
    plain = [element(n) for n in range(SIZING_LUT)]
    field = [element(n, lay.hfield_header_extra) for n in range(SIZING_LUT)] \
        if lay.hfield_header_extra else plain
    field_ttl = [element(n, lay.hfield_ttl_extra) for n in range(SIZING_LUT)]
    # Beyond the tables (4 KiB .. 64 KiB): a 5-byte header and the terminator.
    big = (6 + lay.hfield_header_extra, 6, 6 + lay.hfield_ttl_extra, 6, 6)
    tables = (field if lay.hfield_header_extra else plain, plain, field_ttl, plain, plain)
    return tables, big, lay.zmalloc_strings, lay.quantum16, False, None


@lru_cache(maxsize=4)
def skiplist_node_expected(quantum16=False):
    """E[J(24 + 16 * level)]: levels >= 1 with P(level = k) = (3/4)(1/4)^(k-1), capped at 32."""
    total = 0.0
    for level in range(1, 33):
        prob = 0.75 * 0.25 ** (level - 1) if level < 32 else 0.25 ** 31
        total += prob * jemalloc_size(24 + 16 * level, quantum16)
    return total


def _converted_buckets(profile, batch, n, conv, buckets):
    """Buckets of hashes and sets the loader converted to a dict part-way (see :func:`dict_slots_after`)."""
    t = profile.thresholds
    rdb_type = pc.cast(batch["rdb_type"], pa.int64())
    hashes = pc.and_(pc.equal(rdb_type, 4), pc.less_equal(n, t.hash_max_entries))
    sets = pc.and_(pc.equal(rdb_type, 2), pc.less_equal(n, t.set_max_intset_entries))
    if profile.redis_compat() >= (7, 2):
        sets = pc.and_(sets, pa.scalar(False))      # 7.2+ expands for every member at once
    which = pc.and_(pc.greater_equal(conv, 0), pc.or_(hashes, sets))
    if not pc.any(which).as_py():
        return buckets
    rows = pc.indices_nonzero(which).to_pylist()
    ks, ns, is_set = conv.to_pylist(), n.to_pylist(), rdb_type.to_pylist()
    values = buckets.to_pylist()
    presized = profile.redis_compat() >= (7, 0)
    for i in rows:
        values[i] = dict_slots_after(ks[i], ns[i], is_set[i] == 2, presized)
    return pa.array(values, pa.int64())


def key_lengths(batch):
    """Bytes of each key: the scan's key columns, or ``key_len`` when rebuilt from a what-if scan."""
    if "key_len" in batch:
        return pc.cast(batch["key_len"], pa.int64())
    return pc.cast(pc.coalesce(pc.binary_length(batch["key_bytes"]), pc.binary_length(batch["key"])), pa.int64())


def ttl_flags(batch):
    """Whether each key has an expiry (a valid ``expire_at``)."""
    return pc.is_valid(batch["expire_at"])


# Record types whose elements the file holds one by one (Valkey's 22, hash_2, too).
ELEMENT_TYPES = (TYPE_SET, TYPE_ZSET, TYPE_HASH, TYPE_ZSET_2, TYPE_HASH_METADATA_PRE_GA, TYPE_HASH_METADATA)


def _built_blobs(batch, extra, encoding, listpack_70=False):
    """``(built, made)``: which hashes, sets and sorted sets the loader builds from
    elements the file holds one by one, and the exact bytes of what it builds
    (an intset, a ziplist before 7.0, else a listpack; ``listpack_70``: a
    sorted set's scores as 7.0 writes their text)."""
    kind = pc.cast(batch["kind"], pa.int16())
    built = pc.and_(pc.is_in(pc.cast(batch["rdb_type"], pa.int16()), value_set=pa.array(ELEMENT_TYPES, pa.int16())),
                    pc.is_in(kind, value_set=pa.array([KIND_SET, KIND_ZSET, KIND_HASH], pa.int16())))
    lp = extra["lp_bytes"]
    if listpack_70:
        lp = pc.if_else(pc.equal(kind, KIND_ZSET), extra["lp_bytes_70"], lp)
    made = pc.if_else(pc.equal(encoding, "intset"), extra["intset_bytes"],
                      pc.if_else(pc.equal(encoding, "ziplist"), extra["zl_bytes"], lp))
    return built, made


def memory_column(profile, batch, extra):
    """The ``memory_bytes`` column for one batch.

    ``batch`` holds the public columns (key, key_bytes, encoding, length...),
    ``extra`` the scanner's private sums (mem_elements, mem_values,
    mem_blobs, nodes, blob_bytes) as int64 arrays.
    """
    lay = layout_for(profile)
    # Module values, path hashes and the 8.8+ types (arrays, GCRA): no estimate.
    no_estimate = pc.greater_equal(pc.cast(batch["kind"], pa.int16()), KIND_ARRAY)
    if lay.valkey is not None:
        total = valkey_model.memory_column(lay.valkey, lay.quantum16, batch, extra,
                                           profile.thresholds.hash_max_entries)
        return pc.if_else(no_estimate, pa.scalar(None, pa.int64()), total)
    if lay.alloc_tracked:
        return _memory_column_tracked(profile, lay, batch, extra)
    q16 = lay.quantum16
    key_len = key_lengths(batch)
    key_hdr = _sds_hdr(key_len)
    if lay.argv_key:
        # The command argument: an embstr (sds type 8) up to 44 bytes.
        key_hdr = pc.if_else(pc.less_equal(key_len, 44), 3, key_hdr)
    key_sds = pc.add(pc.add(key_hdr, key_len), 1)
    if lay.embedded_key == KEY_IN_KVOBJ:
        # An embedded key takes sdsReqType's header: type 5 even when empty.
        key_sds = pc.add(pc.add(pc.if_else(pc.less(key_len, 32), 1, key_hdr), key_len), 1)
    if lay.embedded_key == KEY_IN_ENTRY:
        # Valkey 8.0: one allocation holds value pointer, next pointer, a
        # header-size byte and the key's sds.
        key_part = _J(pc.add(key_sds, 17), q16)
    elif lay.embedded_key == KEY_IN_KVOBJ:
        # Redis 8.2 kvobjCreate: robj, [expire field for long keys], a
        # header-size byte and the key's sds, one allocation counted in full
        # (kvobjComputeSize starts from zmalloc_size(kv)); the robj's 16 bytes
        # are in the value parts below, so the key adds the rest.
        kv = pc.add(pc.add(key_sds, ROBJ + 1),
                    pc.if_else(pc.greater_equal(key_len, EXPIRE_KEY_THRESHOLD), 8, 0))
        key_part = pc.subtract(_J(kv, q16), ROBJ)
    elif lay.zmalloc_strings:
        key_part = pc.add(_J(key_sds, q16), 24 + lay.key_entry_extra)
    else:
        key_part = pc.add(key_sds, 24 + lay.key_entry_extra)

    encoding = pc.cast(batch["encoding"], pa.string())
    n = pc.fill_null(batch["length"], 0)
    mem_el, mem_val, mem_blobs = extra["mem_elements"], extra["mem_values"], extra["mem_blobs"]
    nodes, blob_bytes = extra["nodes"], extra["blob_bytes"]
    robj = 16

    if lay.zmalloc_embstr:
        embstr = _J(pc.add(n, robj + 3 + 1), q16)
    else:
        embstr = pc.add(n, robj + 2)
    raw_sds = pc.add(pc.add(_sds_hdr(n), n), 1)
    raw = pc.add(_J(raw_sds, q16) if lay.zmalloc_strings else raw_sds, robj)
    if lay.embedded_key == KEY_IN_KVOBJ:
        # The loader re-creates an embstr value with the key: robj, key
        # (header-size byte + sds), value as sds type 8, one allocation when
        # the sum is within a cache line, else the value becomes a raw sds
        # (OBJECT ENCODING then says raw).  Redis 8.2 kvobjSet estimates the
        # key as len + 3 whatever its sds type.
        together = pc.add(pc.add(key_sds, robj + 1), pc.add(n, 4))
        decide = pc.add(pc.add(key_len, robj + 3), pc.add(n, 4))
        fits = pc.less_equal(decide, EMBED_STRING_LIMIT)
        # Redis counts the kvobj's key with key_part: take it back out when embedded.
        shared = pc.subtract(_J(together, q16), key_part)
        embstr = pc.if_else(fits, shared, pc.add(_J(raw_sds, q16), robj))
    # Before 7.0 blobs count by their length: ziplists, and a listpack in the
    # file would be one (zl_bytes); from 7.0 the allocator's classes, blob by
    # blob (the scanner's sized sum).
    blobs = mem_blobs if lay.zmalloc_blobs else extra["zl_bytes"]
    # Built by the loader from elements the file holds one by one.
    built, made = _built_blobs(batch, extra, encoding, listpack_70=profile.redis_compat() < (7, 2))
    blobs = pc.if_else(built, _J(made, q16) if lay.zmalloc_blobs else made, blobs)
    compact = pc.add(blobs, robj)
    quicklist = pc.add(pc.add(blobs, pc.multiply(nodes, lay.quicklist_node)), robj + lay.quicklist_struct)
    buckets = _buckets(n)
    if lay.hfe_dict_grows or lay.hash_dict_grows:
        # Grown by doubling while loading: the last doubling's incremental
        # rehash (one bucket per insert, skipping empty ones) is still under
        # way unless enough inserts followed it, and then both tables count.
        half = pc.divide(buckets, 2)
        rehashing = pc.and_(pc.greater(n, 4), pc.less(pc.multiply(pc.subtract(n, half), 16),
                                                       pc.multiply(half, 10)))
        grown = pc.if_else(rehashing, pc.add(buckets, half), buckets)
        if lay.hash_dict_grows:
            grows = pc.equal(pc.cast(batch["type"], pa.string()), "hash")
        else:
            grows = pc.is_in(batch["rdb_type"], value_set=pa.array([22, 24], pa.uint8()))
        buckets = pc.if_else(grows, grown, buckets)
    conv = extra.get("conv_at")
    if conv is not None and not lay.hash_dict_grows:
        buckets = _converted_buckets(profile, batch, n, conv, buckets)
    table = pc.add(pc.multiply(buckets, 8), robj + lay.dict_struct)
    entries = pc.multiply(n, 24)
    hashtable = pc.add(pc.add(pc.add(table, entries), mem_el), mem_val)
    # objectComputeSize adds the elements as (double)sum/samples*size to
    # the struct and buckets: the double can fall short by an ulp.
    nf = pc.cast(n, pa.float64())
    elements = pc.cast(pc.add(pc.add(entries, mem_el), mem_val), pa.float64())
    averaged = pc.add(pc.cast(table, pa.float64()), pc.multiply(pc.divide(elements, pc.max_element_wise(nf, 1.0)), nf))
    hashtable = pc.if_else(pc.greater(n, 0), pc.cast(pc.floor(averaged), pa.int64()), hashtable)
    if lay.set_entries_on_collision:
        # Valkey 8 stores a set member in its bucket unless the bucket is
        # taken; only the colliding ones get a 16-byte entry.  Expected
        # occupied buckets: m * (1 - (1 - 1/m)^n).
        m_f = pc.cast(buckets, pa.float64())
        occupied = pc.multiply(m_f, pc.subtract(1.0, pc.power(pc.subtract(1.0, pc.divide(1.0, m_f)),
                                                              pc.cast(n, pa.float64()))))
        colliding = pc.cast(pc.round(pc.subtract(pc.cast(n, pa.float64()), occupied)), pa.int64())
        set_table = pc.add(pc.add(table, pc.multiply(colliding, 16)), mem_el)
        hashtable = pc.if_else(pc.equal(pc.cast(batch["type"], pa.string()), "set"), set_table, hashtable)
    node = pc.cast(pc.round(pc.multiply(pc.cast(n, pa.float64()), skiplist_node_expected(q16))), pa.int64())
    if lay.embedded_key == KEY_IN_KVOBJ:
        entries = pc.multiply(n, ZSET_NOVALUE_ENTRY)    # the zset dict is a no-value dict in 8.2
    if lay.bare_skiplist:
        skiplist = pc.add(pc.add(pc.add(pc.multiply(buckets, 8), robj + 16), entries), pc.add(mem_el, node))
    else:
        skiplist = pc.add(pc.add(pc.add(table, entries), mem_el),
                          pc.add(node, 16 + 32 + jemalloc_size(24 + 16 * lay.skiplist_max_level, q16)))
    listpackex = pc.add(compact, jemalloc_size(lay.listpack_ex_struct, q16) if lay.listpack_ex_struct else 0)

    # Streams: the struct, radix trees as MEMORY USAGE counts them (16 bytes
    # per element, 244 per node; node counts estimated by the scanner), the
    # listpacks, groups with their NACKs, consumers with their names.
    groups = pc.fill_null(batch["stream_groups"], 0)
    consumers = pc.fill_null(batch["stream_consumers"], 0)
    pending = pc.fill_null(batch["stream_pending"], 0)
    rax_elements = pc.add(nodes, pc.multiply(pending, 2))
    stream = pc.add_checked(
        pc.add(pc.multiply(rax_elements, 16), pc.multiply(mem_el, 244)),
        pc.add(pc.add(mem_blobs if lay.zmalloc_stream_lp else blob_bytes, robj + lay.stream_struct),
               pc.add(pc.add(pc.multiply(groups, lay.stream_cg), pc.multiply(pending, 24)),
                      pc.add(pc.multiply(consumers, lay.stream_consumer), mem_val))))

    cases = [
        ("int", pa.array([robj] * len(n), pa.int64()) if len(n) else pa.array([], pa.int64())),
        ("embstr", embstr), ("raw", raw),
        ("listpack", compact), ("ziplist", compact), ("intset", compact),
        ("listpackex", listpackex), ("quicklist", quicklist),
        ("hashtable", hashtable), ("skiplist", skiplist),
        ("stream", stream), ("unknown", stream),
    ]
    conds = pc.make_struct(*[pc.equal(encoding, name) for name, _ in cases],
                           field_names=[name for name, _ in cases])
    value_part = pc.case_when(conds, *[arr for _, arr in cases])
    total = pc.cast(pc.add(key_part, value_part), pa.int64())
    return pc.if_else(no_estimate, pa.scalar(None, pa.int64()), total)


# ------------------------------------------------------------ Redis 8.4 and later
#
# From 8.4 MEMORY USAGE is kvobjAllocSize (object.c): the kvobj (robj,
# metadata slots, key header byte, key sds, an embedded value; how it is
# counted differs by release, see TRACKED_*) plus what each type tracks of
# its own allocations: listpacks and intsets at their exact length, type-5
# sds at header + length + 1, other sds at their allocation, dicts as
# sizeof(dict) + 24 per entry + 8 per bucket + the sizes their elements
# tracked, skiplist nodes (8.6: holding their member), streams every
# allocation their trees make.

def _sds_hdr5(n):
    """sds header bytes by sdsReqType: type 5 below 32 bytes, even when empty."""
    return 1 if n < 32 else 3 if n < 256 else 5 if n < 65536 else 9


def _sds_hdr8(n):
    """sds header bytes of at least type 8 (an entry field with aux bits)."""
    return 3 if n < 256 else 5 if n < 65536 else 9


def sds_alloc_86(n, quantum16=False):
    """``sdsAllocSize`` of a new sds of ``n`` bytes: exact for type 5, the allocation otherwise."""
    if 0 < n < 32:
        return n + 2
    return jemalloc_size(_sds_hdr8(n) + n + 1, quantum16)


def zset_nodes_expected_86(count, quantum16=False):
    """E[J(node)] of an 8.6 skiplist node embedding an ``n``-byte member, for n < ``count``.

    Levels p = 1/4, at most 32 (zslRandomLevel); vectorised over the
    member lengths (the scanner's table is built at every start).
    """
    n = pa.array(range(count), pa.int64())
    base = pc.add(pc.add(_sds_hdr5_col(n), n), 1)
    total = pa.array([0.0] * count, pa.float64())
    for level in range(1, 33):
        prob = 0.75 * 0.25 ** (level - 1) if level < 32 else 0.25 ** 31
        size = pc.cast(_J(pc.add(base, 16 + 16 * level), quantum16), pa.float64())
        total = pc.add(total, pc.multiply(size, prob))
    return total.to_pylist()


@lru_cache(maxsize=4)
def _sizing_tables_86(q16):
    """The scanner's sizing for Redis 8.6 (see :func:`sizing_tables`).

    Hash fields and values are entries (entry.c): a field of its own sds
    type and the value as sds type 8 in one exact-size record when the two
    fit 128 bytes, else the field (type 8 at least), a value pointer and the
    value's own sds; a field with a TTL adds 16 bytes of ExpireMeta and is
    type 8 at least.  Role 0/2 hold the field as embedded, role 1 the value
    by pointer; the pair table corrects both when they embed or when the
    field must grow to type 8.
    """
    field = [_sds_hdr5(n) + n + 1 for n in range(SIZING_LUT)]
    value = [ENTRY_VALUE_PTR + sds_alloc_86(n, q16) for n in range(SIZING_LUT)]
    field_ttl = [ENTRY_EXPIRE + _sds_hdr8(n) + n + 1 for n in range(SIZING_LUT)]
    member = [sds_alloc_86(n, q16) for n in range(SIZING_LUT)]
    node = [int(e + 0.5) for e in zset_nodes_expected_86(SIZING_LUT, q16)]
    pair = []
    for ttl in (False, True):
        for f in range(PAIR_FIELDS):
            base = field_ttl[f] if ttl else field[f]
            as_ptr = (ENTRY_EXPIRE if ttl else 0) + _sds_hdr8(f) + f + 1   # field by a value pointer
            for v in range(PAIR_FIELDS + 1):
                if v < PAIR_FIELDS and base + 3 + v + 1 <= HASH_EMBED_LIMIT:
                    pair.append(3 + v + 1 - value[v])          # value embedded, no pointer
                else:
                    pair.append(as_ptr - base)
    # Past the tables: an embedded field is exact, a value its sds allocation
    # plus the pointer, a member its allocation, a node its level-1 size.
    big = (6, 6, ENTRY_EXPIRE + 6, 6, 6 + 32)
    rounded = (False, True, False, True, True)
    extra = (0, ENTRY_VALUE_PTR, 0, 0, 0)
    return (field, value, field_ttl, member, node, pair), big, rounded, q16, STREAM_ALLOC, extra


def _mstr_hdr(n):
    """Redis 8.4 mstr header bytes (mstrReqType): 1 below 32 bytes, 3 below 64 KiB, else 9."""
    return 1 if n < 32 else 3 if n < 65536 else 9


@lru_cache(maxsize=4)
def _sizing_tables_84(q16):
    """The scanner's sizing for Redis 8.4 (see :func:`sizing_tables`).

    Hash fields are mstr allocations counted at their usable size (a field
    with a TTL carries mstr flags and ExpireMeta first), values and set
    members their ``sdsAllocSize``; a skiplist node and its member are two
    allocations.  No field and value share one: no pair table.
    """
    value = [sds_alloc_86(n, q16) for n in range(SIZING_LUT)]
    field = [jemalloc_size(_mstr_hdr(n) + n + 1, q16) for n in range(SIZING_LUT)]
    field_ttl = [jemalloc_size(MSTR_TTL_EXTRA + _mstr_hdr(n) + n + 1, q16) for n in range(SIZING_LUT)]
    node_levels = skiplist_node_expected(q16)
    node = [int(node_levels + value[n] + 0.5) for n in range(SIZING_LUT)]
    # Past the tables: mstr and sds headers plus the terminator, rounded; a
    # node adds its level-1 allocation.
    big = (4, 6, MSTR_TTL_EXTRA + 4, 6, 6)
    extra = (0, 0, 0, 0, jemalloc_size(24 + 16, q16))
    return (field, value, field_ttl, value, node), big, True, q16, STREAM_ALLOC_PEL_TIME, extra


def _kvobj_columns(lay, key_len, expires, n):
    """Redis 8.4+: ``(kvobj, embstr)``, the bytes MEMORY USAGE counts for the
    kvobj itself and what an embedded string adds to them, per
    :data:`TRACKED_84` / :data:`TRACKED_86` / :data:`TRACKED_88`.

    The kvobj is one allocation: metadata slots (the expiry when the key has
    one, always for keys of 128 bytes and more), the robj, a key header-size
    byte and the key sds (sdsReqType); an embstr value (sds type 8) follows
    in the same allocation, which it fills.
    """
    q16 = lay.quantum16
    key_sds = pc.add(pc.add(_sds_hdr5_col(key_len), key_len), 1)
    base = pc.add(key_sds, ROBJ + 1)
    slot = pc.or_(expires, pc.greater_equal(key_len, EXPIRE_KEY_THRESHOLD))
    head = pc.add(base, pc.if_else(slot, KVOBJ_META, 0))
    if lay.alloc_tracked == TRACKED_84:
        # Summed from its parts; kvobjCreate also reserves the expiry slot
        # when the allocation has 8 spare bytes.  An embstr's allocation
        # holds the expiry slot only for a key with a TTL.
        spare = pc.greater_equal(pc.subtract(_J(head, q16), head), KVOBJ_META)
        kvobj = pc.if_else(pc.and_(pc.invert(slot), spare), pc.add(head, KVOBJ_META), head)
        whole = _J(pc.add(pc.add(base, pc.if_else(expires, KVOBJ_META, 0)), pc.add(n, 4)), q16)
    elif lay.alloc_tracked == TRACKED_86:
        kvobj = _J(head, q16)                    # zmalloc_size of the allocation
        whole = _J(pc.add(head, pc.add(n, 4)), q16)
    else:
        kvobj = head                             # the parts, not the allocation
        whole = _J(pc.add(head, pc.add(n, 4)), q16)
    return kvobj, pc.subtract(whole, kvobj)


def _memory_column_tracked(profile, lay, batch, extra):
    """:func:`memory_column` for Redis 8.4 and later (``kvobjAllocSize``)."""
    q16 = lay.quantum16
    key_len = key_lengths(batch)
    encoding = pc.cast(batch["encoding"], pa.string())
    n = pc.fill_null(batch["length"], 0)
    mem_el, mem_val = extra["mem_elements"], extra["mem_values"]
    nodes = extra["nodes"]
    zero = pa.array([0] * len(n), pa.int64()) if len(n) else pa.array([], pa.int64())
    # Blobs at their exact bytes: a ziplist as the listpack the loader
    # converts it to (lp_bytes), a collection the file holds element by
    # element as the listpack or intset the loader builds of it.
    built, made = _built_blobs(batch, extra, encoding)
    blobs = pc.if_else(built, made, extra["lp_bytes"])

    # Strings: an embstr shares the kvobj allocation (the encoding rule says
    # when); a raw value is its sds.
    kvobj, embstr = _kvobj_columns(lay, key_len, ttl_flags(batch), n)
    raw = _sds_alloc_86_col(n, q16)

    buckets = _buckets(n)
    # Hashes with field TTLs past the listpack limit are built by inserts
    # (no pre-sizing): the last doubling may still be rehashing.
    grows = pc.and_(pc.is_in(batch["rdb_type"], value_set=pa.array([22, 24], pa.uint8())),
                    pc.greater(n, profile.thresholds.hash_max_entries))
    half = pc.divide(buckets, 2)
    rehashing = pc.and_(pc.greater(n, 4), pc.less(pc.multiply(pc.subtract(n, half), 16), pc.multiply(half, 10)))
    buckets = pc.if_else(pc.and_(grows, rehashing), pc.add(buckets, half), buckets)
    conv = extra.get("conv_at")
    if conv is not None and lay.alloc_tracked == TRACKED_84:
        # 8.4 converts a hashtable-typed hash at its first long value and
        # grows the dict from there (8.6 pre-sizes it for every field).
        buckets = _converted_buckets(profile, batch, n, conv, buckets)
    dict_part = pc.add(pc.add(pc.multiply(buckets, 8), pc.multiply(n, 24)), lay.dict_struct)
    hashtable = pc.add(pc.add(dict_part, mem_el), mem_val)
    header = ZSKIPLIST_HEADER_84 if lay.alloc_tracked == TRACKED_84 else ZSKIPLIST_HEADER_86
    skiplist = pc.add(dict_part, pc.add(mem_el, 16 + jemalloc_size(ZSKIPLIST_86, q16)
                                           + jemalloc_size(header, q16)))
    quicklist = pc.add(pc.add(blobs, pc.multiply(nodes, jemalloc_size(lay.quicklist_node, q16))),
                       jemalloc_size(lay.quicklist_struct, q16))
    groups = pc.fill_null(batch["stream_groups"], 0)
    consumers = pc.fill_null(batch["stream_consumers"], 0)
    pending = pc.fill_null(batch["stream_pending"], 0)
    stream = pc.add(pc.add(pc.add(blobs, mem_el), pc.add(mem_val, jemalloc_size(lay.stream_struct, q16))),
                    pc.add(pc.add(pc.multiply(groups, jemalloc_size(lay.stream_cg, q16)),
                                  pc.multiply(pending, jemalloc_size(lay.stream_nack, q16))),
                           pc.multiply(consumers, jemalloc_size(lay.stream_consumer, q16))))
    cases = [
        ("int", zero), ("embstr", embstr), ("raw", raw),
        ("listpack", blobs), ("intset", blobs), ("listpackex", pc.add(blobs, lay.listpack_ex_struct)),
        ("quicklist", quicklist), ("hashtable", hashtable), ("skiplist", skiplist),
        ("stream", stream),
    ]
    conds = pc.make_struct(*[pc.equal(encoding, name) for name, _ in cases],
                           field_names=[name for name, _ in cases])
    value_part = pc.case_when(conds, *[arr for _, arr in cases])
    total = pc.cast(pc.add(kvobj, value_part), pa.int64())
    # Module values and the 8.8+ types without a checked model: null.
    no_model = pc.greater_equal(pc.cast(batch["kind"], pa.int16()), KIND_ARRAY)
    return pc.if_else(pc.or_(no_model, pc.is_null(value_part)), pa.scalar(None, pa.int64()), total)


def _sds_hdr5_col(n):
    """Vectorised :func:`_sds_hdr5`."""
    return pc.case_when(pc.make_struct(pc.less(n, 32), pc.less(n, 256), pc.less(n, 65536),
                                       field_names=["a", "b", "c"]), 1, 3, 5, 9)


def _sds_alloc_86_col(n, q16):
    """Vectorised :func:`sds_alloc_86`."""
    hdr8 = pc.case_when(pc.make_struct(pc.less(n, 256), pc.less(n, 65536), field_names=["a", "b"]), 3, 5, 9)
    return pc.if_else(pc.and_(pc.greater(n, 0), pc.less(n, 32)), pc.add(n, 2),
                      _J(pc.add(pc.add(hdr8, n), 1), q16))
