"""The Valkey 8.1+ layouts: what ``MEMORY USAGE key SAMPLES 0`` answers on 8.1, 9.0 and 9.1+.

Worked out from Valkey's sources (8.1 and 9.0 branches, and ``unstable`` at
9cd063ee, the 9.1 line), checked key by key against a real server at
9cd063ee (``fixtures/valkey-unstable*``):

- ``objectComputeSize`` starts from ``zmalloc_size(o)``: the robj *with*
  what is embedded in it, the key (a header-size byte and its sds, type 5
  below 32 bytes) and an 8-byte expiry when the key has a TTL or is 128
  bytes or longer (``KEY_SIZE_TO_INCLUDE_EXPIRE_THRESHOLD``).  Nothing else
  is added for the key: there is no dict entry.
- An embstr value shares that allocation when robj, expiry, key and value
  (sds type 8) fit 64 bytes (8.1, 9.0; 8.1 estimates the key as its length
  + 3) or, from 9.1, 128 bytes with the robj's value pointer reused (8
  bytes; the value then takes at least 8); otherwise the loader makes it a
  raw sds (``OBJECT ENCODING`` then says raw).
- Sets, hashes and sorted sets are ``hashtable``: the struct (72 bytes, 80
  from 9.1), hashes' 8-byte metadata (9.0+), and 64-byte buckets, as many
  as the loader pre-sizes plus the child buckets of overfull chains (an
  expectation: the hash seed is random); a plain hash that starts as a
  listpack in the loader grows by inserts instead (:func:`loaded_hash_buckets`).
- Set members are sds (``sdsAllocSize``); hash fields and values are one
  ``entry`` (``entry.c``; the scanner prices it with :func:`sizing_tables`'
  pair table); fields with a TTL carry it in the entry and sit in the hash's volatile
  set, a vector of pointers (``J(8 + 8 n)``) up to 127 of them, then a
  radix tree of time buckets the scanner prices (:func:`vset_bytes`).
- 9.1 embeds each sorted-set element in its skiplist node and the header
  node in the ``zskiplist`` (528 bytes, not rounded); 8.1/9.0 keep a
  separate element sds and a separately allocated header node.
- Streams count their radix trees' real allocations (``raxAllocSize``),
  which the scanner rebuilds node by node (``STREAM_TREES``: the stream's
  own trees, none for the group and consumer tables Redis 8.4+ counts).

The scanner sums the per-element parts with the tables of
:func:`sizing_tables`; everything else is vectorised here, and the compiled
model (``_model.pyx``, ``valkey_memory_of``) repeats it row by row.
"""

from bisect import bisect_right, insort
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan.model.alloc import jemalloc_size, valkey_sds_header
from rdbscan.scanner.format import TYPE_HASH, VSET_VECTOR_MAX  # VOLATILESET_VECTOR_BUCKET_MAX_SIZE

ROBJ = 16                 # sizeof(robj): type/encoding/lru/flags/refcount, value pointer
EXPIRE_FIELD = 8          # the expiry embedded after the robj
EXPIRE_KEY_THRESHOLD = 128  # keys this long always get an expiry field
HT_BUCKET = 64            # hashtable bucket: one cache line
HASH_ENTRY_EMBED = 128    # entry.c EMBED_VALUE_MAX_ALLOC_SIZE
ZSET_STRUCT = 16          # sizeof(zset): hashtable and skiplist pointers
ZSKIPLIST_EMBEDDED = 528  # 9.1 zslGetAllocSize(): header node with 32 levels, inside the zskiplist
ZSKIPLIST_OLD = 32        # 8.1/9.0 sizeof(zskiplist) (header node allocated apart)
SKIPLIST_MAX_LEVEL = 32
STREAM_STRUCT = 80        # sizeof(stream)
STREAM_CG = 40            # sizeof(streamCG)
STREAM_CONSUMER = 32      # sizeof(streamConsumer)
STREAM_NACK = 24          # sizeof(streamNACK)
QUICKLIST_STRUCT = 40
QUICKLIST_NODE = 40


@dataclass(frozen=True)
class ValkeyLayout:
    """What differs between Valkey 8.1, 9.0 and 9.1+ (see the module docstring)."""
    release: tuple            # (8, 1), (9, 0) or (9, 1): the newest source it follows
    hashtable_struct: int     # sizeof(hashtable): 72, 80 from 9.1 (safe_iterators list)
    hash_metadata: int        # hashes' table metadata: 8 from 9.0 (the volatile set)
    volatile_set: bool        # 9.0+: hash fields with TTLs sit in a volatile set
    embstr_limit: int         # robj + expiry + key + value embedded up to this many bytes
    embstr_robj: int          # robj bytes before the embedded data: 16, 8 from 9.1 (pointer reused)
    embstr_min_value: int     # 9.1: the embedded value takes at least a pointer's 8 bytes (to unembed)
    embstr_max_len: int       # longest value tryObjectEncoding embeds before the key is added
    key_estimate: bool        # 8.1 decides with len(key) + 3 whatever the key's sds type
    skiplist_embeds: bool     # 9.1: element inside the node, header inside the zskiplist


def valkey_layout(version):
    """The :class:`ValkeyLayout` for a Valkey release (8.1 or newer; 255.255.255 is the newest)."""
    if version >= (9, 1):
        return ValkeyLayout((9, 1), 80, 8, True, 128, 8, 8, 116, False, True)
    if version >= (9, 0):
        return ValkeyLayout((9, 0), 72, 8, True, 64, 16, 0, 44, False, False)
    return ValkeyLayout((8, 1), 72, 0, False, 64, 16, 0, 44, True, False)


def _sds_req(n):
    """Bytes ``sdsnewlen`` asks for a string of ``n`` bytes (empty: type 8)."""
    return (3 if n == 0 else valkey_sds_header(n)) + n + 1


def _skiplist_node_expected(n, q16):
    """E[J(node with an n-byte element)] in 9.1: score, backward pointer, 16 bytes per level, a
    header-size byte and the element's sds (``zslCreateNode``)."""
    element = valkey_sds_header(n) + n + 1
    total = 0.0
    for level in range(1, SKIPLIST_MAX_LEVEL + 1):
        prob = 0.75 * 0.25 ** (level - 1) if level < SKIPLIST_MAX_LEVEL else 0.25 ** (SKIPLIST_MAX_LEVEL - 1)
        total += prob * jemalloc_size(16 + 16 * level + 1 + element, q16)
    return total


@lru_cache(maxsize=8)
def skiplist_level_expected(q16):
    """E[J(24 + 16 * level)]: an 8.1/9.0 skiplist node without its element."""
    total = 0.0
    for level in range(1, SKIPLIST_MAX_LEVEL + 1):
        prob = 0.75 * 0.25 ** (level - 1) if level < SKIPLIST_MAX_LEVEL else 0.25 ** (SKIPLIST_MAX_LEVEL - 1)
        total += prob * jemalloc_size(24 + 16 * level, q16)
    return total


PAIR_FIELDS = 128         # the pair table covers fields shorter than this (longer ones never embed)


def _entry_field(f, ttl):
    """Bytes of an entry's field part (entry.c ``entryReqSize``): its sds, 8-byte expiry if any."""
    hdr = valkey_sds_header(f)
    if hdr == 1 and ttl:
        hdr = 3                 # a field with an expiry is sds type 8 at least
    return hdr + f + 1 + (EXPIRE_FIELD if ttl else 0)


def _entry_apart(f, ttl, q16):
    """An entry whose value is not embedded: field (type 8 at least), expiry, value pointer."""
    size = _entry_field(f, ttl)
    if valkey_sds_header(f) == 1 and not ttl:
        size += 2
    return jemalloc_size(size + 8, q16)


def sizing_tables(vl, lut, q16):
    """The scanner's ``set_sizing`` arguments for a Valkey 8.1+ layout (memory.sizing_tables' shape).

    Roles: hash fields, hash values, hash fields with a TTL, set members,
    sorted-set members.  A hash field and its value are one ``entry``
    (entry.c ``entryReqSize``, ``entryMemUsage``): the field (sds type 5
    when short, type 8 when it has an expiry), the 8-byte expiry (9.0+) and
    the value as sds type 8 in one allocation when it fits 128 bytes; else
    the allocation holds the expiry, a value pointer and the field (type 8
    at least), and the value is an sds of its own.  The field tables price
    the second form, the value table the value's sds, and the pair table
    (fields shorter than 128, without then with a TTL, by value length, 128
    for longer) what embedding changes.  Set members are sds
    (``sdsAllocSize``); 9.1 sorted-set members cost their whole skiplist
    node (the expectation over levels, rounded).  Streams: the bytes of
    their own trees (``STREAM_TREES``).
    """
    from rdbscan.scanner.format import STREAM_TREES
    ttl = vl.volatile_set                      # 9.0+: a field's expiry lives in its entry
    plain = [jemalloc_size(_sds_req(n), q16) for n in range(lut)]
    field = [_entry_apart(n, False, q16) for n in range(lut)]
    field_ttl = [_entry_apart(n, ttl, q16) for n in range(lut)]
    pair = []
    for with_ttl, fields in ((False, field), (ttl, field_ttl)):
        for f in range(PAIR_FIELDS):
            size = _entry_field(f, with_ttl)
            for v in range(PAIR_FIELDS + 1):
                embedded = v < PAIR_FIELDS and size + v + 4 <= HASH_ENTRY_EMBED
                pair.append(jemalloc_size(size + v + 4, q16) - fields[f] - plain[v] if embedded else 0)
    if vl.skiplist_embeds:
        zset = [int(round(_skiplist_node_expected(n, q16))) for n in range(lut)]
        zset_big = 16 + 21 + 1 + 5 + 1       # node with its expected levels (16 * 4/3), sds type 16
    else:
        zset, zset_big = plain, 6
    # Past the tables: sds type 16 (5-byte header) and the terminator, plus what the entry adds.
    big = (6 + 8, 6, 6 + 8 + (EXPIRE_FIELD if ttl else 0), 6, zset_big)
    return (field, plain, field_ttl, plain, zset, pair), big, True, q16, STREAM_TREES, None


# ------------------------------------------------ tables grown by inserts
# Two Valkey tables are not pre-sized for what they end up holding, so the
# loader's sequence of inserts is replayed (scalar code: rare rows; the
# compiled model repeats the hash case in C):
#
# - a plain hash (RDB type 4) the loader started as a listpack and turned
#   into a hashtable at its first field or value longer than
#   hash-max-listpack-value (rdb.c): ``hashTypeConvertListpack`` expands
#   the table for the pairs read so far, ``hashtableTryExpand`` then for the
#   pairs still to come (only when that is at least what it holds), and
#   the rest grow it at 100 % fill, rehashing one bucket per insert;
# - the volatile set of a hash with more than 127 fields with TTLs.

VSET_WINDOW_MIN = 16      # VOLATILESET_BUCKET_INTERVAL_MIN: fine bucket end, ms
VSET_WINDOW_MAX = 8192    # VOLATILESET_BUCKET_INTERVAL_MAX: a new bucket's end, ms
PVECTOR_HEADER = 8        # pVector: len and alloc bit fields
HT_SLOTS = 7              # hashtable entries per bucket (64-bit)


def table_buckets_for(capacity):
    """Buckets ``resize`` gives a table asked to hold ``capacity`` (at least 1) entries (``nextBucketExp``)."""
    wanted = (max(capacity, 1) * 5 - 1) // 32 + 1
    top = 1
    while top < wanted:
        top <<= 1
    return top


def expected_children(n, top):
    """Expected child buckets of ``n`` entries hashed uniformly over ``top`` buckets (unrounded).

    The same sum as :func:`rdbscan.model.memory._ht_buckets` (and the
    compiled ``ht_children``), for any table size; ``n`` may be fractional.
    """
    from rdbscan.model.memory import CHILD_TERMS
    if top <= 1 or n <= 0:
        return 0.0
    nf = float(n)
    bf = float(top)
    q = 1.0 / bf
    ratio = q / (1.0 - q)
    pm = pow(1.0 - q, nf)
    acc = pm * 0.0
    for x in range(CHILD_TERMS):
        pm = max(pm * (nf - float(x)) / float(x + 1) * ratio, 0.0)
        if x + 1 > HT_SLOTS:
            acc = acc + pm * float((x + 1 - HT_SLOTS + 5) // 6)
    return bf * acc


class GrownTable:
    """A Valkey hashtable followed through inserts: resizes and incremental rehashing.

    ``hashtable.c``: an insert first does one rehash step (its lookup, resize
    policy ALLOW while loading), then resizes when the entries would exceed
    7 per bucket; a resize of a non-empty table keeps the old table until
    every bucket has been moved.  ``MEMORY USAGE`` counts both tables.
    """

    __slots__ = ("top", "old", "steps", "moved_from", "used")

    def __init__(self):
        self.top = 0            # buckets of the table being filled
        self.old = 0            # buckets of the table still being rehashed (0: none)
        self.steps = 0          # of those, moved so far
        self.moved_from = 0     # entries the old table held when the rehash began
        self.used = 0

    def resize(self, capacity):
        """``resize``: no-op at the same size; a non-empty old table starts a rehash."""
        top = table_buckets_for(capacity)
        if top == self.top:
            return
        if self.used > 0 and self.top > 0:
            self.old, self.steps, self.moved_from = self.top, 0, self.used
        self.top = top

    def expand(self, size):
        """``hashtableExpand`` / ``hashtableTryExpand``: not while rehashing or below the size held."""
        if self.old or size < self.used:
            return
        self.resize(size)

    def insert(self, count=1):
        for _ in range(count):
            if self.old:
                self.steps += 1
                if self.steps >= self.old:
                    self.old = 0
            if not self.old and self.used + 1 > HT_SLOTS * self.top:
                self.resize(self.used + 1)
            self.used += 1

    def buckets(self):
        """Top-level buckets of both tables plus the expected children (rounded half to even)."""
        if self.old:
            left = float(self.old - self.steps) / float(self.old)
            still = float(self.moved_from) * left
            children = (expected_children(self.moved_from, self.old) * left
                        + expected_children(float(self.used) - still, self.top))
        else:
            children = expected_children(self.used, self.top)
        return self.top + self.old + int(round(children))


def loaded_hash_buckets(n, before):
    """Buckets of a plain hash of ``n`` pairs that left its listpack after ``before`` pairs."""
    table = GrownTable()
    table.expand(before)            # hashTypeConvertListpack: the pairs in the listpack
    table.used = before
    table.insert()                  # the pair that did not fit
    table.expand(n - before - 1)    # hashtableTryExpand(len): the pairs still to come
    table.insert(n - before - 1)
    return table.buckets()


def _vector_bytes(n, q16):
    # pVector of n pointers grown one at a time (zrealloc_usable keeps the size class).
    return jemalloc_size(PVECTOR_HEADER + 8 * max(n, 2), q16)


def vset_bytes(expiries, q16, table_struct):
    """``vsetMemUsage`` of a volatile set built by adding ``expiries`` (ms) in this order.

    Up to 127 entries it is one sorted vector (``J(8 + 8 n)``; one entry:
    nothing).  Beyond, ``vset.c`` keeps a radix tree of time buckets keyed
    by their end (8-byte big-endian ms): an entry goes to the first bucket
    ending after it, unless that one ends past its 8,192 ms window, which
    starts a new single-entry bucket ending there.  A single becomes a
    vector; a full vector (127) is first moved to end at its latest entry's
    16 ms window or split where those windows change, else it becomes a
    hashtable of pointers.  The tree's bytes come from its canonical shape
    (the same set of keys gives the same nodes); each bucket adds its
    vector's allocation or its hashtable (``table_struct`` + buckets, with
    the expected children).
    """
    from rdbscan.scanner._common import RaxSizer
    n = len(expiries)
    if n <= 1:
        return 0
    if n <= VSET_VECTOR_MAX:
        return _vector_bytes(n, q16)
    bucket_end = lambda e: (e & ~(VSET_WINDOW_MIN - 1)) + VSET_WINDOW_MIN
    window_end = lambda e: (e & ~(VSET_WINDOW_MAX - 1)) + VSET_WINDOW_MAX
    ends = []                       # sorted bucket keys
    buckets = {}                    # end -> list of expiries (vector or single) or a GrownTable

    def add(e):
        i = bisect_right(ends, e)
        if i == len(ends) or ends[i] > window_end(e):
            insort(ends, window_end(e))
            buckets[window_end(e)] = [e]
            return
        end = ends[i]
        b = buckets[end]
        if isinstance(b, GrownTable):
            b.insert()
            return
        if len(b) < VSET_VECTOR_MAX:
            b.append(e)
            return
        b.sort()
        last, first = bucket_end(b[-1]), bucket_end(b[0])
        if last < end:                  # move the bucket to end at its latest entry's window
            del ends[i]
            del buckets[end]
            insort(ends, last)
            buckets[last] = b
        elif first != last:             # split where the 16 ms windows change, nearest the middle
            mid, off, at = len(b) // 2, 0, None
            while at is None:
                lo, hi = mid - off, mid + off
                if lo > 0 and bucket_end(b[lo - 1]) < bucket_end(b[lo]):
                    at = lo
                elif 0 < hi < len(b) and bucket_end(b[hi - 1]) < bucket_end(b[hi]):
                    at = hi
                off += 1
            buckets[end] = b[at:]
            insort(ends, bucket_end(b[at - 1]))
            buckets[bucket_end(b[at - 1])] = b[:at]
        else:                           # one 16 ms window: a hashtable of pointers
            table = GrownTable()
            table.insert(len(b) + 1)
            buckets[end] = table
            return
        add(e)

    first = sorted(expiries[:VSET_VECTOR_MAX])
    if window_end(first[0]) == window_end(first[-1]):
        ends.append(window_end(first[-1]))
        buckets[ends[0]] = first
    else:
        for e in first:
            add(e)
    for e in expiries[VSET_VECTOR_MAX:]:
        add(e)
    tree = RaxSizer(q16)
    total = 0
    for end in ends:
        tree.add(end.to_bytes(8, "big"))
        b = buckets[end]
        if isinstance(b, GrownTable):
            total += table_struct + HT_BUCKET * b.buckets()
        elif len(b) > 1:
            total += _vector_bytes(len(b), q16)
    return tree.bytes() + total


# ---------------------------------------------------------------- vectorised

def _zeros(like):
    return pc.multiply(pc.cast(like, pa.int64()), 0)


def _J(arr, q16):
    from rdbscan.model.memory import _J as vector_J     # the shared vectorised size classes
    return vector_J(arr, q16)


def _sds_header(length):
    """Vectorised :func:`valkey_sds_header`."""
    return pc.case_when(
        pc.make_struct(pc.less(length, 32), pc.less_equal(length, 252), pc.less_equal(length, 65529),
                       field_names=["a", "b", "c"]),
        1, 3, 5, 9)


def key_parts(key_len, has_ttl):
    """(embedded key bytes: header-size byte + sds, whether an expiry field is embedded)."""
    key = pc.add(pc.add(_sds_header(key_len), key_len), 2)
    return key, pc.or_(has_ttl, pc.greater_equal(key_len, EXPIRE_KEY_THRESHOLD))


def embstr_fits(vl, n, key_len, has_ttl):
    """Whether a short string stays embstr once the loader adds its key and expiry (vectorised)."""
    key, _ = key_parts(key_len, has_ttl)
    ttl = pc.if_else(has_ttl, EXPIRE_FIELD, 0)
    if vl.key_estimate:
        decide = pc.add(pc.add(pc.add(key_len, 3), ROBJ), pc.add(ttl, pc.add(n, 4)))
    else:
        decide = pc.add(pc.add(key, vl.embstr_robj), pc.add(ttl, pc.add(n, 4)))
    return pc.and_(pc.less_equal(n, vl.embstr_max_len), pc.less_equal(decide, vl.embstr_limit))


def _buckets(n):
    from rdbscan.model.memory import _ht_buckets
    return _ht_buckets(n)


def hashtable_buckets(n):
    """Buckets (top level plus expected children) of a hashtable pre-sized for ``n`` entries (one row)."""
    return _buckets(pa.array([n], pa.int64()))[0].as_py()


def keyspace_bytes(vl, table_sizes):
    """What the keyspace's own hashtables take (main keys or expires): one per db, or per
    cluster slot (the kvstore keeps a table per slot); ``table_sizes`` are their entry counts."""
    sizes = [n for n in table_sizes if n]
    if not sizes:
        return 0
    buckets = _buckets(pa.array(sizes, pa.int64()))
    return int(pc.sum(buckets).as_py()) * HT_BUCKET + len(sizes) * vl.hashtable_struct


def _loaded_buckets(buckets, left, n, conv):
    """``buckets`` with the rows in ``left`` replaced by :func:`loaded_hash_buckets` (few rows: a loop)."""
    sizes = pc.filter(n, left).to_pylist()
    before = pc.filter(conv, left).to_pylist()
    loaded = [loaded_hash_buckets(size, at) for size, at in zip(sizes, before)]
    return pc.replace_with_mask(buckets, left, pa.array(loaded, pa.int64()))


def memory_column(vl, q16, batch, extra, hash_max_entries):
    """``memory_bytes`` for one batch under a Valkey 8.1+ layout (module and path-hash values: null).

    ``hash_max_entries`` (hash-max-listpack-entries): a plain hash with at
    most that many pairs and a longer element (the scanner notes where: the
    conversion point ``conv_at`` for hash-max-listpack-value) was a
    listpack first while loading.
    """
    from rdbscan.model.memory import key_lengths, ttl_flags     # (memory imports this module)
    key_len = key_lengths(batch)
    has_ttl = ttl_flags(batch)
    key, expire_field = key_parts(key_len, has_ttl)
    obj = _J(pc.add(pc.add(key, ROBJ), pc.if_else(expire_field, EXPIRE_FIELD, 0)), q16)

    encoding = pc.cast(batch["encoding"], pa.string())
    n = pc.fill_null(batch["length"], 0)
    expired = pc.fill_null(batch["hash_fields_expired"], 0)
    volatile = pc.fill_null(batch["hash_fields_with_ttl"], 0)
    mem_el, mem_val, blobs = extra["mem_elements"], extra["mem_values"], extra["mem_blobs"]
    nodes = extra["nodes"]

    ttl = pc.if_else(has_ttl, EXPIRE_FIELD, 0)
    embedded_value = pc.max_element_wise(pc.add(n, 4), vl.embstr_min_value)
    embstr = _J(pc.add(pc.add(key, vl.embstr_robj), pc.add(ttl, embedded_value)), q16)
    raw = pc.add(obj, _J(pc.add(pc.add(pc.if_else(pc.equal(n, 0), 3, _sds_header(n)), n), 1), q16))
    compact = pc.add(obj, blobs)
    quicklist = pc.add(pc.add(obj, blobs), pc.add(pc.multiply(nodes, QUICKLIST_NODE), QUICKLIST_STRUCT))

    is_hash = pc.equal(pc.cast(batch["type"], pa.string()), "hash")
    stored = pc.add(n, expired)                       # the loader pre-sizes for every stored field
    buckets = _buckets(pc.if_else(is_hash, stored, n))
    conv = extra.get("conv_at")
    if conv is not None:
        plain = pc.equal(pc.cast(batch["rdb_type"], pa.int16()), TYPE_HASH)
        left = pc.and_(pc.and_(is_hash, plain), pc.and_(pc.greater_equal(conv, 0), pc.less_equal(n, hash_max_entries)))
        if pc.any(left).as_py():
            buckets = _loaded_buckets(buckets, left, n, conv)
    table = pc.add(pc.multiply(buckets, HT_BUCKET), vl.hashtable_struct)
    table = pc.add(table, pc.if_else(is_hash, vl.hash_metadata, 0))
    if vl.volatile_set:
        # One vector up to 127 entries; a bigger volatile set the scanner prices (vset_bytes).
        one_vector = pc.and_(pc.greater(volatile, 1), pc.less_equal(volatile, VSET_VECTOR_MAX))
        vector = pc.if_else(one_vector, _J(pc.add(pc.multiply(volatile, 8), PVECTOR_HEADER), q16), 0)
        table = pc.add(table, pc.if_else(is_hash, vector, 0))
    hashtable = pc.add(pc.add(obj, table), pc.add(mem_el, mem_val))
    # A hash whose every field had expired is dropped by the loader.
    hashtable = pc.if_else(pc.and_(is_hash, pc.and_(pc.equal(n, 0), pc.greater(expired, 0))), 0, hashtable)

    if vl.skiplist_embeds:
        skiplist = pc.add(pc.add(obj, table), pc.add(mem_el, ZSET_STRUCT + ZSKIPLIST_EMBEDDED))
    else:
        levels = pc.cast(pc.round(pc.multiply(pc.cast(n, pa.float64()), skiplist_level_expected(q16))),
                         pa.int64())
        header = ZSET_STRUCT + ZSKIPLIST_OLD + jemalloc_size(24 + 16 * SKIPLIST_MAX_LEVEL, q16)
        skiplist = pc.add(pc.add(obj, table), pc.add(pc.add(mem_el, levels), header))

    groups = pc.fill_null(batch["stream_groups"], 0)
    consumers = pc.fill_null(batch["stream_consumers"], 0)
    pending = pc.fill_null(batch["stream_pending"], 0)
    stream = pc.add(pc.add(pc.add(obj, STREAM_STRUCT), pc.add(mem_el, blobs)),
                    pc.add(pc.add(pc.multiply(groups, STREAM_CG), pc.multiply(pending, STREAM_NACK)),
                           pc.add(pc.multiply(consumers, STREAM_CONSUMER), mem_val)))

    cases = [("int", obj), ("embstr", embstr), ("raw", raw), ("listpack", compact), ("intset", compact),
             ("quicklist", quicklist), ("hashtable", hashtable), ("skiplist", skiplist), ("stream", stream)]
    conds = pc.make_struct(*[pc.equal(encoding, name) for name, _ in cases], field_names=[c for c, _ in cases])
    total = pc.case_when(conds, *[pc.cast(arr, pa.int64()) for _, arr in cases])
    return total
