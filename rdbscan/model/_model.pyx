# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of the server-side view: OBJECT ENCODING and MEMORY USAGE per row.

The reference is the vectorised pyarrow code in :mod:`rdbscan.model.encoding` and
:mod:`rdbscan.model.memory` (the tests hold the two to the same answers); this is
the same rules as one C loop over a batch, which is several times cheaper
than a hundred whole-column passes.  Parameters come from
:func:`rdbscan.model.model_params`.
"""

include "_format.pxi"

from libc.stdint cimport uint8_t, int8_t, int32_t, int64_t
from libc.math cimport pow, nearbyint, fmax
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.bytearray cimport PyByteArray_AS_STRING

include "_alloc.pxi"


# Codes of rdbscan.model.encoding.ENCODINGS (checked at import by rdbscan.model).
DEF E_RAW = 0
DEF E_INT = 1
DEF E_EMBSTR = 2
DEF E_LINKEDLIST = 3
DEF E_ZIPLIST = 4
DEF E_QUICKLIST = 5
DEF E_LISTPACK = 6
DEF E_LISTPACKEX = 7
DEF E_INTSET = 8
DEF E_HASHTABLE = 9
DEF E_SKIPLIST = 10
DEF E_STREAM = 12
DEF E_UNKNOWN = 13
DEF E_SLICED_ARRAY = 14
DEF E_TMPL_LISTPACK = 15
DEF E_TMPL_ARRAY = 16

ENCODING_CODES = {"raw": E_RAW, "int": E_INT, "embstr": E_EMBSTR, "linkedlist": E_LINKEDLIST,
                  "ziplist": E_ZIPLIST, "quicklist": E_QUICKLIST, "listpack": E_LISTPACK,
                  "listpackex": E_LISTPACKEX, "intset": E_INTSET, "hashtable": E_HASHTABLE,
                  "skiplist": E_SKIPLIST, "stream": E_STREAM, "unknown": E_UNKNOWN,
                  "sliced-array": E_SLICED_ARRAY, "template-listpack": E_TMPL_LISTPACK,
                  "template-array": E_TMPL_ARRAY}


cdef struct Params:
    # encoding rules
    bint has_embstr
    int64_t embstr_limit
    bint listpack_era
    bint old_lists
    bint lists_listpack
    bint sets_listpack
    bint stream_known
    bint valkey_hash2                # Valkey 9.0+: hashes with field TTLs are hashtables
    bint valkey_flavor               # Valkey: no listpackex
    bint kvobj_embstr                # Redis 8.2+: embstr only when the key leaves room (klen + len <= 41)
    bint redis_types                 # Redis flavor: template hash types 29-32 exist
    int64_t hash_max_entries, hash_max_value, zset_max_entries, zset_max_value
    int64_t set_max_intset_entries, set_max_listpack_entries, set_max_listpack_value
    int64_t list_max_ziplist_entries, list_max_ziplist_value, list_max_listpack_bytes
    # memory layout
    bint zmalloc_strings, zmalloc_embstr, zmalloc_blobs
    int quantum16                    # allocator code: rdbscan.model.alloc
    int embedded_key                 # rdbscan.model.memory KEY_* code: where the key lives
    int64_t dict_struct, quicklist_struct, quicklist_node, listpackex_alloc, key_entry_extra
    bint argv_key, bare_skiplist, set_entries_on_collision, zmalloc_stream_lp
    bint hfe_dict_grows, hash_dict_grows
    int64_t stream_struct, stream_cg, stream_consumer, skiplist_header_alloc
    double skiplist_node
    int alloc_tracked                # Redis 8.4+ kvobjAllocSize: a TRACKED_* code (memory_of_tracked)
    int64_t embstr_ttl               # Redis 8.4: what a TTL adds to the embed test
    int64_t stream_nack              # sizeof(streamNACK) where tracked
    # Valkey 8.1+ (rdbscan.model.valkey.ValkeyLayout); valkey 0 for every other server
    bint valkey
    int64_t v_ht_struct, v_hash_meta, v_embstr_limit, v_embstr_robj, v_embstr_min_value, v_embstr_max_len
    bint v_vset, v_key_estimate, v_skiplist_embeds
    bint scores_shortest             # 7.2+: d2string writes the shortest score text (fpconv)


cdef inline int64_t J(int64_t n, int q16) noexcept nogil:
    return jemalloc_size(n, q16)


cdef inline int64_t sds_hdr(int64_t n) noexcept nogil:
    if n == 0:
        return 3
    if n < 32:
        return 1
    if n < 256:
        return 3
    if n < 65536:
        return 5
    return 9


# rdbscan.model.memory KEY_* codes and the constants of the embedded-key layouts
DEF KEY_IN_ENTRY = 1
DEF KEY_IN_KVOBJ = 2
DEF ROBJ = 16
DEF HT_BUCKET = 64
DEF HT_SLOTS = 7
DEF CHILD_TERMS = 64
DEF ZSET_NOVALUE_ENTRY = 16
DEF EMBED_STRING_LIMIT = 64
DEF EXPIRE_KEY_THRESHOLD = 128
# rdbscan.model.valkey
DEF EXPIRE_FIELD = 8
DEF ZSET_STRUCT = 16
DEF ZSKIPLIST_EMBEDDED = 528
DEF ZSKIPLIST_OLD = 32
DEF STREAM_NACK = 24
DEF KVOBJ_EMBED_LIMIT = 41
# Redis 8.4+ sizes (rdbscan.model.memory: the *_84, *_86 and TRACKED_* constants)
DEF KVOBJ_META = 8
DEF ZSKIPLIST_86 = 40
DEF ZSKIPLIST_HEADER_86 = 528
DEF ZSKIPLIST_HEADER_84 = 536
DEF LISTPACK_EX_86 = 24
DEF TRACKED_84 = 1
DEF TRACKED_86 = 2
DEF TRACKED_88 = 3


cdef double ht_children(double nf, int64_t top) noexcept nogil:
    # rdbscan.model.valkey.expected_children, same operations in the same order.
    cdef double bf, q, ratio, pm, acc
    cdef int x
    if top <= 1 or nf <= 0:
        return 0.0
    bf = <double>top
    q = 1.0 / bf
    ratio = q / (1.0 - q)
    pm = pow(1.0 - q, nf)
    acc = pm * 0.0
    for x in range(CHILD_TERMS):
        pm = fmax(pm * (nf - <double>x) / <double>(x + 1) * ratio, 0.0)
        if x + 1 > HT_SLOTS:
            acc = acc + pm * <double>((x + 1 - HT_SLOTS + 5) // 6)
    return bf * acc


cdef inline int64_t ht_buckets(int64_t n) noexcept nogil:
    """rdbscan.model.memory._ht_buckets: Valkey 8.1+ top-level plus expected child buckets."""
    cdef int64_t min_buckets, top = 1
    if n <= 0:
        return 0
    min_buckets = (n * 5 - 1) // 32 + 1
    while top < min_buckets:
        top <<= 1
    if top <= 1:
        return top
    return top + <int64_t>nearbyint(ht_children(<double>n, top))


cdef struct DictSim:
    int64_t size, used, old, steps


cdef void sim_expand(DictSim* d, int64_t target) noexcept nogil:
    cdef int64_t new = buckets_for(target)
    cdef double m
    if d.old or d.used > target or new == d.size:
        return
    m = <double>d.size
    d.old = d.size
    d.steps = <int64_t>nearbyint(m * (1.0 - pow(1.0 - 1.0 / m, <double>d.used)))
    if d.steps < 1:
        d.steps = 1
    d.size = new


cdef void sim_add(DictSim* d, int64_t count) noexcept nogil:
    cdef int64_t t
    while count > 0:
        if d.old:
            t = count if count < d.steps else d.steps
            d.used += t
            count -= t
            d.steps -= t
            if d.steps <= 0:
                d.old = 0
        elif d.used >= d.size:
            sim_expand(d, d.used + 1)
            d.used += 1
            count -= 1
        else:
            t = count if count < d.size - d.used else d.size - d.used
            d.used += t
            count -= t


cdef int64_t dict_slots_after(int64_t k, int64_t n, bint is_set, bint presized) noexcept nogil:
    """rdbscan.model.memory.dict_slots_after: a dict the loader converted to after k elements."""
    cdef DictSim d
    d.size = buckets_for(k)
    d.used = k
    d.old = 0
    d.steps = 0
    if not presized and not is_set:
        d.size = 4
        d.used = 0
    if is_set:
        sim_expand(&d, n)
        sim_add(&d, n - k)
    else:
        sim_add(&d, k - d.used)
        sim_add(&d, 1)
        if n - k - 1 > 4:
            sim_expand(&d, n - k - 1)
        sim_add(&d, n - k - 1)
    return d.size + d.old


cdef inline int64_t buckets_for(int64_t n) noexcept nogil:
    cdef int64_t b = 4
    while b < n:
        b <<= 1
    return b


cdef inline int64_t valkey_key_bytes(int64_t klen) noexcept nogil:
    # A key embedded in a Valkey 8.1+ robj: header-size byte + sds (sdsReqType).
    return valkey_sds_header(klen) + klen + 2


cdef inline bint valkey_embstr_fits(const Params* P, int64_t n, int64_t klen, bint ttl) noexcept nogil:
    # rdbscan.model.valkey.embstr_fits: the value stays embedded with its key and expiry.
    cdef int64_t decide
    if n > P.v_embstr_max_len:
        return 0
    if P.v_key_estimate:
        decide = klen + 3 + ROBJ + (EXPIRE_FIELD if ttl else 0) + n + 4
    else:
        decide = valkey_key_bytes(klen) + P.v_embstr_robj + (EXPIRE_FIELD if ttl else 0) + n + 4
    return decide <= P.v_embstr_limit


cdef inline int encoding_of(const Params* P, int kind, int t, int flags, int64_t n, int64_t mx,
                            int64_t nodes, int64_t blob, int64_t elem, int64_t klen,
                            bint expires) noexcept nogil:
    cdef bint is_int = flags & FLAG_INTEGER
    cdef bint plain = flags & FLAG_PLAIN_NODE
    cdef bint small
    if kind == KIND_STRING:
        if is_int:
            return E_INT
        if P.valkey:
            return E_EMBSTR if valkey_embstr_fits(P, n, klen, expires) else E_RAW
        if P.has_embstr and n <= P.embstr_limit and (
                not P.kvobj_embstr or klen + n + (P.embstr_ttl if expires else 0) <= KVOBJ_EMBED_LIMIT):
            return E_EMBSTR
        return E_RAW
    if kind == KIND_LIST:
        if P.old_lists:
            if (t == TYPE_LIST or t == TYPE_LIST_ZIPLIST) and n <= P.list_max_ziplist_entries \
                    and mx <= P.list_max_ziplist_value:
                return E_ZIPLIST
            return E_LINKEDLIST
        if P.lists_listpack:
            if (t == TYPE_LIST_QUICKLIST or t == TYPE_LIST_QUICKLIST_2) and nodes <= 1 and not plain \
                    and blob <= P.list_max_listpack_bytes:
                return E_LISTPACK
            if t == TYPE_LIST_ZIPLIST and blob <= P.list_max_listpack_bytes:
                return E_LISTPACK
            if t == TYPE_LIST and elem + n * 2 + 7 <= P.list_max_listpack_bytes:
                return E_LISTPACK
        return E_QUICKLIST
    # A compact value in the file stays compact unless it has too many
    # elements (the loader does not look at their lengths); one built from
    # elements must fit both limits.
    if kind == KIND_SET:
        if (t == TYPE_SET or t == TYPE_SET_INTSET) and is_int and n <= P.set_max_intset_entries:
            return E_INTSET
        if P.sets_listpack and ((t == TYPE_SET and n <= P.set_max_listpack_entries
                                 and mx <= P.set_max_listpack_value)
                                or (t == TYPE_SET_LISTPACK and n <= P.set_max_listpack_entries)):
            return E_LISTPACK
        return E_HASHTABLE
    if kind == KIND_ZSET:
        if n <= P.zset_max_entries and (mx <= P.zset_max_value or t == TYPE_ZSET_ZIPLIST
                                        or t == TYPE_ZSET_LISTPACK):
            return E_LISTPACK if P.listpack_era else E_ZIPLIST
        return E_SKIPLIST
    if kind == KIND_HASH:
        if P.redis_types and (t == TYPE_HASH_TMPL_LP or t == TYPE_HASH_TMPL_LP_REF):
            return E_TMPL_LISTPACK
        if P.redis_types and (t == TYPE_HASH_TMPL_ARRAY or t == TYPE_HASH_TMPL_ARRAY_REF):
            return E_TMPL_ARRAY
        small = n <= P.hash_max_entries and (mx <= P.hash_max_value or t == TYPE_HASH_ZIPLIST
                                             or t == TYPE_HASH_LISTPACK or t == TYPE_HASH_LISTPACK_EX
                                             or t == TYPE_HASH_LISTPACK_EX_PRE_GA)
        if P.valkey_flavor:
            if P.valkey_hash2 and flags & FLAG_HFE:
                return E_HASHTABLE
        elif (t == TYPE_HASH_METADATA or t == TYPE_HASH_METADATA_PRE_GA or t == TYPE_HASH_LISTPACK_EX
                or t == TYPE_HASH_LISTPACK_EX_PRE_GA) and small:
            return E_LISTPACKEX
        if small:
            return E_LISTPACK if P.listpack_era else E_ZIPLIST
        return E_HASHTABLE
    if kind == KIND_STREAM:
        return E_STREAM if P.stream_known else E_UNKNOWN
    if kind == KIND_ARRAY:
        return E_SLICED_ARRAY
    if kind == KIND_PATH_HASH:
        return E_UNKNOWN
    return E_RAW


cdef inline int64_t built_bytes(const Params* P, int enc, int kind, int64_t lp, int64_t lp70, int64_t zl,
                                int64_t intset) noexcept nogil:
    # memory._built_blobs: the exact bytes of what the loader builds of a
    # collection the file holds element by element.
    if enc == E_INTSET:
        return intset
    if enc == E_ZIPLIST:
        return zl
    return lp if (P.scores_shortest or kind != KIND_ZSET) else lp70


cdef inline int64_t sds_alloc_86(int64_t n, int q16) noexcept nogil:
    # rdbscan.model.memory.sds_alloc_86
    if 0 < n < 32:
        return n + 2
    return J((3 if n < 256 else 5 if n < 65536 else 9) + n + 1, q16)


cdef inline int64_t memory_of_tracked(const Params* P, int enc, int kind, int t, int64_t klen, int64_t n,
                                      int64_t nodes, int64_t blobs, int64_t mem_el, int64_t mem_val,
                                      int64_t groups, int64_t consumers, int64_t pending,
                                      int64_t conv, bint expires) noexcept nogil:
    # rdbscan.model.memory._memory_column_tracked: Redis 8.4+ kvobjAllocSize;
    # blobs at their exact bytes (built_bytes for what the loader builds).
    cdef int q16 = P.quantum16
    cdef int64_t base = (1 if klen < 32 else 3 if klen < 256 else 5 if klen < 65536 else 9) + klen + 1 + ROBJ + 1
    cdef int64_t head = base, kv, whole, value, buckets, half
    cdef bint slot = expires or klen >= EXPIRE_KEY_THRESHOLD
    if slot:
        head += KVOBJ_META
    # The kvobj and an embedded value's allocation (memory._kvobj_columns).
    if P.alloc_tracked == TRACKED_84:
        kv = head + KVOBJ_META if (not slot and J(head, q16) - head >= KVOBJ_META) else head
        whole = J(base + (KVOBJ_META if expires else 0) + n + 4, q16)
    elif P.alloc_tracked == TRACKED_86:
        kv = J(head, q16)
        whole = J(head + n + 4, q16)
    else:
        kv = head
        whole = J(head + n + 4, q16)
    if enc == E_INT:
        value = 0
    elif enc == E_EMBSTR:
        value = whole - kv
    elif enc == E_RAW:
        value = sds_alloc_86(n, q16)
    elif enc == E_LISTPACK or enc == E_INTSET:
        value = blobs
    elif enc == E_LISTPACKEX:
        value = blobs + LISTPACK_EX_86           # sizeof(listpackEx), not its allocation
    elif enc == E_QUICKLIST:
        value = blobs + nodes * J(P.quicklist_node, q16) + J(P.quicklist_struct, q16)
    elif enc == E_HASHTABLE or enc == E_SKIPLIST:
        buckets = buckets_for(n)
        if (t == 22 or t == 24) and n > P.hash_max_entries:
            half = buckets // 2
            if n > 4 and (n - half) * 16 < half * 10:
                buckets += half
        if P.alloc_tracked == TRACKED_84 and conv >= 0 and t == TYPE_HASH and n <= P.hash_max_entries:
            # 8.4 converts a hashtable-typed hash at its first long value and
            # grows the dict from there (8.6 pre-sizes it for every field).
            buckets = dict_slots_after(conv, n, 0, 1)
        value = buckets * 8 + n * 24 + P.dict_struct + mem_el
        if enc == E_HASHTABLE:
            value += mem_val
        else:
            value += 16 + J(ZSKIPLIST_86, q16) + J(
                ZSKIPLIST_HEADER_84 if P.alloc_tracked == TRACKED_84 else ZSKIPLIST_HEADER_86, q16)
    elif enc == E_STREAM:
        value = (blobs + mem_el + mem_val + J(P.stream_struct, q16) + groups * J(P.stream_cg, q16)
                 + pending * J(P.stream_nack, q16) + consumers * J(P.stream_consumer, q16))
    else:
        return -1
    return kv + value


cdef inline int64_t memory_of(const Params* P, int enc, int kind, int t, int64_t klen, int64_t n,
                              int64_t nodes, int64_t blob_bytes, int64_t mem_el, int64_t mem_val,
                              int64_t mem_blobs, int64_t groups, int64_t consumers,
                              int64_t pending, int64_t lp, int64_t lp70, int64_t zl,
                              int64_t intset, int64_t conv, bint expires) noexcept nogil:
    cdef int q16 = P.quantum16
    cdef int64_t khdr = sds_hdr(klen)
    cdef int64_t key_part, value, blobs, buckets, half, table, m, entry
    cdef double mf, occupied
    if kind >= KIND_ARRAY:
        return -1                    # module values, arrays, GCRA: no estimate rather than a wrong one
    # Built by the loader from elements the file holds one by one (memory._built_blobs).
    cdef bint built = (t == TYPE_SET or t == TYPE_ZSET or t == TYPE_HASH or t == TYPE_ZSET_2
                       or t == TYPE_HASH_METADATA_PRE_GA or t == TYPE_HASH_METADATA) and \
        (kind == KIND_SET or kind == KIND_ZSET or kind == KIND_HASH)
    if P.alloc_tracked:
        # A ziplist as the listpack the loader converts it to (lp).
        return memory_of_tracked(P, enc, kind, t, klen, n, nodes,
                                 built_bytes(P, enc, kind, lp, lp70, zl, intset) if built else lp,
                                 mem_el, mem_val, groups, consumers, pending, conv, expires)
    cdef int64_t ksds, together, decide
    if P.argv_key and klen <= 44:
        khdr = 3
    ksds = khdr + klen + 1
    if P.embedded_key == KEY_IN_KVOBJ:
        ksds = (1 if klen < 32 else khdr) + klen + 1
    if P.embedded_key == KEY_IN_ENTRY:
        key_part = J(khdr + klen + 1 + 17, q16)
    elif P.embedded_key == KEY_IN_KVOBJ:
        key_part = J(ksds + ROBJ + 1 + (8 if klen >= EXPIRE_KEY_THRESHOLD else 0), q16) - ROBJ
    elif P.zmalloc_strings:
        key_part = J(khdr + klen + 1, q16) + 24 + P.key_entry_extra
    else:
        key_part = khdr + klen + 1 + 24 + P.key_entry_extra
    # Before 7.0 the server measures blobs by their length: ziplists, and a
    # listpack in the file would be one (zl_bytes); from 7.0 the allocator's
    # classes, blob by blob (the scanner's sized sum).
    blobs = mem_blobs if P.zmalloc_blobs else zl
    if built:
        # Built by the loader from elements the file holds one by one.
        blobs = built_bytes(P, enc, kind, lp, lp70, zl, intset)
        if P.zmalloc_blobs:
            blobs = J(blobs, q16)
    if enc == E_INT:
        value = 16
    elif enc == E_EMBSTR:
        value = J(n + 20, q16) if P.zmalloc_embstr else n + 18
        if P.embedded_key == KEY_IN_KVOBJ:
            together = ksds + ROBJ + 1 + n + 4
            decide = klen + ROBJ + 3 + n + 4
            if decide <= EMBED_STRING_LIMIT:
                value = J(together, q16) - key_part
            else:
                value = J(sds_hdr(n) + n + 1, q16) + ROBJ
    elif enc == E_RAW:
        value = sds_hdr(n) + n + 1
        value = (J(value, q16) if P.zmalloc_strings else value) + 16
    elif enc == E_LISTPACK or enc == E_ZIPLIST or enc == E_INTSET:
        value = blobs + 16
    elif enc == E_LISTPACKEX:
        value = blobs + 16 + P.listpackex_alloc
    elif enc == E_QUICKLIST:
        value = blobs + nodes * P.quicklist_node + 16 + P.quicklist_struct
    elif enc == E_HASHTABLE or enc == E_SKIPLIST:
        buckets = buckets_for(n)
        if (P.hash_dict_grows and kind == KIND_HASH) or \
                (P.hfe_dict_grows and not P.hash_dict_grows and (t == 22 or t == 24)):
            half = buckets // 2
            if n > 4 and (n - half) * 16 < half * 10:
                buckets += half
        if conv >= 0 and not P.hash_dict_grows and (
                (t == TYPE_HASH and n <= P.hash_max_entries)
                or (t == TYPE_SET and not P.sets_listpack and n <= P.set_max_intset_entries)):
            buckets = dict_slots_after(conv, n, t == TYPE_SET, P.listpack_era)
        table = buckets * 8 + 16 + P.dict_struct
        entry = 24
        if enc == E_HASHTABLE:
            value = table + n * entry + mem_el + mem_val
            if n > 0:
                # objectComputeSize adds the elements as (double)sum/samples*size
                # to the struct and buckets: the double can fall short by an ulp.
                value = <int64_t>(<double>table + <double>(n * entry + mem_el + mem_val) / <double>n * <double>n)
            if P.set_entries_on_collision and kind == KIND_SET:
                mf = <double>buckets
                occupied = mf * (1.0 - pow(1.0 - 1.0 / mf, <double>n))
                value = table + (<int64_t>nearbyint(<double>n - occupied)) * 16 + mem_el
        else:
            m = <int64_t>nearbyint(<double>n * P.skiplist_node)
            if P.embedded_key == KEY_IN_KVOBJ:
                entry = ZSET_NOVALUE_ENTRY
            if P.bare_skiplist:
                value = buckets * 8 + 16 + 16 + n * 24 + mem_el + m
            else:
                value = table + n * entry + mem_el + m + 16 + 32 + P.skiplist_header_alloc
    elif enc == E_STREAM or enc == E_UNKNOWN:
        value = ((nodes + pending * 2) * 16 + mem_el * 244
                 + (mem_blobs if P.zmalloc_stream_lp else blob_bytes) + 16 + P.stream_struct
                 + groups * P.stream_cg + pending * 24 + consumers * P.stream_consumer + mem_val)
    else:
        return -1
    return key_part + value


# --- rdbscan.model.valkey: tables grown by inserts (GrownTable, loaded_hash_buckets)
cdef struct Grown:
    int64_t top, old, steps, moved_from, used


cdef inline int64_t table_buckets_for(int64_t capacity) noexcept nogil:
    cdef int64_t wanted = ((capacity if capacity > 1 else 1) * 5 - 1) // 32 + 1
    cdef int64_t top = 1
    while top < wanted:
        top <<= 1
    return top


cdef void grown_resize(Grown* g, int64_t capacity) noexcept nogil:
    cdef int64_t top = table_buckets_for(capacity)
    if top == g.top:
        return
    if g.used > 0 and g.top > 0:
        g.old = g.top
        g.steps = 0
        g.moved_from = g.used
    g.top = top


cdef void grown_insert(Grown* g, int64_t count) noexcept nogil:
    cdef int64_t i
    for i in range(count):
        if g.old:
            g.steps += 1
            if g.steps >= g.old:
                g.old = 0
        if not g.old and g.used + 1 > HT_SLOTS * g.top:
            grown_resize(g, g.used + 1)
        g.used += 1


cdef int64_t loaded_hash_buckets(int64_t n, int64_t before) noexcept nogil:
    cdef Grown g
    cdef double left, still, children
    g.top = g.old = g.steps = g.moved_from = g.used = 0
    grown_resize(&g, before)
    g.used = before
    grown_insert(&g, 1)
    if not g.old and n - before - 1 >= g.used:
        grown_resize(&g, n - before - 1)
    grown_insert(&g, n - before - 1)
    if g.old:
        left = <double>(g.old - g.steps) / <double>g.old
        still = <double>g.moved_from * left
        children = ht_children(<double>g.moved_from, g.old) * left + ht_children(<double>g.used - still, g.top)
    else:
        children = ht_children(<double>g.used, g.top)
    return g.top + g.old + <int64_t>nearbyint(children)


cdef inline int64_t valkey_memory_of(const Params* P, int enc, int kind, int t, int64_t klen, bint ttl,
                                     int64_t n, int64_t expired, int64_t volatile, int64_t nodes, int64_t mem_el,
                                     int64_t mem_val, int64_t mem_blobs, int64_t groups, int64_t consumers,
                                     int64_t pending, int64_t conv) noexcept nogil:
    # rdbscan.model.valkey.memory_column, row by row (conv: where a plain
    # hash leaves its listpack, the conversion point for hash-max-listpack-value).
    cdef int q16 = P.quantum16
    cdef int64_t key = valkey_key_bytes(klen)
    cdef int64_t obj = J(ROBJ + key + (EXPIRE_FIELD if (ttl or klen >= EXPIRE_KEY_THRESHOLD) else 0), q16)
    cdef int64_t table, value
    if kind >= KIND_ARRAY:
        return -1                    # module values, path hashes (and 8.8+ types): no estimate
    if enc == E_INT:
        return obj
    if enc == E_EMBSTR:
        value = n + 4 if n + 4 > P.v_embstr_min_value else P.v_embstr_min_value
        return J(key + P.v_embstr_robj + (EXPIRE_FIELD if ttl else 0) + value, q16)
    if enc == E_RAW:
        return obj + J((3 if n == 0 else valkey_sds_header(n)) + n + 1, q16)
    if enc == E_LISTPACK or enc == E_INTSET:
        return obj + mem_blobs
    if enc == E_QUICKLIST:
        return obj + mem_blobs + nodes * P.quicklist_node + P.quicklist_struct
    if enc == E_HASHTABLE or enc == E_SKIPLIST:
        if kind == KIND_HASH:
            if n == 0 and expired > 0:
                return 0            # every field had expired: the loader drops the key
            if conv >= 0 and t == TYPE_HASH and n <= P.hash_max_entries:
                # a plain hash that left its listpack while loading (the scanner noted where)
                table = loaded_hash_buckets(n, conv) * HT_BUCKET + P.v_ht_struct + P.v_hash_meta
            else:
                table = ht_buckets(n + expired) * HT_BUCKET + P.v_ht_struct + P.v_hash_meta
            if P.v_vset and volatile > 1 and volatile <= VSET_VECTOR_MAX:
                table += J(8 * volatile + 8, q16)   # a bigger volatile set: priced by the scanner
        else:
            table = ht_buckets(n) * HT_BUCKET + P.v_ht_struct
        if enc == E_HASHTABLE:
            return obj + table + mem_el + mem_val
        if P.v_skiplist_embeds:
            return obj + table + mem_el + ZSET_STRUCT + ZSKIPLIST_EMBEDDED
        return (obj + table + mem_el + <int64_t>nearbyint(<double>n * P.skiplist_node)
                + ZSET_STRUCT + ZSKIPLIST_OLD + P.skiplist_header_alloc)
    if enc == E_STREAM:
        return (obj + P.stream_struct + mem_el + mem_blobs + groups * P.stream_cg + pending * STREAM_NACK
                + consumers * P.stream_consumer + mem_val)
    return -1


def derive(Py_ssize_t rows, dict cols, tuple params):
    """Encoding codes (int8) and memory estimates (int64, -1 = none) for one batch."""
    cdef Params P
    (P.has_embstr, P.embstr_limit, P.listpack_era, P.old_lists, P.lists_listpack, P.sets_listpack,
     P.stream_known, P.valkey_hash2, P.valkey_flavor, P.hash_max_entries, P.hash_max_value, P.zset_max_entries,
     P.zset_max_value, P.set_max_intset_entries, P.set_max_listpack_entries,
     P.set_max_listpack_value, P.list_max_ziplist_entries, P.list_max_ziplist_value,
     P.list_max_listpack_bytes, P.zmalloc_strings, P.zmalloc_embstr, P.zmalloc_blobs,
     P.embedded_key, P.quantum16, P.dict_struct, P.quicklist_struct, P.quicklist_node,
     P.listpackex_alloc, P.key_entry_extra, P.argv_key, P.bare_skiplist,
     P.set_entries_on_collision, P.zmalloc_stream_lp, P.hfe_dict_grows, P.hash_dict_grows,
     P.stream_struct, P.stream_cg, P.stream_consumer, P.skiplist_header_alloc,
     P.skiplist_node, P.kvobj_embstr, P.redis_types, P.alloc_tracked, P.embstr_ttl,
     P.stream_nack, P.valkey, P.v_ht_struct, P.v_hash_meta, P.v_vset, P.v_embstr_limit, P.v_embstr_robj,
     P.v_embstr_min_value, P.v_embstr_max_len, P.v_key_estimate, P.v_skiplist_embeds, P.scores_shortest) = params
    cdef const uint8_t[:] kind = cols["kind"]
    cdef const uint8_t[:] rdb_type = cols["rdb_type"]
    cdef const uint8_t[:] flags = cols["flags"]
    cdef const int64_t[:] length = memoryview(cols["length"]).cast("q")
    cdef const int64_t[:] mx = memoryview(cols["max_element_bytes"]).cast("q")
    cdef const int64_t[:] nodes = memoryview(cols["nodes"]).cast("q")
    cdef const int64_t[:] blob = memoryview(cols["blob_bytes"]).cast("q")
    cdef const int64_t[:] elem = memoryview(cols["element_bytes"]).cast("q")
    cdef const int64_t[:] mem_el = memoryview(cols["mem_elements"]).cast("q")
    cdef const int64_t[:] mem_val = memoryview(cols["mem_values"]).cast("q")
    cdef const int64_t[:] mem_blobs = memoryview(cols["mem_blobs"]).cast("q")
    cdef const int64_t[:] lp = memoryview(cols["lp_bytes"]).cast("q")
    cdef const int64_t[:] lp70 = memoryview(cols["lp_bytes_70"]).cast("q")
    cdef const int64_t[:] zl = memoryview(cols["zl_bytes"]).cast("q")
    cdef const int64_t[:] intset = memoryview(cols["intset_bytes"]).cast("q")
    cdef bint convs = cols.get("conv_at") is not None
    cdef const int64_t[:] conv = memoryview(cols["conv_at"] if convs else bytes(8)).cast("q")
    cdef const int32_t[:] koff = memoryview(cols["key_offsets"]).cast("i")
    cdef bint streams = cols["stream_groups"] is not None
    cdef const int64_t[:] groups = memoryview(cols["stream_groups"] if streams else bytes(8)).cast("q")
    cdef const int64_t[:] consumers = memoryview(cols["stream_consumers"] if streams else bytes(8)).cast("q")
    cdef const int64_t[:] pending = memoryview(cols["stream_pending"] if streams else bytes(8)).cast("q")
    raw_valid = cols["key_raw_valid"]
    cdef bint any_raw = raw_valid is not False
    cdef bint all_raw = raw_valid is None
    cdef const uint8_t[:] raw_bits = raw_valid if (any_raw and not all_raw) else b"\x00"
    cdef const int32_t[:] roff = memoryview(cols["key_raw_offsets"] if any_raw else bytes(4)).cast("i")
    expire_valid = cols["expire_valid"]
    cdef bint any_exp = expire_valid is not False
    cdef bint all_exp = expire_valid is None
    cdef const uint8_t[:] exp_bits = expire_valid if (any_exp and not all_exp) else b"\x00"
    cdef bint expires
    cdef bint hfe_any = cols["hash_fields_with_ttl"] is not None
    cdef const int64_t[:] hfe = memoryview(cols["hash_fields_with_ttl"] if hfe_any else bytes(8)).cast("q")
    cdef bint exp_any = cols["hash_fields_expired"] is not None
    cdef const int64_t[:] expired = memoryview(cols["hash_fields_expired"] if exp_any else bytes(8)).cast("q")
    cdef bytearray enc_out = bytearray(rows)
    cdef bytearray mem_out = bytearray(rows * 8)
    cdef int8_t* e = <int8_t*>PyByteArray_AS_STRING(enc_out)
    cdef int64_t* m = <int64_t*>PyByteArray_AS_STRING(mem_out)
    cdef Py_ssize_t i
    cdef int code
    cdef int64_t klen, n
    cdef bint raw
    with nogil:
        for i in range(rows):
            raw = any_raw and (all_raw or (raw_bits[i >> 3] >> (i & 7)) & 1)
            klen = (roff[i + 1] - roff[i]) if raw else (koff[i + 1] - koff[i])
            n = length[i]
            expires = any_exp and (all_exp or (exp_bits[i >> 3] >> (i & 7)) & 1)
            code = encoding_of(&P, kind[i], rdb_type[i], flags[i], n, mx[i], nodes[i], blob[i], elem[i], klen,
                               expires)
            e[i] = code
            if P.valkey:
                m[i] = valkey_memory_of(&P, code, kind[i], rdb_type[i], klen, expires, n,
                                        expired[i] if exp_any else 0, hfe[i] if hfe_any else 0, nodes[i],
                                        mem_el[i], mem_val[i], mem_blobs[i], groups[i] if streams else 0,
                                        consumers[i] if streams else 0, pending[i] if streams else 0,
                                        conv[i] if convs else -1)
            else:
                m[i] = memory_of(&P, code, kind[i], rdb_type[i], klen, n, nodes[i], blob[i], mem_el[i],
                                 mem_val[i], mem_blobs[i], groups[i] if streams else 0,
                                 consumers[i] if streams else 0, pending[i] if streams else 0,
                                 lp[i], lp70[i], zl[i], intset[i], conv[i] if convs else -1, expires)
    return bytes(enc_out), bytes(mem_out)
