# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled RDB scanner: bytes in, per-key column buffers out.

This is the fast twin of ``rdbscan.scanner.pyscanner`` (same class name, same
methods, same results; the tests hold them to it).  It reads the stream
through a refillable window, never holds a whole value (strings and
hashtable elements are skipped as they pass; only listpack, ziplist,
intset and zipmap blobs are held while they are walked), and fills plain
C arrays that ``rdbscan.scanner.records`` wraps as Arrow buffers.
"""

include "_format.pxi"

cimport cython


from libc.stdint cimport uint8_t, uint16_t, int16_t, uint32_t, int32_t, int64_t, uint64_t
from libc.string cimport memcpy, memmove, memchr, memcmp, memset
from libc.stdio cimport snprintf
from libc.stdlib cimport strtod
from libc.math cimport INFINITY

include "_alloc.pxi"
from libc.stdlib cimport malloc, calloc, realloc, free, qsort
from cpython.bytes cimport PyBytes_FromStringAndSize
from array import array
from cpython.bytearray cimport PyByteArray_AS_STRING

from rdbscan.errors import RDBFormatError, RDBTruncatedError, RDBChecksumError
from rdbscan.scanner.format import module_type_name, module_encver
from rdbscan.scanner._common import (header_info, escape_key, crc64_table, crc16_table, pre_ga_library,
                                     record_aux, snapshot_ms, unknown_message, value_types, key_meta_class_name,
                                     CRC64_POLY_REFLECTED)
from rdbscan.model.valkey import vset_bytes

from libc.stdlib cimport strtod
from libc.math cimport isnan, isinf

DEF WINDOW = 1 << 20          # bytes asked of the source per read
DEF SMALL_INT_LEN = 20        # longest string that can parse as a 64-bit integer
DEF SIZING_LUT = 4096         # element lengths covered by the sizing tables
DEF PAIR_FIELDS = 128         # field lengths covered by the optional hash pair table
DEF MAX_X = 7                 # what-if sizing slots besides the scan's own (set_slots)
DEF SCORE_EXACT_MAX = 1024    # zsets up to this size get their scores' text lengths exactly (printf is slow)
DEF SCORE_TEXT_GUESS = 18     # for bigger ones: a fractional score's text, typically 17 digits and a dot
DEF MAX_CONV = 8              # value limits whose conversion points are tracked (set_conversions)
DEF RESP_DIGITS_MAX = 18      # digits of an UPDATE opcode's "*<argc>" / "$<len>" (more: corrupt)
DEF KEY_TEXT_MAX = 1 << 30    # longest key (as text); a batch also ends once its keys reach this
DEF ROLES = 5                 # sizing roles: field, value, field with TTL, set member, zset member
DEF ROLE_SET = 3
DEF ROLE_ZSET = 4
DEF IDMP_PRODUCER = 24        # Redis 8.6 sizeof(idmpProducer)
DEF IDMP_ENTRY = 32           # sizeof(idmpEntry) before its inline IID
DEF ALLOCATOR_CODES = 3       # rdbscan.model.alloc: jemalloc, jemalloc-16, libc

cdef uint64_t CRC64[8][256]
cdef uint64_t CRC64_SHIFT[8][256]   # advance a CRC over CRC_BLOCK zero bytes
cdef uint64_t CRC64_ZEROS[64][64]   # GF(2) operators: advance a CRC over 2^k zero bytes
cdef uint16_t CRC16[256]
DEF CRC_BLOCK = 8192


cdef inline uint64_t crc64_word(uint64_t v) noexcept nogil:
    return (CRC64[7][v & 0xff] ^ CRC64[6][(v >> 8) & 0xff] ^
            CRC64[5][(v >> 16) & 0xff] ^ CRC64[4][(v >> 24) & 0xff] ^
            CRC64[3][(v >> 32) & 0xff] ^ CRC64[2][(v >> 40) & 0xff] ^
            CRC64[1][(v >> 48) & 0xff] ^ CRC64[0][v >> 56])


cdef inline uint64_t crc64_slice8(uint64_t crc, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # Slice-by-8 over the reflected Jones polynomial Redis uses (crc64.c).
    cdef uint64_t v
    while n >= 8:
        memcpy(&v, p, 8)
        crc = crc64_word(v ^ crc)
        p += 8
        n -= 8
    while n > 0:
        crc = CRC64[0][(crc ^ p[0]) & 0xff] ^ (crc >> 8)
        p += 1
        n -= 1
    return crc


cdef inline uint64_t crc64_shift(uint64_t c) noexcept nogil:
    return (CRC64_SHIFT[0][c & 0xff] ^ CRC64_SHIFT[1][(c >> 8) & 0xff] ^
            CRC64_SHIFT[2][(c >> 16) & 0xff] ^ CRC64_SHIFT[3][(c >> 24) & 0xff] ^
            CRC64_SHIFT[4][(c >> 32) & 0xff] ^ CRC64_SHIFT[5][(c >> 40) & 0xff] ^
            CRC64_SHIFT[6][(c >> 48) & 0xff] ^ CRC64_SHIFT[7][c >> 56])


cdef uint64_t crc64_update(uint64_t crc, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # Three blocks hashed side by side keep three table-lookup chains in
    # flight; the CRC is linear, so crc(A+B+C) = shift(shift(a) ^ b) ^ c.
    cdef uint64_t a, b, c, va, vb, vc
    cdef Py_ssize_t i
    while n >= 3 * CRC_BLOCK:
        a = crc
        b = 0
        c = 0
        for i in range(0, CRC_BLOCK, 8):
            memcpy(&va, p + i, 8)
            memcpy(&vb, p + CRC_BLOCK + i, 8)
            memcpy(&vc, p + 2 * CRC_BLOCK + i, 8)
            a = crc64_word(va ^ a)
            b = crc64_word(vb ^ b)
            c = crc64_word(vc ^ c)
        crc = crc64_shift(crc64_shift(a) ^ b) ^ c
        p += 3 * CRC_BLOCK
        n -= 3 * CRC_BLOCK
    return crc64_slice8(crc, p, n)


cdef inline uint64_t gf2_times(const uint64_t* mat, uint64_t vec) noexcept nogil:
    cdef uint64_t out = 0
    cdef int i = 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


cdef void gf2_square(uint64_t* out, const uint64_t* mat) noexcept nogil:
    cdef int i
    for i in range(64):
        out[i] = gf2_times(mat, mat[i])


cdef void _init_combine():
    # One zero bit shifts the reflected register right, folding in the
    # polynomial when the low bit falls out; square up to one byte, then
    # keep squaring: operator k advances over 2^k zero bytes.
    cdef uint64_t a[64]
    cdef uint64_t b[64]
    cdef int i, k
    a[0] = CRC64_POLY_REFLECTED
    for i in range(1, 64):
        a[i] = (<uint64_t>1) << (i - 1)
    gf2_square(b, a)                  # 2 bits
    gf2_square(a, b)                  # 4 bits
    gf2_square(CRC64_ZEROS[0], a)     # 8 bits: one byte
    for k in range(1, 64):
        gf2_square(CRC64_ZEROS[k], CRC64_ZEROS[k - 1])


cdef uint64_t crc64_combine_c(uint64_t crc1, uint64_t crc2, uint64_t len2) noexcept nogil:
    cdef int k = 0
    while len2:
        if len2 & 1:
            crc1 = gf2_times(CRC64_ZEROS[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


def crc64_combine(uint64_t crc1, uint64_t crc2, uint64_t len2):
    """CRC64 of A followed by B, from ``crc1`` = CRC64(A), ``crc2`` = CRC64(B) and ``len2`` = len(B)."""
    return crc64_combine_c(crc1, crc2, len2)


cdef void _init_tables():
    cdef int i, j, k
    cdef uint64_t col[64]
    cdef uint8_t* zeros
    t64 = crc64_table()
    for j in range(8):
        for i in range(256):
            CRC64[j][i] = t64[j][i]
    t16 = crc16_table()
    for i in range(256):
        CRC16[i] = t16[i]
    # Advancing over CRC_BLOCK zero bytes is linear: find where each bit
    # goes, then fill the byte tables by XOR of those columns.
    zeros = <uint8_t*>calloc(CRC_BLOCK, 1)
    for i in range(64):
        col[i] = crc64_slice8((<uint64_t>1) << i, zeros, CRC_BLOCK)
    free(zeros)
    for k in range(8):
        CRC64_SHIFT[k][0] = 0
        for i in range(1, 256):
            j = 0
            while not (i >> j) & 1:
                j += 1
            CRC64_SHIFT[k][i] = CRC64_SHIFT[k][i & (i - 1)] ^ col[8 * k + j]


_init_tables()
_init_combine()


def crc64(data, uint64_t crc=0):
    """CRC64 (Jones, reflected) of ``data`` continuing from ``crc``, as Redis computes it."""
    cdef const uint8_t[:] view = data
    if view.shape[0] == 0:
        return crc
    return crc64_update(crc, &view[0], view.shape[0])


cdef inline uint16_t crc16(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint16_t crc = 0
    cdef Py_ssize_t i
    for i in range(n):
        crc = (crc << 8) ^ CRC16[((crc >> 8) ^ p[i]) & 0xff]
    return crc


cdef inline uint16_t key_slot(const uint8_t* key, Py_ssize_t n) noexcept nogil:
    # Redis Cluster: hash only the part between the first '{' and the next '}'
    # when it is not empty (cluster.c keyHashSlot).
    cdef Py_ssize_t s, e
    for s in range(n):
        if key[s] == 123:  # '{'
            for e in range(s + 1, n):
                if key[e] == 125:  # '}'
                    if e == s + 1:
                        break
                    return crc16(key + s + 1, e - s - 1) & 16383
            break
    return crc16(key, n) & 16383


cdef inline int utf8_valid(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef uint8_t c, c1
    cdef int need
    while i < n:
        c = p[i]
        if c < 0x80:
            i += 1
            continue
        if c >= 0xC2 and c <= 0xDF:
            need = 1
        elif c >= 0xE0 and c <= 0xEF:
            need = 2
        elif c >= 0xF0 and c <= 0xF4:
            need = 3
        else:
            return 0
        if i + need >= n:
            return 0
        c1 = p[i + 1]
        if (c1 & 0xC0) != 0x80:
            return 0
        if c == 0xE0 and c1 < 0xA0:
            return 0
        if c == 0xED and c1 > 0x9F:
            return 0
        if c == 0xF0 and c1 < 0x90:
            return 0
        if c == 0xF4 and c1 > 0x8F:
            return 0
        if need >= 2 and (p[i + 2] & 0xC0) != 0x80:
            return 0
        if need == 3 and (p[i + 3] & 0xC0) != 0x80:
            return 0
        i += need + 1
    return 1


def allocation_size(int64_t n, int quantum16=0):
    """The allocator's usable size for ``n`` bytes (code: rdbscan.model.alloc; 1 = jemalloc-16)."""
    return jemalloc_size(n, quantum16)


cdef struct RaxCount:
    # Nodes of a Redis radix tree built by inserting 16-byte stream IDs in
    # ascending order (how the loader rebuilds a stream and its PELs).  Only
    # the rightmost path matters: each new key branches off it at its common
    # prefix with the previous key, splitting a compressed node there or
    # adding a child to a branch node (rax.c raxGenericInsert).
    int64_t nodes
    int nseg
    int seg_start[STREAM_ID_BYTES + 1]
    int seg_end[STREAM_ID_BYTES + 1]
    bint seg_compressed[STREAM_ID_BYTES + 1]
    uint8_t prev[STREAM_ID_BYTES]


cdef inline void rax_reset(RaxCount* r) noexcept nogil:
    r.nodes = 1          # an empty tree still has its root
    r.nseg = 0


cdef void rax_add(RaxCount* r, const uint8_t* key) noexcept nogil:
    cdef int j = 0, i, s, e, rem
    if r.nseg == 0:
        # The root becomes one compressed node of 16 chars, plus the leaf.
        r.nodes = 2
        r.nseg = 1
        r.seg_start[0] = 0
        r.seg_end[0] = STREAM_ID_BYTES
        r.seg_compressed[0] = 1
        memcpy(r.prev, key, STREAM_ID_BYTES)
        return
    while j < STREAM_ID_BYTES - 1 and key[j] == r.prev[j]:
        j += 1
    i = 0
    while i < r.nseg - 1 and not (r.seg_start[i] <= j < r.seg_end[i]):
        i += 1
    s = r.seg_start[i]
    e = r.seg_end[i]
    r.nseg = i
    if r.seg_compressed[i] and e - s >= 2:
        if j > s:                       # trimmed prefix keeps the chars before j
            r.seg_start[r.nseg] = s
            r.seg_end[r.nseg] = j
            r.seg_compressed[r.nseg] = j - s >= 2
            r.nseg += 1
            r.nodes += 1
        if e - j - 1 > 0:               # postfix after the split char
            r.nodes += 1
    r.seg_start[r.nseg] = j             # the branch node at j
    r.seg_end[r.nseg] = j + 1
    r.seg_compressed[r.nseg] = 0
    r.nseg += 1
    rem = STREAM_ID_BYTES - j - 1
    if rem >= 1:                        # new child holding the rest, then the leaf
        r.seg_start[r.nseg] = j + 1
        r.seg_end[r.nseg] = STREAM_ID_BYTES
        r.seg_compressed[r.nseg] = rem >= 2
        r.nseg += 1
        r.nodes += 2
    else:
        r.nodes += 1
    memcpy(r.prev, key, STREAM_ID_BYTES)


cdef struct RaxSizer:
    # _common.RaxSizer in C: the bytes a Redis 8.4+ radix tree allocates
    # for keys inserted in ascending order, under each allocator of amask
    # (the tree's shape does not depend on it).  The rightmost path is kept
    # as parallel arrays; the previous key is copied aside.
    int64_t done[ALLOCATOR_CODES]
    Py_ssize_t npath, cap
    int64_t* depth
    uint8_t* comp
    int64_t* cnt
    uint8_t* iskey
    uint8_t* prev
    Py_ssize_t prev_len, prev_cap
    bint has_prev
    int amask            # allocator codes (bits) the bytes are wanted for
    bint nullval         # keys carry NULL values (8.4 pel_by_time): no value pointers


cdef inline int64_t rs_node(bint comp, int64_t n, bint iskey) noexcept nogil:
    # _common.rax_node_bytes: a node's request, before its allocator size class.
    cdef int64_t size = (4 + n + 7) & ~7
    size += 8 if comp else 8 * n
    if iskey:
        size += 8
    return size


cdef inline void rs_final(RaxSizer* r, int64_t size) noexcept nogil:
    # A node off the rightmost path, counted under each allocator.
    cdef int a
    for a in range(ALLOCATOR_CODES):
        if (r.amask >> a) & 1:
            r.done[a] += jemalloc_size(size, a)


cdef void rs_free(RaxSizer* r) noexcept nogil:
    free(r.depth); free(r.comp); free(r.cnt); free(r.iskey); free(r.prev)


cdef inline void rs_reset(RaxSizer* r, int amask, bint nullval=0) noexcept nogil:
    cdef int a
    for a in range(ALLOCATOR_CODES):
        r.done[a] = 0
    r.npath = 0
    r.has_prev = 0
    r.prev_len = 0
    r.amask = amask
    r.nullval = nullval


cdef int rs_reserve(RaxSizer* r, Py_ssize_t klen) except -1 nogil:
    # Room for a path of klen + 3 nodes and a copy of the key.
    cdef Py_ssize_t need = klen + 3
    if need > r.cap:
        r.depth = <int64_t*>realloc(r.depth, need * 8)
        r.cnt = <int64_t*>realloc(r.cnt, need * 8)
        r.comp = <uint8_t*>realloc(r.comp, need)
        r.iskey = <uint8_t*>realloc(r.iskey, need)
        if r.depth == NULL or r.cnt == NULL or r.comp == NULL or r.iskey == NULL:
            with gil: raise MemoryError()
        r.cap = need
    if klen > r.prev_cap:
        r.prev = <uint8_t*>realloc(r.prev, klen if klen > 16 else 16)
        if r.prev == NULL:
            with gil: raise MemoryError()
        r.prev_cap = klen if klen > 16 else 16
    return 0


cdef inline void rs_push(RaxSizer* r, int64_t depth, bint comp, int64_t n, bint iskey) noexcept nogil:
    r.depth[r.npath] = depth
    r.comp[r.npath] = comp
    r.cnt[r.npath] = n
    r.iskey[r.npath] = iskey
    r.npath += 1


cdef int rs_add(RaxSizer* r, const uint8_t* key, Py_ssize_t klen) except -1 nogil:
    cdef Py_ssize_t j = 0, limit, i, k
    cdef int64_t d, n, rem
    cdef bint comp, isk
    rs_reserve(r, klen)
    if not r.has_prev:
        r.npath = 0
        if klen > 0:
            rs_push(r, 0, 1, klen, 0)
        rs_push(r, klen, 0, 0, 1)
    else:
        limit = r.prev_len if r.prev_len < klen else klen
        while j < limit and key[j] == r.prev[j]:
            j += 1
        if j == r.prev_len:
            # The previous key is a prefix: its end node grows the rest.
            r.comp[r.npath - 1] = 1
            r.cnt[r.npath - 1] = klen - j
            rs_push(r, klen, 0, 0, 1)
        else:
            i = r.npath - 1
            while r.depth[i] > j:
                i -= 1
            for k in range(i + 1, r.npath):          # the old continuation is final
                rs_final(r, rs_node(r.comp[k], r.cnt[k], r.iskey[k] and not r.nullval))
            r.npath = i + 1
            d = r.depth[i]
            comp = r.comp[i]
            n = r.cnt[i]
            isk = r.iskey[i]
            if not comp or n == 1:
                r.comp[i] = 0
                r.cnt[i] = (n if not comp else 1) + 1
            else:
                rem = d + n - j - 1
                if rem > 0:                          # the old remainder, off the path
                    rs_final(r, rs_node(1, rem, 0))
                if j > d:
                    r.cnt[i] = j - d
                    rs_push(r, j, 0, 2, 0)
                else:
                    r.comp[i] = 0
                    r.cnt[i] = 2
            if klen > j + 1:
                rs_push(r, j + 1, 1, klen - j - 1, 0)
            rs_push(r, klen, 0, 0, 1)
    memcpy(r.prev, key, klen)
    r.prev_len = klen
    r.has_prev = 1
    return 0


cdef int64_t rs_bytes(RaxSizer* r, int a) noexcept nogil:
    # The struct, the final nodes and the rightmost path (an empty tree: its
    # head) under allocator a.
    cdef int64_t total = jemalloc_size(32, a)
    cdef Py_ssize_t k
    if not r.has_prev:
        return total + jemalloc_size(8, a)
    total += r.done[a]
    for k in range(r.npath):
        total += jemalloc_size(rs_node(r.comp[k], r.cnt[k], r.iskey[k] and not r.nullval), a)
    return total


cdef inline void rs_sum(RaxSizer* r, int64_t* out) noexcept nogil:
    # out[a] += the tree's bytes, for every allocator a of its mask.
    cdef int a
    for a in range(ALLOCATOR_CODES):
        if (r.amask >> a) & 1:
            out[a] += rs_bytes(r, a)


cdef int cmp_id(const void* a, const void* b) noexcept nogil:
    return memcmp(a, b, STREAM_ID_BYTES)


cdef int cmp_time_key(const void* a, const void* b) noexcept nogil:
    return memcmp(a, b, PEL_TIME_KEY_BYTES)


cdef int grow_buffer(uint8_t** buf, Py_ssize_t* cap, Py_ssize_t need, Py_ssize_t first) except -1 nogil:
    # Room for need bytes in *buf (capacity *cap), doubling from first.
    cdef Py_ssize_t size
    cdef uint8_t* newp
    if need <= cap[0]:
        return 0
    size = cap[0] * 2 if cap[0] else first
    while size < need:
        size *= 2
    newp = <uint8_t*>realloc(buf[0], size)
    if newp == NULL:
        with gil: raise MemoryError()
    buf[0] = newp
    cap[0] = size
    return 0


cdef inline int64_t sds_alloc_size(int64_t n, int q16) noexcept nogil:
    # pyscanner.sds_alloc_size: Redis 8.4+ sdsAllocSize of a new n-byte sds.
    if 0 < n < 32:
        return n + 2
    cdef int64_t hdr = 3 if n < 256 else 5 if n < 65536 else 9 if n < 4294967296LL else 17
    return jemalloc_size(hdr + n + 1, q16)


cdef inline bint lzf_claim_impossible(int64_t clen, int64_t ulen) noexcept nogil:
    # An LZF back-reference expands 3 bytes into at most 264: ulen may not
    # exceed clen * 88 + 64 (compared without overflowing).
    return ulen < 0 or (ulen > 64 and (ulen - 65) // 88 >= clen)


cdef inline int64_t digits(int64_t v) noexcept nogil:
    # Length of the decimal text of v (what Redis reports for int elements).
    cdef int64_t n = 1
    cdef uint64_t u
    if v < 0:
        n = 2
        u = <uint64_t>(-(v + 1)) + 1
    else:
        u = <uint64_t>v
    while u >= 10:
        u //= 10
        n += 1
    return n


cdef inline bint is_ws(uint8_t c) noexcept nogil:
    return c == 32 or c == 9 or c == 10 or c == 13


cdef bint starts(const uint8_t* h, Py_ssize_t n, const char* magic, Py_ssize_t m) noexcept nogil:
    return n >= m and memcmp(h, magic, m) == 0


cdef bint starts_lower(const uint8_t* h, Py_ssize_t n, const char* magic, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint8_t c
    if n < m:
        return False
    for i in range(m):
        c = h[i]
        if 65 <= c <= 90:
            c += 32
        if c != <uint8_t>magic[i]:
            return False
    return True


cdef int sniff_format(const uint8_t* h, Py_ssize_t n) noexcept nogil:
    # The pure twin's sniff_format, over the first (at most SNIFF_BYTES) bytes.
    cdef Py_ssize_t i = 0, j
    cdef int nxt
    cdef uint8_t c
    if n == 0:
        return FORMAT_EMPTY
    if starts(h, n, b"\x1f\x8b", 2):
        return FORMAT_GZIP
    if starts(h, n, b"\x28\xb5\x2f\xfd", 4):
        return FORMAT_ZSTD
    if starts(h, n, b"\x04\x22\x4d\x18", 4):
        return FORMAT_LZ4
    if n >= 2 and h[0] == 0x78 and (h[1] == 0x01 or h[1] == 0x9C or h[1] == 0xDA):
        return FORMAT_ZLIB
    if starts(h, n, b"\xff\x06\x00\x00sNaPpY", 10):
        return FORMAT_SNAPPY
    if n >= 2 and h[0] == 0x80 and 2 <= h[1] <= 5:
        return FORMAT_PICKLE
    if starts(h, n, b"\xac\xed\x00\x05", 4):
        return FORMAT_JAVA
    while i < n and is_ws(h[i]):
        i += 1
    if i < n:
        j = i + 1
        while j < n and is_ws(h[j]):
            j += 1
        nxt = h[j] if j < n else -1
        c = h[i]
        if c == 0x7B and (nxt == -1 or nxt == 34 or nxt == 125):
            return FORMAT_JSON
        if c == 0x5B and (nxt == -1 or nxt == 123 or nxt == 91 or nxt == 34 or nxt == 45 or
                          (48 <= nxt <= 57) or nxt == 93 or nxt == 116 or nxt == 102 or nxt == 110):
            return FORMAT_JSON
        if c == 0x3C:
            if starts_lower(h + i, n - i, b"<?xml", 5):
                return FORMAT_XML
            if starts_lower(h + i, n - i, b"<!doctype html", 14) or starts_lower(h + i, n - i, b"<html", 5):
                return FORMAT_HTML
    for i in range(n):
        c = h[i]
        if (c < 0x20 and not is_ws(c)) or c == 0x7F:
            return FORMAT_BINARY
    return FORMAT_TEXT


cdef enum:
    LZF_OK = 0
    LZF_LITERAL_OVERFLOW = 1
    LZF_TRUNCATED_REF = 2
    LZF_REF_OUT_OF_RANGE = 3
    LZF_SHORT = 4


cdef inline int lzf_decode(const uint8_t* ip, Py_ssize_t clen, uint8_t* out, Py_ssize_t ulen,
                           Py_ssize_t* produced) noexcept nogil:
    # Decompress LZF (liblzf lzf_d.c) into exactly ulen bytes: LZF_OK, or
    # what is wrong with the data (produced: bytes written when it stopped).
    cdef const uint8_t* in_end = ip + clen
    cdef uint8_t* op = out
    cdef uint8_t* out_end = out + ulen
    cdef uint8_t* ref
    cdef unsigned int ctrl, ln
    cdef int err = LZF_OK
    while ip < in_end:
        ctrl = ip[0]
        ip += 1
        if ctrl < 32:
            ln = ctrl + 1
            if ip + ln > in_end or op + ln > out_end:
                err = LZF_LITERAL_OVERFLOW
                break
            memcpy(op, ip, ln)
            op += ln
            ip += ln
        else:
            ln = ctrl >> 5
            ref = op - ((ctrl & 0x1f) << 8) - 1
            if ip >= in_end:
                err = LZF_TRUNCATED_REF
                break
            if ln == 7:
                ln += ip[0]
                ip += 1
                if ip >= in_end:
                    err = LZF_TRUNCATED_REF
                    break
            ref -= ip[0]
            ip += 1
            ln += 2
            if op + ln > out_end or ref < out:
                err = LZF_REF_OUT_OF_RANGE
                break
            if op - ref >= ln:
                memcpy(op, ref, ln)
                op += ln
            else:
                # Overlapping run (a repeated pattern): byte by byte.
                while ln > 0:
                    op[0] = ref[0]
                    op += 1
                    ref += 1
                    ln -= 1
    produced[0] = op - out
    if err == LZF_OK and op != out_end:
        err = LZF_SHORT
    return err


cdef inline int is_canonical_int(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # Redis string2ll: optional '-', no leading zero, no '+', fits in int64.
    cdef Py_ssize_t i = 0
    cdef uint64_t v = 0, limit
    cdef int neg = 0
    if n == 0 or n > SMALL_INT_LEN:
        return 0
    if n == 1 and p[0] == 48:
        return 1
    if p[0] == 45:  # '-'
        neg = 1
        i = 1
        if n == 1:
            return 0
    if p[i] < 49 or p[i] > 57:
        return 0
    while i < n:
        if p[i] < 48 or p[i] > 57:
            return 0
        if v > 1844674407370955161ULL:
            return 0
        v = v * 10
        if v > 18446744073709551615ULL - (p[i] - 48):
            return 0
        v += p[i] - 48
        i += 1
    limit = 9223372036854775808ULL if neg else 9223372036854775807ULL
    return 1 if v <= limit else 0


cdef inline int64_t lp_backlen(int64_t entry) noexcept nogil:
    # pyscanner._lp_backlen: a listpack entry's back-length bytes.
    if entry <= 127: return 1
    if entry < 16383: return 2
    if entry < 2097151: return 3
    if entry < 268435455: return 4
    return 5


cdef inline int64_t canonical_value(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # The value of a canonical integer's text (is_canonical_int said yes; wraps like C for -2^63).
    cdef Py_ssize_t i = 1 if p[0] == 45 else 0
    cdef uint64_t v = 0
    while i < n:
        v = v * 10 + (p[i] - 48)
        i += 1
    return -<int64_t>v if p[0] == 45 else <int64_t>v


# --- what the loader would build: listpack / ziplist / intset sizes -------
cdef inline int64_t lp_with_backlen(int64_t l) noexcept nogil:
    # A listpack entry of l bytes plus its back-length (lpEncodeBacklen).
    return l + lp_backlen(l)


cdef inline int64_t lp_int_entry(int64_t v) noexcept nogil:
    # A listpack integer entry with its back-length (lpEncodeIntegerGetType).
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


cdef inline int64_t lp_str_entry(int64_t n) noexcept nogil:
    # A listpack string entry with its back-length (lpEncodeString).
    if n < 64:
        return lp_with_backlen(1 + n)
    if n < 4096:
        return lp_with_backlen(2 + n)
    return lp_with_backlen(5 + n)


cdef inline int64_t zl_int_body(int64_t v) noexcept nogil:
    # A ziplist integer entry without its prevlen field (zipTryEncoding).
    if 0 <= v <= 12:
        return 1
    if -128 <= v <= 127:
        return 2
    if -32768 <= v <= 32767:
        return 3
    if -8388608 <= v <= 8388607:
        return 4
    if -2147483648 <= v <= 2147483647:
        return 5
    return 9


cdef inline int64_t zl_str_body(int64_t n) noexcept nogil:
    # A ziplist string entry without its prevlen field (zipStoreEntryEncoding).
    if n <= 63:
        return 1 + n
    if n <= 16383:
        return 2 + n
    return 5 + n


cdef inline int64_t intset_width(int64_t v) noexcept nogil:
    if -32768 <= v <= 32767:
        return 2
    if -2147483648 <= v <= 2147483647:
        return 4
    return 8


cdef inline bint double_to_ll(double d, int64_t* out) noexcept nogil:
    # Redis double2ll: integral and within +-LLONG_MAX/2.
    cdef int64_t ll
    if d < -4611686018427387903.0 or d > 4611686018427387903.0 or d != d:
        return 0
    ll = <int64_t>d
    if <double>ll == d:
        out[0] = ll
        return 1
    return 0


cdef int64_t shortest_text_len(double d) noexcept nogil:
    # Length of 7.2+ d2string's fpconv_dtoa text: the shortest digits that
    # read back as d, laid out as fpconv's emit_digits does.
    cdef char buf[40]
    cdef int p, n, i, nd = 0, e_at = 0, E, K, ex, off
    cdef bint neg = d < 0
    # The shortest digits that read back: a 15-digit rounding stripped of
    # its trailing zeros is the shortest whenever one of 15 digits or fewer
    # reads back (it is that decimal); else 16, else 17 digits.
    for p in range(14, 17):
        n = snprintf(buf, sizeof(buf), "%.*e", p, d)
        if strtod(buf, NULL) == d:
            break
    for i in range(n):
        if buf[i] == 101:        # 'e'
            e_at = i
            break
    E = 0
    for i in range(e_at + 2, n):
        E = E * 10 + (buf[i] - 48)
    if buf[e_at + 1] == 45:
        E = -E
    for i in range(e_at):
        if 48 <= buf[i] <= 57:
            nd += 1
    i = e_at - 1
    while nd > 1 and buf[i] == 48:   # trailing zeros of the mantissa
        nd -= 1
        i -= 1
    K = E - (nd - 1)
    ex = E if E >= 0 else -E
    if K >= 0 and ex < nd + 7:
        return neg + nd + K
    if K < 0 and (K > -7 or ex < 4):
        off = nd + K
        return neg + (nd + 2 - off if off <= 0 else nd + 1)
    if nd > 18 - neg:
        nd = 18 - neg
    return neg + 1 + (nd if nd > 1 else 0) + 2 + (3 if ex > 99 else (2 if ex > 9 else 1))


cdef inline int64_t le_int(const uint8_t* p, int n) noexcept nogil:
    # Little-endian signed integer of n bytes (n = 1..8).
    cdef uint64_t v = 0
    cdef int i
    for i in range(n):
        v |= (<uint64_t>p[i]) << (8 * i)
    if n < 8 and (v >> (8 * n - 1)) & 1:
        v |= (~0ULL) << (8 * n)
    return <int64_t>v


cdef void* _grow(void* p, Py_ssize_t old, Py_ssize_t new) except NULL:
    # Grow an int64 array to `new` entries, zeroing the added ones.
    cdef int64_t* q = <int64_t*>realloc(p, new * 8)
    cdef Py_ssize_t i
    if q == NULL:
        raise MemoryError()
    for i in range(old, new):
        q[i] = 0
    return q


cdef inline Py_ssize_t lp_first(const uint8_t* p, Py_ssize_t n, int64_t* value, bint* isint) noexcept nogil:
    # A listpack's first entry (pyscanner._lp_first): its bytes with the
    # back-length, 0 when there is none; its value when it is an integer.
    cdef const uint8_t* e = p + LISTPACK_HEADER
    cdef uint8_t c
    cdef int64_t ln
    value[0] = 0
    isint[0] = 1
    if n < LISTPACK_HEADER + 2 or e[0] == LISTPACK_END:
        isint[0] = 0
        return 0
    c = e[0]
    if c < 0x80:
        value[0] = c
        ln = 1
    elif (c & 0xC0) == 0x80:
        ln = 1 + (c & 0x3F)
        isint[0] = 0
    elif (c & 0xE0) == 0xC0:
        value[0] = ((c & 0x1F) << 8) | e[1]
        if value[0] >= 4096:
            value[0] -= 8192
        ln = 2
    elif (c & 0xF0) == 0xE0:
        ln = 2 + (((c & 0x0F) << 8) | e[1])
        isint[0] = 0
    elif c == 0xF0:
        ln = 5 + (le_int(e + 1, 4) & 0xFFFFFFFFLL)
        isint[0] = 0
    elif c >= 0xF1 and c <= 0xF4:
        ln = 3 if c == 0xF1 else 4 if c == 0xF2 else 5 if c == 0xF3 else 9
        value[0] = le_int(e + 1, <int>(ln - 1))
    else:
        isint[0] = 0
        return 0
    return ln + lp_backlen(ln)


cdef int64_t float_text_len(double d) noexcept nogil:
    # pyscanner.float_text_len: the length of the shortest round-trip
    # decimal text of an array float element, written without an exponent.
    cdef char buf[40]
    cdef int p = 1, exp, sign
    cdef char* mark
    if isnan(d):
        return 3
    if isinf(d):
        return 4 if d < 0 else 3
    while p < 17:
        snprintf(buf, sizeof(buf), "%.*e", p - 1, d)
        if strtod(buf, NULL) == d:
            break
        p += 1
    snprintf(buf, sizeof(buf), "%.*e", p - 1, d)
    mark = buf
    while mark[0] != 101:  # 'e'
        mark += 1
    exp = <int>strtod(mark + 1, NULL)
    sign = 1 if buf[0] == 45 else 0
    if exp >= 0:
        return sign + (exp + 3 if p <= exp + 1 else p + 1)
    return sign + 1 - exp + p


include "_sync.pxi"

DEF SYNC_RECORDS = 16


def find_boundary(data, Py_ssize_t start, Py_ssize_t end, int flavor, int version,
                  bint text_keys=True, int records=SYNC_RECORDS, Py_ssize_t floor=-1,
                  Py_ssize_t reach=-1):
    """The first offset in ``[start, end)`` of ``data`` (the whole dump) where records parse.

    ``records`` records in a row must parse cleanly (or reach the dump's
    EOF) for an offset to count; with ``text_keys`` their keys must also be
    printable UTF-8 of at most 1 KiB (what nearly every dump holds; a
    dump of binary or longer keys asks for False).  None when no offset in the range qualifies.  From
    ``floor`` (before ``start``, default start) a chain is followed into the
    range, which steps over tails of records that read as whole ones.
    Nothing past ``reach`` is read (default: the end of ``data``): records
    that go beyond do not count.  A heuristic for the parallel decode: the
    stitch checks every guess.
    """
    cdef const uint8_t[:] view = data
    cdef VCtx c
    cdef Py_ssize_t r
    c.n = c.file_n = view.shape[0]
    if 0 <= reach < c.n:
        c.n = reach
    if c.n == 0 or start >= end:
        return None
    c.b = &view[0]
    c.flavor = flavor
    c.version = version
    c.text_keys = text_keys
    c.scratch = NULL
    c.scratch_cap = 0
    vt = value_types(flavor, version)
    sync_types(&c, <const uint8_t*><char*>vt)
    if end > c.n:
        end = c.n
    if floor < 0 or floor > start:
        floor = start
    with nogil:
        r = sync_search(&c, floor, start, end, records)
    free(c.scratch)
    return None if r < 0 else r


@cython.final
cdef class Scanner:
    """Scan an RDB stream into column buffers, one row per key.

    ``source`` is a binary file object with ``readinto``; ``batch_size`` rows
    are gathered per :meth:`next_batch`.  File-level facts accumulate in
    :attr:`meta`; module type names (``type`` codes 6+) in
    :attr:`module_names`.
    """

    # --- input window ---
    cdef object src
    cdef bytearray buf
    cdef const uint8_t* p
    cdef Py_ssize_t pos, end, cap
    cdef int64_t base
    cdef bint src_eof
    cdef bint verify
    cdef uint64_t crc
    cdef Py_ssize_t crc_pos
    # --- blob scratch (decompressed LZF blobs) ---
    cdef uint8_t* scratch
    cdef Py_ssize_t scratch_cap
    cdef const uint8_t* blob
    cdef Py_ssize_t blob_len
    # --- file state ---
    cdef public object meta
    cdef public list module_names
    cdef dict module_codes
    cdef public int flavor
    cdef public int version
    cdef public bint done
    cdef int db
    # --- resumed scanners (parallel decode): start inside a dump, stop at an offset ---
    cdef int64_t stop_at             # stop at the first record boundary at or after this offset
    cdef int64_t start_offset        # where this scanner's bytes (and its CRC) begin
    cdef bint resumed                # started by Resume: the CRC is judged by the caller
    cdef bint db_known               # False until the first SELECTDB when resumed with db unknown
    cdef int64_t flushed             # rows handed out by flush so far
    cdef int64_t unk_rows, unk_keys, unk_expires   # rows before that SELECTDB (counted under db 0)
    cdef Py_ssize_t batch_limit      # rows that end the current batch
    cdef int64_t rec_start
    cdef int64_t pend_expire, pend_idle
    cdef int pend_freq
    cdef bint has_expire, has_idle, has_freq
    cdef bint in_key                 # a key has been read, its value not yet
    cdef int32_t cur_koff            # where that key's bytes sit in c_key_data
    cdef Py_ssize_t cur_klen
    cdef list dbs_seen               # databases that have keys, in order of appearance
    cdef list new_templates          # HASH_TEMPLATE records read by this scanner (for handoff)
    cdef int64_t* db_keys            # per-db key / expiry counts, folded into meta at flush
    cdef int64_t* db_expires
    # --- last string read ---
    cdef int64_t s_len
    cdef bint s_int
    cdef int64_t s_val               # its value when s_int
    # --- per-value facts ---
    cdef int64_t v_len, v_max, v_nodes, v_blob, v_elem, v_groups, v_consumers, v_pending, v_hfe
    cdef int64_t v_expired, v_expired_bytes  # Valkey hash fields already expired at the snapshot
    cdef int64_t v_mem[ROLES]        # sized elements: fields, values, fields with TTL, set / zset members
    cdef int64_t v_mem_blobs         # sized blobs (listpacks, ziplists, intsets, quicklist nodes)
    # what the loader would build of the elements: a listpack (7.2+ / 7.0 score
    # text), a ziplist (before 7.0), an intset (widest member; -1: not all integers)
    cdef int64_t v_lp, v_lp70, v_zl, v_intw
    cdef int64_t zl_prev             # size of the last ziplist entry built (its successor's prevlen)
    # where the loader turns a collection it started as a listpack / intset
    # into a hashtable: per value limit, the index of the first hash pair
    # with a longer field or value; for sets, of the first non-integer member
    cdef int nconv
    cdef int64_t conv_limit[MAX_CONV]
    cdef int64_t v_conv[MAX_CONV]
    cdef int64_t v_runmax
    cdef int64_t* c_conv[MAX_CONV]
    # --- sizing tables (set_sizing): allocation size by element length ---
    cdef int32_t* lut[ROLES]
    cdef int32_t* pair               # optional hash pair table (PAIR_FIELDS x 129), NULL when unused
    cdef int64_t last_field          # length of the last member/field sized, for the pair table
    cdef int64_t big_hdr[ROLES]
    cdef int64_t big_extra[ROLES]
    cdef bint big_rounded[ROLES]
    cdef int q16                     # allocator code (rdbscan.model.alloc; 1 = 16-byte quantum)
    cdef bint as_lp                  # size ziplist blobs as the listpacks a 7.0+ loader makes
    cdef bint want_zl                # also size listpack blobs as ziplists (a pre-7.0 what-if)
    cdef int64_t vset_table          # Valkey 9.0+: hashtable struct of a volatile set's buckets (0: none)
    cdef uint8_t* vset_buf           # a hash's live field expiries (int64), in order (volatile set replay)
    cdef Py_ssize_t vset_cap
    cdef int64_t expired_before      # Valkey: field expiries before this (ctime, ms) are past
    # --- what-if sizing slots (set_slots): the same sums under other rules ---
    cdef int nx
    cdef int32_t* x_lut[MAX_X * ROLES]
    cdef int32_t* x_pair[MAX_X]
    cdef int64_t x_big[MAX_X * ROLES]
    cdef int64_t x_extra[MAX_X * ROLES]
    cdef bint x_rounded[MAX_X * ROLES]
    cdef int x_alloc[MAX_X]
    cdef bint x_as_lp[MAX_X]
    cdef int x_stream[MAX_X]
    cdef int64_t x_vset[MAX_X]
    cdef int64_t x_mem[MAX_X * ROLES]
    cdef int64_t x_blobs[MAX_X]
    cdef int64_t* cx[MAX_X * 3]      # their columns: elements, values, blobs
    # --- stream sizings every slot needs, all kept in one pass (_stream_modes) ---
    cdef bint st_nodes, st_alloc, st_tables, st_time
    cdef int st_amask                # allocator codes the allocation-mode sums are wanted for (bits)
    cdef int64_t st_n0, st_n1        # counting mode: tree nodes, consumer name bytes
    cdef int64_t st_a0[ALLOCATOR_CODES]   # allocation modes, per allocator: the stream's own trees,
    cdef int64_t st_g0[ALLOCATOR_CODES]   # Redis 8.4+'s name trees and PEL index,
    cdef int64_t st_a1[ALLOCATOR_CODES]   # consumer names, IDMP producers and entries,
    cdef int64_t st_i1[ALLOCATOR_CODES]
    cdef int64_t st_t0[ALLOCATOR_CODES]   # and 8.4's per-group PEL-by-time trees
    cdef bint v_len_valid, v_stream, v_hfe_valid, v_expired_valid
    cdef int v_flags, v_kind
    # --- blob walker results ---
    cdef int64_t w_count, w_max, w_sum, w_ttl
    cdef int64_t w_lp, w_zl, w_intw  # the blob as a listpack / ziplist; intset width of its members
    cdef bint w_allint
    cdef bint w_sized                # walks also size elements as hashtable entries
    cdef int w_role                  # ... in this role (its values in the next one)
    # --- format dispatch and parser state of the newer RDB versions ---
    cdef uint8_t vtypes[256]         # value type bytes this magic and version may hold
    cdef int64_t meta_bytes          # bytes of KEY_META records before the current key
    cdef int64_t* tmpl_fields        # hash templates by id: fields (0: undefined), longest, bytes
    cdef int64_t* tmpl_longest
    cdef int64_t* tmpl_bytes
    cdef Py_ssize_t tmpl_cap
    cdef uint8_t* scratch2           # a template listpack without its id entry
    cdef Py_ssize_t scratch2_cap
    # --- Redis 8.4+ stream sizing (set_sizing(stream_alloc=STREAM_ALLOC...)) ---
    cdef int stream_alloc
    cdef RaxSizer rs_ids, rs_groups, rs_consumers, rs_union   # ID trees, name tables, the PEL index
    cdef uint8_t* pel_ids            # every PEL ID of the current stream, for the PEL index
    cdef uint8_t* time_keys          # one group's pel_by_time keys (Redis 8.4)
    cdef Py_ssize_t time_cap
    cdef uint8_t digits_buf[24]      # a name stored as an integer, as text
    cdef Py_ssize_t pel_cap
    # --- columns ---
    cdef Py_ssize_t batch_size, rows
    cdef uint16_t* c_db
    cdef uint8_t* c_kind
    cdef uint8_t* c_rdb_type
    cdef int64_t* c_length
    cdef uint8_t* c_length_valid
    cdef int64_t* c_max
    cdef int64_t* c_serialized
    cdef int64_t* c_offset
    cdef int64_t* c_expire
    cdef uint8_t* c_expire_valid
    cdef int64_t* c_idle
    cdef uint8_t* c_idle_valid
    cdef uint8_t* c_freq
    cdef uint8_t* c_freq_valid
    cdef uint16_t* c_slot
    cdef int64_t* c_groups
    cdef int64_t* c_consumers
    cdef int64_t* c_pending
    cdef uint8_t* c_stream_valid
    cdef int64_t* c_hfe
    cdef uint8_t* c_hfe_valid
    cdef int64_t* c_expired
    cdef int64_t* c_expired_bytes
    cdef uint8_t* c_expired_valid
    cdef uint8_t* c_flags
    cdef int64_t* c_nodes
    cdef int64_t* c_blob
    cdef int64_t* c_elem
    cdef int64_t* c_mem_elems
    cdef int64_t* c_mem_values
    cdef int64_t* c_mem_blobs
    cdef int64_t* c_lp
    cdef int64_t* c_lp70
    cdef int64_t* c_zl
    cdef int64_t* c_intset
    cdef int32_t* c_key_off
    cdef uint8_t* c_key_data
    cdef Py_ssize_t key_cap
    cdef int32_t* c_raw_off
    cdef uint8_t* c_raw_valid
    cdef list raw_keys

    def __cinit__(self, source, Py_ssize_t batch_size=65536, bint verify=True, resume=None):
        self.src = source
        self.cap = WINDOW
        self.buf = bytearray(self.cap)
        self.p = <const uint8_t*>PyByteArray_AS_STRING(self.buf)
        self.pos = self.end = 0
        self.base = 0
        self.verify = verify
        self.batch_size = batch_size
        self.batch_limit = batch_size
        self.stop_at = 0x7FFFFFFFFFFFFFFF
        self.db_known = 1
        self.scratch = NULL
        self.scratch2 = NULL
        self.scratch2_cap = 0
        self.tmpl_fields = self.tmpl_longest = self.tmpl_bytes = NULL
        self.tmpl_cap = 0
        memset(&self.rs_ids, 0, sizeof(RaxSizer))
        memset(&self.rs_groups, 0, sizeof(RaxSizer))
        memset(&self.rs_consumers, 0, sizeof(RaxSizer))
        memset(&self.rs_union, 0, sizeof(RaxSizer))
        self.pel_ids = NULL
        self.time_keys = NULL
        self.time_cap = 0
        self.pel_cap = 0
        self.stream_alloc = 0
        self.scratch_cap = 0
        n = batch_size
        self.c_db = <uint16_t*>malloc(n * 2)
        self.c_kind = <uint8_t*>malloc(n)
        self.c_rdb_type = <uint8_t*>malloc(n)
        self.c_length = <int64_t*>malloc(n * 8)
        self.c_length_valid = <uint8_t*>malloc(n)
        self.c_max = <int64_t*>malloc(n * 8)
        self.c_serialized = <int64_t*>malloc(n * 8)
        self.c_offset = <int64_t*>malloc(n * 8)
        self.c_expire = <int64_t*>malloc(n * 8)
        self.c_expire_valid = <uint8_t*>malloc(n)
        self.c_idle = <int64_t*>malloc(n * 8)
        self.c_idle_valid = <uint8_t*>malloc(n)
        self.c_freq = <uint8_t*>malloc(n)
        self.c_freq_valid = <uint8_t*>malloc(n)
        self.c_slot = <uint16_t*>malloc(n * 2)
        self.c_groups = <int64_t*>malloc(n * 8)
        self.c_consumers = <int64_t*>malloc(n * 8)
        self.c_pending = <int64_t*>malloc(n * 8)
        self.c_stream_valid = <uint8_t*>malloc(n)
        self.c_hfe = <int64_t*>malloc(n * 8)
        self.c_hfe_valid = <uint8_t*>malloc(n)
        self.c_expired = <int64_t*>malloc(n * 8)
        self.c_expired_bytes = <int64_t*>malloc(n * 8)
        self.c_expired_valid = <uint8_t*>malloc(n)
        self.c_flags = <uint8_t*>malloc(n)
        self.c_nodes = <int64_t*>malloc(n * 8)
        self.c_blob = <int64_t*>malloc(n * 8)
        self.c_elem = <int64_t*>malloc(n * 8)
        self.c_mem_elems = <int64_t*>malloc(n * 8)
        self.c_mem_values = <int64_t*>malloc(n * 8)
        self.c_mem_blobs = <int64_t*>malloc(n * 8)
        self.c_lp = <int64_t*>malloc(n * 8)
        self.c_lp70 = <int64_t*>malloc(n * 8)
        self.c_zl = <int64_t*>malloc(n * 8)
        self.c_intset = <int64_t*>malloc(n * 8)
        self.nx = 0
        self.as_lp = 0
        self.want_zl = 0
        self.nconv = 0
        self._stream_modes()
        for i in range(ROLES):
            self.lut[i] = <int32_t*>calloc(SIZING_LUT, 4)
            self.big_hdr[i] = 0
            self.big_extra[i] = 0
            self.big_rounded[i] = 0
        self.pair = NULL
        self.last_field = 2 * PAIR_FIELDS
        self.vset_table = 0
        self.vset_buf = NULL
        self.vset_cap = 0
        self.expired_before = -0x7FFFFFFFFFFFFFFF - 1
        self.c_key_off = <int32_t*>malloc((n + 1) * 4)
        self.c_raw_off = <int32_t*>malloc((n + 1) * 4)
        self.c_raw_valid = <uint8_t*>malloc(n)
        self.key_cap = 1 << 20
        self.c_key_data = <uint8_t*>malloc(self.key_cap)
        self.db_keys = <int64_t*>calloc(65536, 8)
        self.db_expires = <int64_t*>calloc(65536, 8)
        if (self.c_db == NULL or self.c_kind == NULL or self.c_rdb_type == NULL or
                self.c_length == NULL or self.c_length_valid == NULL or self.c_max == NULL or
                self.c_serialized == NULL or self.c_offset == NULL or self.c_expire == NULL or
                self.c_expire_valid == NULL or self.c_idle == NULL or self.c_idle_valid == NULL or
                self.c_freq == NULL or self.c_freq_valid == NULL or self.c_slot == NULL or
                self.c_groups == NULL or self.c_consumers == NULL or self.c_pending == NULL or
                self.c_stream_valid == NULL or self.c_hfe == NULL or self.c_hfe_valid == NULL or
                self.c_flags == NULL or self.c_nodes == NULL or self.c_blob == NULL or
                self.c_elem == NULL or self.c_mem_elems == NULL or self.c_mem_values == NULL or
                self.c_mem_blobs == NULL or self.c_lp == NULL or self.c_lp70 == NULL or
                self.c_zl == NULL or self.c_intset == NULL or self.lut[0] == NULL or self.lut[1] == NULL or
                self.lut[2] == NULL or self.lut[3] == NULL or self.lut[4] == NULL or
                self.c_key_off == NULL or self.c_raw_off == NULL or
                self.c_expired == NULL or self.c_expired_bytes == NULL or self.c_expired_valid == NULL or
                self.c_raw_valid == NULL or self.c_key_data == NULL or
                self.db_keys == NULL or self.db_expires == NULL):
            raise MemoryError()
        self.c_key_off[0] = 0
        self.c_raw_off[0] = 0
        self.raw_keys = []
        self.rows = 0

    def __init__(self, source, Py_ssize_t batch_size=65536, bint verify=True, resume=None):
        self.meta = {"aux": {}, "functions": [], "module_aux": [], "dbs": {},
                     "resizedb": {}, "slot_info": [], "crc": None, "notes": []}
        self.module_names = []
        self.module_codes = {}
        self.db = 0
        self.done = False
        self.in_key = 0
        self.dbs_seen = []
        self.new_templates = []
        self._clear_pending()
        if resume is None:
            self._read_header()
        else:
            self._resume(resume)

    cdef int _resume(self, resume) except -1:
        # Start at a record boundary inside a dump (rdbscan.scanner._common.Resume):
        # no header; the db and the expiry/LRU/LFU opcodes read before this
        # offset are given, or left for the caller to resolve (db None:
        # rows before the first SELECTDB are counted under db 0).
        cdef Py_ssize_t cap
        self.flavor = resume.flavor
        self.version = resume.version
        self.expired_before = resume.expired_before
        allowed = value_types(self.flavor, self.version)
        for i in range(256):
            self.vtypes[i] = allowed[i]
        self.base = self.start_offset = resume.offset
        self.resumed = 1
        if resume.stop_at is not None:
            self.stop_at = resume.stop_at
        if resume.db is None:
            self.db_known = 0
        else:
            self.db = resume.db
        if resume.pending is not None:
            expire, idle, freq, self.rec_start, self.meta_bytes = resume.pending
            self.has_expire = expire is not None
            self.pend_expire = expire if self.has_expire else 0
            self.has_idle = idle is not None
            self.pend_idle = idle if self.has_idle else 0
            self.has_freq = freq is not None
            self.pend_freq = freq if self.has_freq else 0
        for name in resume.module_names:
            self.module_codes[name] = KIND_MODULE_BASE + len(self.module_names)
            self.module_names.append(name)
        if resume.first_batch is not None:
            self.batch_limit = resume.first_batch
        for tid, fields, longest, total in resume.templates:
            if tid >= self.tmpl_cap:
                cap = self.tmpl_cap * 2 if self.tmpl_cap else 64
                while cap <= tid:
                    cap *= 2
                self.tmpl_fields = <int64_t*>_grow(self.tmpl_fields, self.tmpl_cap, cap)
                self.tmpl_longest = <int64_t*>_grow(self.tmpl_longest, self.tmpl_cap, cap)
                self.tmpl_bytes = <int64_t*>_grow(self.tmpl_bytes, self.tmpl_cap, cap)
                self.tmpl_cap = cap
            self.tmpl_fields[tid] = fields
            self.tmpl_longest[tid] = longest
            self.tmpl_bytes[tid] = total
        return 0

    def handoff(self):
        """Where a resumed scanner stopped and the state a scanner continuing there needs.

        ``offset``: the next record boundary; ``db`` (None while no SELECTDB
        was read and none was given); ``pending``: the expiry, LRU and LFU
        values read for a key not yet met, and its record start; ``unknown_db``:
        rows, keys and keys with expiry before the first SELECTDB when the db
        was not given (counted under db 0); ``crc``: CRC64 of the bytes from
        the start up to ``crc_end`` (the EOF opcode included, once met);
        ``templates``: the hash templates this scanner read, in order, as
        ``(id, fields, longest field, field bytes)``.
        """
        cdef int64_t crc_end
        if self.verify and not self.done and self.pos > self.crc_pos:
            self.crc = crc64_update(self.crc, self.p + self.crc_pos, self.pos - self.crc_pos)
            self.crc_pos = self.pos
        crc_end = self.meta["eof_offset"] + 1 if self.done else self.base + self.pos
        if not self.db_known:
            unknown = (self.flushed + self.rows, self.db_keys[0], self.db_expires[0])
        else:
            unknown = (self.unk_rows, self.unk_keys, self.unk_expires)
        return {
            "offset": self.base + self.pos,
            "db": self.db if self.db_known else None,
            "pending": (self.pend_expire if self.has_expire else None,
                        self.pend_idle if self.has_idle else None,
                        self.pend_freq if self.has_freq else None, self.rec_start, self.meta_bytes),
            "unknown_db": unknown,
            "crc": self.crc if self.verify else None,
            "crc_end": crc_end,
            "module_names": list(self.module_names),
            "templates": list(self.new_templates),
        }

    @property
    def stopped(self):
        """True once a resumed scanner reached its stop offset (or the end of the dump)."""
        return self.done or self.base + self.pos >= self.stop_at

    def __dealloc__(self):
        free(self.scratch)
        free(self.scratch2)
        free(self.tmpl_fields); free(self.tmpl_longest); free(self.tmpl_bytes)
        rs_free(&self.rs_ids); rs_free(&self.rs_groups); rs_free(&self.rs_consumers); rs_free(&self.rs_union)
        free(self.pel_ids)
        free(self.time_keys)
        free(self.vset_buf)
        free(self.c_expired); free(self.c_expired_bytes); free(self.c_expired_valid)
        free(self.c_db); free(self.c_kind); free(self.c_rdb_type); free(self.c_length)
        free(self.c_length_valid); free(self.c_max); free(self.c_serialized); free(self.c_offset)
        free(self.c_expire); free(self.c_expire_valid); free(self.c_idle); free(self.c_idle_valid)
        free(self.c_freq); free(self.c_freq_valid); free(self.c_slot); free(self.c_groups)
        free(self.c_consumers); free(self.c_pending); free(self.c_stream_valid); free(self.c_hfe)
        free(self.c_hfe_valid); free(self.c_flags); free(self.c_nodes); free(self.c_blob)
        free(self.c_elem); free(self.c_key_off); free(self.c_raw_off); free(self.c_raw_valid)
        free(self.c_key_data)
        free(self.db_keys)
        free(self.c_mem_elems); free(self.c_mem_values); free(self.c_mem_blobs)
        free(self.c_lp); free(self.c_lp70); free(self.c_zl); free(self.c_intset)
        self._free_slots()
        for i in range(self.nconv):
            free(self.c_conv[i])
        free(self.lut[0]); free(self.lut[1]); free(self.lut[2]); free(self.lut[3]); free(self.lut[4])
        free(self.pair)
        free(self.db_expires)

    # ------------------------------------------------------------------ input
    @property
    def offset(self):
        """Byte offset of the next unread byte in the (decompressed) stream."""
        return self.base + self.pos

    cdef int fail(self, str message, int64_t at=-1) except -1:
        if at < 0:
            at = self.base + self.pos
        raise RDBFormatError(message, at, self.current_key())

    cdef object current_key(self):
        # The key whose value is being read (first 256 bytes), for error messages.
        if not self.in_key:
            return None
        return PyBytes_FromStringAndSize(<char*>self.c_key_data + self.cur_koff,
                                         self.cur_klen if self.cur_klen <= 256 else 256)

    cdef int fill(self, Py_ssize_t n) except -1 nogil:
        # Make n bytes available at pos: hash and drop what was consumed,
        # grow the window only when one structure needs more than it holds.
        cdef Py_ssize_t keep = self.end - self.pos
        if self.verify and self.pos > self.crc_pos:
            self.crc = crc64_update(self.crc, self.p + self.crc_pos, self.pos - self.crc_pos)
        if self.pos > 0:
            memmove(<void*>self.p, self.p + self.pos, keep)
            self.base += self.pos
            self.pos = 0
            self.end = keep
        self.crc_pos = 0
        if n > self.cap or (self.end < n and not self.src_eof):
            with gil:
                self._read_more(n)
        if self.end < n:
            with gil:
                raise RDBTruncatedError(
                    f"unexpected end of data: {n} bytes needed from byte {self.base + self.pos}, "
                    f"only {self.end - self.pos} there",
                    self.base + self.end, self.current_key())
        return 0

    cdef int _read_more(self, Py_ssize_t n) except -1:
        # The only place the scanner asks Python for bytes (once per window).
        # A structure longer than the window grows it step by step, as its
        # bytes actually arrive: a corrupt length never allocates what it claims.
        cdef Py_ssize_t r, grow
        while self.end < n and not self.src_eof:
            if self.end == self.cap:
                grow = min(n, self.cap * 2) - self.cap
                self.buf.extend(bytes(grow))
                self.cap += grow
                self.p = <const uint8_t*>PyByteArray_AS_STRING(self.buf)
            r = self.src.readinto(memoryview(self.buf)[self.end:self.cap])
            if not r:
                self.src_eof = True
            else:
                self.end += r
        return 0

    cdef inline int need(self, Py_ssize_t n) except -1 nogil:
        if self.end - self.pos < n:
            self.fill(n)
        return 0

    cdef int skip(self, int64_t n) except -1 nogil:
        # Consume n bytes without holding them (large strings stream past).
        cdef Py_ssize_t take
        while n > 0:
            if self.end == self.pos:
                self.fill(1)
            take = self.end - self.pos
            if take > n:
                take = n
            self.pos += take
            n -= take
        return 0

    cdef inline int u8(self) except -1 nogil:
        self.need(1)
        self.pos += 1
        return self.p[self.pos - 1]

    cdef int64_t fixed(self, int n) except? -1 nogil:
        # Little-endian signed integer of n bytes.
        self.need(n)
        self.pos += n
        return le_int(self.p + self.pos - n, n)

    cdef int read_len_raw(self, uint64_t* out) except -1 nogil:
        # RDB length encoding.  Returns 1 (and the 6-bit code in out) when
        # the byte marks a special string encoding instead of a length.
        cdef int c = self.u8()
        cdef int t = (c & 0xC0) >> 6
        cdef uint64_t v = 0
        cdef int i, k
        if t == LEN_6BIT:
            out[0] = c & 0x3F
        elif t == LEN_14BIT:
            out[0] = ((c & 0x3F) << 8) | self.u8()
        elif c == LEN_32BIT or c == LEN_64BIT:
            k = 4 if c == LEN_32BIT else 8
            self.need(k)
            for i in range(k):
                v = (v << 8) | self.p[self.pos + i]
            self.pos += k
            out[0] = v
        elif t == LEN_ENCVAL:
            out[0] = c & 0x3F
            return 1
        else:
            with gil: self.fail(f"invalid length encoding byte 0x{c:02x}", self.base + self.pos - 1)
        return 0

    cdef int64_t read_len(self) except? -1 nogil:
        # A length or string header; s_int is set for a special encoding.
        cdef uint64_t v
        cdef int64_t at = self.base + self.pos
        self.s_int = self.read_len_raw(&v)
        if v > 0x7FFFFFFFFFFFFFFFULL:
            with gil: self.fail(f"length {v} is out of range", at)
        return <int64_t>v

    cdef uint64_t read_u64_len(self) except? 0xFFFFFFFFFFFFFFFF nogil:
        # A full-range unsigned number (module IDs, stream ID parts).
        cdef uint64_t v
        cdef int64_t at = self.base + self.pos
        if self.read_len_raw(&v):
            with gil: self.fail("expected a number, found a string encoding marker", at)
        return v

    cdef int64_t read_plain_len(self) except? -1 nogil:
        cdef int64_t at = self.base + self.pos
        cdef int64_t n = self.read_len()
        if self.s_int:
            with gil: self.fail("expected a length, found a string encoding marker", at)
        return n

    cdef int read_string_header(self, int64_t* clen) except -1 nogil:
        # Reads a string header.  Returns 0 raw (length in s_len, data next),
        # 1 integer (value in clen[0], data consumed), 2 LZF (compressed
        # length in clen[0], uncompressed in s_len, data next).
        cdef int64_t at = self.base + self.pos
        cdef int64_t n = self.read_len()
        cdef int64_t v
        if not self.s_int:
            self.s_len = n
            return 0
        if n == ENC_INT8:
            v = self.fixed(1)
        elif n == ENC_INT16:
            v = self.fixed(2)
        elif n == ENC_INT32:
            v = self.fixed(4)
        elif n == ENC_LZF:
            clen[0] = self.read_plain_len()
            self.s_len = self.read_plain_len()
            # Checked here too, so that string values (never decompressed)
            # cannot claim more than their compressed bytes could expand to.
            if lzf_claim_impossible(clen[0], self.s_len):
                with gil:
                    self.fail(f"LZF header claims {self.s_len} bytes from {clen[0]} compressed bytes")
            return 2
        else:
            with gil: self.fail(f"unknown string encoding {n}", at)
        clen[0] = v
        self.s_val = v
        self.s_len = digits(v)
        return 1

    cdef int64_t skip_string(self) except -1 nogil:
        # Consume a string; returns its length.  s_int tells whether it is
        # a canonical integer (int-encoded, or raw text that parses as one).
        cdef int64_t clen = 0
        cdef int kind = self.read_string_header(&clen)
        if kind == 1:
            self.s_int = 1
            return self.s_len
        self.s_int = 0
        if kind == 2:
            self.skip(clen)
            return self.s_len
        if self.s_len <= SMALL_INT_LEN:
            self.need(self.s_len)
            self.s_int = is_canonical_int(self.p + self.pos, self.s_len)
            if self.s_int:
                self.s_val = canonical_value(self.p + self.pos, self.s_len)
            self.pos += self.s_len
        else:
            self.skip(self.s_len)
        return self.s_len

    cdef inline void _packed(self, int64_t n, bint all_int) noexcept nogil:
        # The listpack (or intset, for integer sets) the loader builds from
        # elements stored one by one, should it keep the value compact (_pack
        # and _built summed it), in the scan's own and every slot's allocator.
        cdef int s
        self.v_blob = (INTSET_HEADER + n * (self.v_intw if self.v_intw > 2 else 2)) if all_int else self.v_lp
        self.v_mem_blobs = jemalloc_size(self.v_blob, self.q16)
        for s in range(self.nx):
            self.x_blobs[s] = jemalloc_size(self.v_blob, self.x_alloc[s])

    cdef int64_t skip_value_string(self, int* fmt) except -1 nogil:
        # skip_string for a string value, also sniffing its format from the
        # first bytes (an LZF one from its first literal run).
        cdef int64_t clen = 0, k
        cdef int ctrl
        cdef int kind = self.read_string_header(&clen)
        if kind == 1:
            fmt[0] = FORMAT_INT
            self.s_int = 1
            return self.s_len
        self.s_int = 0
        if kind == 2:
            self.need(clen if clen < SNIFF_BYTES + 1 else SNIFF_BYTES + 1)
            ctrl = self.p[self.pos] if clen else 0xFF
            if ctrl < 32:
                k = ctrl + 1
                if k > SNIFF_BYTES:
                    k = SNIFF_BYTES
                if k > clen - 1:
                    k = clen - 1
                fmt[0] = sniff_format(self.p + self.pos + 1, k)
            else:
                fmt[0] = FORMAT_BINARY
            self.skip(clen)
            return self.s_len
        k = self.s_len if self.s_len < SNIFF_BYTES else SNIFF_BYTES
        self.need(k)
        fmt[0] = sniff_format(self.p + self.pos, k)
        if self.s_len <= SMALL_INT_LEN:
            self.need(self.s_len)
            self.s_int = is_canonical_int(self.p + self.pos, self.s_len)
            if self.s_int:
                fmt[0] = FORMAT_INT
            self.pos += self.s_len
        else:
            self.skip(self.s_len)
        return self.s_len

    cdef int ensure_scratch(self, Py_ssize_t n) except -1 nogil:
        cdef uint8_t* newp
        if n > self.scratch_cap:
            newp = <uint8_t*>realloc(self.scratch, n)
            if newp == NULL:
                with gil: raise MemoryError()
            self.scratch = newp
            self.scratch_cap = n
        return 0

    cdef int load_blob(self) except -1 nogil:
        # Load a whole string (a listpack, ziplist, intset or zipmap) into
        # blob/blob_len; raw ones are used in place in the window.
        cdef int64_t clen = 0
        cdef int64_t at = self.base + self.pos
        cdef int kind = self.read_string_header(&clen)
        if kind == 1:
            with gil: self.fail("expected an encoded blob, found an integer", at)
        if kind == 0:
            self.need(self.s_len)
            self.blob = self.p + self.pos
            self.blob_len = self.s_len
            self.pos += self.s_len
            return 0
        self.lzf_into_scratch(clen, self.s_len)
        self.blob = self.scratch
        self.blob_len = self.s_len
        return 0

    cdef int lzf_into_scratch(self, int64_t clen, int64_t ulen) except -1 nogil:
        cdef int64_t at = self.base + self.pos
        cdef Py_ssize_t produced = 0
        cdef int err
        # An LZF back-reference expands 3 bytes into at most 264.
        if lzf_claim_impossible(clen, ulen):
            with gil: self.fail(f"LZF header claims {ulen} bytes from {clen} compressed bytes", at)
        self.need(clen)
        self.ensure_scratch(ulen if ulen > 0 else 1)
        err = lzf_decode(self.p + self.pos, clen, self.scratch, ulen, &produced)
        if err:
            with gil:
                if err == LZF_LITERAL_OVERFLOW:
                    self.fail("corrupt LZF data: literal run overflows", at)
                elif err == LZF_TRUNCATED_REF:
                    self.fail("corrupt LZF data: truncated back-reference", at)
                elif err == LZF_REF_OUT_OF_RANGE:
                    self.fail("corrupt LZF data: back-reference out of range", at)
                self.fail(f"corrupt LZF data: decompressed {produced} bytes, header says {ulen}", at)
        self.pos += clen
        return 0

    cdef bytes read_bytes(self):
        # A whole string as Python bytes (keys, aux fields, names).
        cdef int64_t clen = 0
        cdef int kind = self.read_string_header(&clen)
        cdef bytes out
        if kind == 1:
            return str(clen).encode()
        if kind == 2:
            self.lzf_into_scratch(clen, self.s_len)
            return PyBytes_FromStringAndSize(<char*>self.scratch, self.s_len)
        self.need(self.s_len)
        out = PyBytes_FromStringAndSize(<char*>self.p + self.pos, self.s_len)
        self.pos += self.s_len
        return out

    # ----------------------------------------------------------------- header
    cdef int _read_header(self) except -1:
        cdef bytes magic
        self.need(MAGIC_LEN)
        magic = PyBytes_FromStringAndSize(<char*>self.p, MAGIC_LEN)
        info = header_info(magic)
        if info is None:
            raise RDBFormatError(
                f"not an RDB file: expected 'REDIS' or 'VALKEY' and a version, found {magic[:9]!r}", 0)
        self.flavor, self.version, note = info
        self.meta["magic"] = magic.decode("ascii")
        self.meta["rdb_version"] = self.version
        self.meta["flavor"] = "valkey" if self.flavor == FLAVOR_VALKEY else "redis"
        if note:
            self.meta["notes"].append(note)
        allowed = value_types(self.flavor, self.version)
        for i in range(256):
            self.vtypes[i] = allowed[i]
        self.pos = MAGIC_LEN
        return 0

    cdef void _clear_pending(self) noexcept nogil:
        self.has_expire = self.has_idle = self.has_freq = 0
        self.meta_bytes = 0
        self.rec_start = -1

    # ----------------------------------------------------------------- sizing
    def set_sizing(self, tables, big_headers, rounded, int quantum16=0, int stream_alloc=STREAM_NODES,
                   big_extra=None, int64_t vset_table=0, bint listpacks=False, bint ziplists=False):
        """Allocation size by element length, for five roles of hashtable elements.

        ``tables``: five sequences of 4,096 ints (hash fields, hash values,
        hash fields with TTL metadata, set members, sorted-set members);
        ``big_headers``: for longer elements, the bytes added to the length
        (header, terminator); ``rounded``: whether the server measures them
        in its allocator's size classes.  An optional sixth table (2 x
        ``PAIR_FIELDS`` x 129 ints, row-major: fields without, then with a
        TTL) adds to each hash value what its pairing with the field before
        it changes (Valkey 8.1 and Redis 8.6 embed small field-value pairs
        in one allocation).  ``rounded`` may also be one flag per role, and
        ``big_extra`` bytes added per role to the longer elements after
        rounding.  ``quantum16`` is the allocator code (rdbscan.model.alloc:
        0 jemalloc, 1 jemalloc with a 16-byte quantum, 2 glibc).
        ``stream_alloc`` sizes streams by their allocations (Redis 8.4+:
        ``STREAM_ALLOC``, or ``STREAM_ALLOC_PEL_TIME`` for 8.4's extra tree
        per group; ``True`` means ``STREAM_ALLOC``) rather than counting
        their radix-tree nodes (``STREAM_NODES``); ``STREAM_TREES`` (Valkey
        8.1+) by the allocations of the stream's own trees only.
        ``vset_table`` (9.0+): as in
        :meth:`rdbscan.scanner.pyscanner.Scanner.set_sizing`.  ``listpacks``:
        size ziplist blobs as the listpacks a 7.0+ loader converts them to;
        ``ziplists``: also work out what listpack blobs would be as
        ziplists (``zl_bytes``).
        """
        cdef int role
        free(self.pair)
        self.pair = NULL
        if len(tables) > ROLES and tables[ROLES] is not None:
            self.pair = <int32_t*>calloc(2 * PAIR_FIELDS * 129, 4)
            if self.pair == NULL:
                raise MemoryError()
            _copy_ints(self.pair, tables[ROLES], 2 * PAIR_FIELDS * 129)
        for role in range(ROLES):
            _copy_ints(self.lut[role], tables[role], SIZING_LUT)
            self.big_hdr[role] = big_headers[role]
            self.big_rounded[role] = bool(rounded[role]) if isinstance(rounded, (tuple, list)) else bool(rounded)
            self.big_extra[role] = big_extra[role] if big_extra is not None else 0
        self.q16 = quantum16
        self.stream_alloc = stream_alloc
        self.vset_table = vset_table
        self.as_lp = listpacks
        self.want_zl = ziplists
        self._stream_modes()

    def set_slots(self, slots):
        """What-if sizing slots: the element and blob sums again under other rules.

        ``slots`` is a sequence of at most 7 tuples with :meth:`set_sizing`'s
        arguments ``(tables, big_headers, rounded, quantum16, stream_alloc,
        big_extra, vset_table, listpacks)``; each adds the columns
        ``mem_elements_N``, ``mem_values_N`` and ``mem_blobs_N`` (N from 1)
        to every batch.  Call before the first key.
        """
        cdef int s, role, i, k
        if len(slots) > MAX_X:
            raise ValueError(f"at most {MAX_X} what-if sizing slots")
        self._free_slots()
        for s, (tables, big_headers, rounded, quantum16, stream_alloc, big_extra, vset_table,
                listpacks) in enumerate(slots):
            self.x_pair[s] = NULL
            self.nx = s + 1          # _free_slots frees what this slot got so far
            for i in range(3):
                self.cx[s * 3 + i] = <int64_t*>malloc(self.batch_size * 8)
                if self.cx[s * 3 + i] == NULL:
                    raise MemoryError()
            for role in range(ROLES):
                k = s * ROLES + role
                self.x_lut[k] = <int32_t*>calloc(SIZING_LUT, 4)
                if self.x_lut[k] == NULL:
                    raise MemoryError()
                _copy_ints(self.x_lut[k], tables[role], SIZING_LUT)
                self.x_big[k] = big_headers[role]
                self.x_rounded[k] = bool(rounded[role]) if isinstance(rounded, (tuple, list)) else bool(rounded)
                self.x_extra[k] = big_extra[role] if big_extra is not None else 0
            if len(tables) > ROLES and tables[ROLES] is not None:
                self.x_pair[s] = <int32_t*>calloc(2 * PAIR_FIELDS * 129, 4)
                if self.x_pair[s] == NULL:
                    raise MemoryError()
                _copy_ints(self.x_pair[s], tables[ROLES], 2 * PAIR_FIELDS * 129)
            self.x_alloc[s] = quantum16
            self.x_stream[s] = stream_alloc
            self.x_vset[s] = vset_table
            self.x_as_lp[s] = listpacks
        self._stream_modes()

    def set_conversions(self, limits):
        """Value limits (at most 8) whose conversion points each key records.

        Adds a column ``conv_at_N`` per limit: for hashtable-typed hashes, the
        index of the first field-value pair with a field or value longer
        than the limit (where a loader that started a listpack converts it);
        for hashtable-typed sets, of the first member that is not an
        integer (where it leaves the intset); -1 when there is none.
        """
        cdef int i
        if len(limits) > MAX_CONV:
            raise ValueError(f"at most {MAX_CONV} conversion limits")
        for i in range(self.nconv):
            free(self.c_conv[i])
        self.nconv = 0
        for i, limit in enumerate(limits):
            self.c_conv[i] = <int64_t*>malloc(self.batch_size * 8)
            if self.c_conv[i] == NULL:
                raise MemoryError()
            self.conv_limit[i] = limit
            self.nconv = i + 1

    cdef void _free_slots(self) noexcept:
        cdef int s, i
        for s in range(self.nx):
            for i in range(ROLES):
                free(self.x_lut[s * ROLES + i])
                self.x_lut[s * ROLES + i] = NULL
            for i in range(3):
                free(self.cx[s * 3 + i])
                self.cx[s * 3 + i] = NULL
            free(self.x_pair[s])
            self.x_pair[s] = NULL
        self.nx = 0

    cdef void _stream_modes(self) noexcept:
        # Which stream sizings the scan and its slots need (_stream keeps
        # them all in one pass): radix-tree node counts, allocations (for
        # which allocators), Redis 8.4+'s name trees and PEL index, 8.4's
        # per-group PEL-by-time trees.
        cdef int s, mode, code
        self.st_nodes = self.st_alloc = self.st_tables = self.st_time = 0
        self.st_amask = 0
        for s in range(-1, self.nx):
            mode = self.stream_alloc if s < 0 else self.x_stream[s]
            code = self.q16 if s < 0 else self.x_alloc[s]
            if mode == STREAM_NODES:
                self.st_nodes = 1
            else:
                self.st_alloc = 1
                self.st_amask |= 1 << code
                if mode != STREAM_TREES:
                    self.st_tables = 1
                if mode == STREAM_ALLOC_PEL_TIME:
                    self.st_time = 1

    def preamble(self):
        """Read the file-level records that precede the keys (AUX, module aux, functions).

        Stops before the first database selector or key, so that the caller
        can look at ``meta`` (the writing server) before keys are read.
        """
        while not self.done:
            self.need(1)
            if self.p[self.pos] not in (OP_AUX, OP_MODULE_AUX, OP_FUNCTION2, OP_FUNCTION_PRE_GA):
                return
            self.step()

    # -------------------------------------------------------------- main loop
    def next_batch(self):
        """Scan until ``batch_size`` rows are gathered or the stream ends.

        Returns ``(rows, columns)`` with raw little-endian buffers, or None
        when nothing is left.  Raises RDBFormatError on malformed input; the
        rows completed before the fault stay available through :meth:`flush`.
        """
        with nogil:
            # No Python objects are touched here except through 'with gil'
            # blocks (window refills, file opcodes, rare keys), so the Parquet
            # writer thread runs alongside.
            while self.rows < self.batch_limit and not self.done and self.base + self.pos < self.stop_at:
                self.step()
        if self.rows == 0:
            return None
        return self.flush()

    cdef int step(self) except -1 nogil:
        cdef int64_t at = self.base + self.pos
        cdef int op = self.u8()
        cdef int64_t db
        if op == OP_EXPIRETIME_MS:
            self._start(at)
            self.pend_expire = self.fixed(8)
            self.has_expire = 1
        elif op == OP_EXPIRETIME:
            self._start(at)
            self.pend_expire = self.fixed(4) * 1000
            self.has_expire = 1
        elif op == OP_IDLE:
            self._start(at)
            self.pend_idle = self.read_plain_len()
            self.has_idle = 1
        elif op == OP_FREQ:
            self._start(at)
            self.pend_freq = self.u8()
            self.has_freq = 1
        elif op == OP_SELECTDB:
            db = self.read_plain_len()
            if db > 65535:
                with gil: self.fail(f"database number {db} is out of range", at)
            if not self.db_known:
                self.unk_rows = self.flushed + self.rows
                self.unk_keys = self.db_keys[0]
                self.unk_expires = self.db_expires[0]
                self.db_known = 1
            self.db = <int>db
        elif self.vtypes[op]:
            self._key_value(at, op)
        else:
            with gil:
                self._file_opcode(op, at)
        return 0

    cdef int _file_opcode(self, int op, int64_t at) except -1:
        # Opcodes about the file rather than a key: they update meta (Python).
        cdef int64_t a, b, c
        if op == OP_RESIZEDB:
            a = self.read_plain_len()
            b = self.read_plain_len()
            self.meta["resizedb"][self.db if self.db_known else None] = {"keys": a, "expires": b}
        elif op == OP_AUX:
            k = self.read_bytes()
            v = self.read_bytes()
            record_aux(self.meta, k, v)
            if k == b"ctime" and self.flavor == FLAVOR_VALKEY:
                self.expired_before = snapshot_ms(self.meta["aux"]["ctime"])
        elif op == OP_SLOT_INFO and self.flavor == FLAVOR_REDIS:
            a = self.read_plain_len()
            b = self.read_plain_len()
            c = self.read_plain_len()
            self.meta["slot_info"].append([a, b, c])
        elif op == OP_SLOT_INFO and self.flavor == FLAVOR_VALKEY:
            # Valkey 9 reserves 244 for slot info from foreign RDBs and ignores it.
            self.read_plain_len(); self.read_plain_len(); self.read_plain_len()
        elif op == OP_SLOT_IMPORT and self.flavor == FLAVOR_VALKEY:
            # Valkey 9 SLOT_IMPORT (Redis 8.6 uses 243 for KEY_META): a slot migration under way.
            job = self.read_bytes()
            a = self._count()
            ranges = [[self.read_plain_len(), self.read_plain_len()] for _ in range(a)]
            self.meta.setdefault("slot_imports", []).append(
                {"job": job.decode("utf-8", "backslashreplace"), "ranges": ranges})
        elif op == OP_UPDATE and self.flavor == FLAVOR_VALKEY and self.version >= VALKEY_RDB_VERSION_PATH_HASH:
            # Valkey 9.2 UPDATE: a replication command (RESP multi-bulk) inlined by a
            # forkless save; the loader replays it, a scan can only skip it.
            a = self._resp_number(ord("*"), at)
            for _ in range(a):
                self.skip(self._resp_number(ord("$"), at) + 2)
            self.meta["update_commands"] = self.meta.get("update_commands", 0) + 1
        elif op == OP_FUNCTION2:
            code = self.read_bytes()
            self.meta["functions"].append(code.decode("utf-8", "backslashreplace"))
        elif op == OP_MODULE_AUX:
            self._module_aux(at)
        elif op == OP_EOF:
            self._eof(at)
        elif op == OP_FUNCTION_PRE_GA:
            # Redis 7.0 RC1/RC2: name, engine, optional description, code.
            name = self.read_bytes()
            engine = self.read_bytes()
            if self.read_plain_len():
                self.read_bytes()                             # description
            code = self.read_bytes()
            self.meta["functions"].append(pre_ga_library(name, engine, code))
        elif op == OP_KEY_META and self.flavor == FLAVOR_REDIS and self.version >= RDB_VERSION_KEY_META:
            self._key_meta(at)
        elif op == OP_HASH_TEMPLATE and self.flavor == FLAVOR_REDIS and self.version >= RDB_VERSION_ARRAY:
            self._hash_template(at)
        else:
            self._unknown(op, at)
        return 0

    cdef int64_t _resp_number(self, int marker, int64_t at) except -1:
        # "<marker><digits>\r\n" of a RESP header, at most RESP_DIGITS_MAX digits.
        cdef int64_t v = 0
        cdef int c, k = 0
        if self.u8() != marker:
            self.fail(f"UPDATE opcode: expected a RESP '{chr(marker)}' header", at)
        while True:
            c = self.u8()
            if c == 13:
                break
            if c < 48 or c > 57 or k >= RESP_DIGITS_MAX:
                self.fail("UPDATE opcode: malformed RESP length", at)
            v = v * 10 + (c - 48)
            k += 1
        if k == 0 or self.u8() != 10:
            self.fail("UPDATE opcode: malformed RESP length", at)
        return v

    cdef int _unknown(self, int op, int64_t at) except -1:
        self.fail(unknown_message(op, self.flavor, self.version), at)

    cdef int _key_meta(self, int64_t at) except -1:
        # Redis 8.6 KEY_META: module metadata classes attached to the next
        # key, each a 4-byte class spec and module-style typed fields up to
        # their EOF (keymeta.c rdbLoadKeyMetadata).  DUMP carries them with
        # the value, so their bytes count into the key's serialized_bytes.
        cdef int64_t n, i
        cdef uint32_t spec
        self._start(at)
        n = self.read_plain_len()
        if n > KEY_META_MAX_CLASSES:
            self.fail(f"key metadata with {n} classes (at most {KEY_META_MAX_CLASSES})", at)
        classes = self.meta.setdefault("key_meta", {})
        for i in range(n):
            self.need(KEY_META_SPEC_BYTES)
            spec = <uint32_t>(le_int(self.p + self.pos, 4) & 0xFFFFFFFF)
            self.pos += KEY_META_SPEC_BYTES
            self._module_ops()
            name = key_meta_class_name(spec)
            classes[name] = classes.get(name, 0) + 1
        self.meta_bytes += self.base + self.pos - at
        return 0

    cdef int _hash_template(self, int64_t at) except -1:
        # Redis 8.10 HASH_TEMPLATE: a template id and its field names, which
        # later template hashes (types 30, 32) refer to by id.
        cdef uint64_t tid = self.read_u64_len()
        cdef int64_t n = self._count()
        cdef int64_t i, size, longest = 0, total = 0
        cdef Py_ssize_t cap
        if n == 0:
            self.fail(f"hash template {tid} has zero fields", at)
        for i in range(n):
            size = self.skip_string()
            if size > longest:
                longest = size
            total += size
        if tid > TEMPLATE_ID_MAX:
            self.fail(f"hash template id {tid} is out of range (at most {TEMPLATE_ID_MAX})", at)
        if <Py_ssize_t>tid >= self.tmpl_cap:
            cap = self.tmpl_cap * 2 if self.tmpl_cap else 64
            while cap <= <Py_ssize_t>tid:
                cap *= 2
            self.tmpl_fields = <int64_t*>_grow(self.tmpl_fields, self.tmpl_cap, cap)
            self.tmpl_longest = <int64_t*>_grow(self.tmpl_longest, self.tmpl_cap, cap)
            self.tmpl_bytes = <int64_t*>_grow(self.tmpl_bytes, self.tmpl_cap, cap)
            self.tmpl_cap = cap
        if self.tmpl_fields[tid]:
            self.fail(f"hash template {tid} is defined twice", at)
        self.tmpl_fields[tid] = n
        self.tmpl_longest[tid] = longest
        self.tmpl_bytes[tid] = total
        self.new_templates.append((tid, n, longest, total))
        self.meta["hash_templates"] = self.meta.get("hash_templates", 0) + 1
        return 0

    cdef int _template(self, uint64_t tid, int64_t at) except -1 nogil:
        # Check that a key's template was defined (its facts are in tmpl_*[tid]).
        if tid >= <uint64_t>self.tmpl_cap or self.tmpl_fields[tid] == 0:
            with gil:
                self.fail(f"hash template {tid} is not defined (no HASH_TEMPLATE record before this key)", at)
        return 0

    cdef inline void _start(self, int64_t at) noexcept nogil:
        if self.rec_start < 0:
            self.rec_start = at

    cdef int _eof(self, int64_t at) except -1:
        cdef uint64_t stored
        cdef int i
        if self.verify:
            # The checksum covers everything up to and including the EOF byte.
            self.crc = crc64_update(self.crc, self.p + self.crc_pos, self.pos - self.crc_pos)
            self.crc_pos = self.pos
        if self.version >= RDB_VERSION_CRC:
            self.need(8)
            stored = 0
            for i in range(8):
                stored |= (<uint64_t>self.p[self.pos + i]) << (8 * i)
            self.pos += 8
            self.crc_pos = self.pos
            if self.resumed:
                self.meta["crc_stored"] = stored       # judged by the caller, over the whole dump
            elif stored == 0:
                self.meta["crc"] = "absent"
            elif not self.verify:
                self.meta["crc"] = "not verified"
            elif stored == self.crc:
                self.meta["crc"] = "ok"
            else:
                self.meta["crc"] = "mismatch"
                raise RDBChecksumError(
                    f"CRC64 mismatch: the dump says {stored:016x}, its contents give {self.crc:016x}",
                    self.base + self.pos - 8)
        elif not self.resumed:
            self.meta["crc"] = "none before RDB 5"
        self.meta["eof_offset"] = at
        self.done = True
        return 0

    def trailing(self):
        """Bytes after the EOF record that are already in the window."""
        return bytes(self.buf[self.pos:self.end])

    cdef int _module_aux(self, int64_t at) except -1:
        cdef uint64_t mid = self.read_u64_len()
        cdef int64_t when_op = self.read_plain_len()
        cdef int64_t when = self.read_plain_len()
        cdef int64_t start = self.base + self.pos
        if when_op != MODULE_OP_UINT:
            self.fail(f"module aux data: expected the 'when' opcode {MODULE_OP_UINT}, found {when_op}", at)
        self._module_ops()
        self.meta["module_aux"].append({
            "module": module_type_name(mid), "encver": module_encver(mid),
            "when": when, "bytes": self.base + self.pos - start})
        return 0

    cdef int _valkey_hash_2(self) except -1 nogil:
        # Valkey 9 reuses 22 for [field][value][absolute ms or -1] triples.  The
        # loader drops the fields whose time passed before the snapshot's:
        # they are counted apart, with what their entries held.
        cdef int64_t n, i, field, value, expiry, lp, lp70, zl, zl_prev, intw
        cdef int s
        cdef bint keep = self.vset_table != 0
        for s in range(self.nx):
            keep = keep or self.x_vset[s] != 0
        self.v_kind = KIND_HASH
        n = self._count()
        self.v_hfe = 0
        self.v_expired = 0
        self.v_expired_bytes = 0
        for i in range(n):
            lp, lp70, zl, zl_prev, intw = self.v_lp, self.v_lp70, self.v_zl, self.zl_prev, self.v_intw
            field = self.skip_string()
            self._pack(field)
            value = self.skip_string()
            self._pack(value)
            expiry = self.fixed(8)
            if expiry != -1 and expiry < self.expired_before:
                self.v_lp, self.v_lp70, self.v_zl, self.zl_prev, self.v_intw = lp, lp70, zl, zl_prev, intw
                self.v_expired += 1
                self.v_expired_bytes += self._entry_cost(field, value)
                continue
            self._elem(field)
            self._elem(value)
            if expiry != -1:
                if keep:
                    self._keep_expiry(expiry, self.v_hfe)
                self.v_hfe += 1
                self._size(field, 2)
            else:
                self._size(field, 0)
            self._size(value, 1)
        if self.v_hfe > VSET_VECTOR_MAX and keep:
            # Past one vector the volatile set depends on the expiries themselves.
            with gil:
                self._vset_bytes()
        self.v_len = n - self.v_expired
        self.v_hfe_valid = 1
        self.v_expired_valid = 1
        self.v_flags |= FLAG_HFE
        self._built()
        self._packed(self.v_len, 0)
        return 0

    cdef int64_t _entry_cost(self, int64_t field, int64_t value) noexcept nogil:
        # pyscanner.Scanner._entry_cost: an expired field's entry, sized as a
        # field with a TTL and its value (the scan's own sizing only), then
        # taken back out of the sums.
        cdef int64_t m1 = self.v_mem[1], m2 = self.v_mem[2], last = self.last_field, cost
        cdef int nx = self.nx
        self.nx = 0
        self._size(field, 2)
        self._size(value, 1)
        self.nx = nx
        cost = self.v_mem[2] + self.v_mem[1] - m2 - m1
        self.v_mem[1] = m1
        self.v_mem[2] = m2
        self.last_field = last
        return cost

    cdef int _keep_expiry(self, int64_t expiry, int64_t at) except -1 nogil:
        grow_buffer(&self.vset_buf, &self.vset_cap, (at + 1) * 8, 256 * 8)
        (<int64_t*>self.vset_buf)[at] = expiry
        return 0

    cdef int _vset_bytes(self) except -1:
        # The volatile set of the expiries kept, in the scan's own sizing and
        # every slot's that has one.
        cdef const int64_t* kept = <const int64_t*>self.vset_buf
        cdef int s
        expiries = [kept[i] for i in range(self.v_hfe)]
        if self.vset_table:
            self.v_mem[2] += vset_bytes(expiries, self.q16, self.vset_table)
        for s in range(self.nx):
            if self.x_vset[s]:
                self.x_mem[s * ROLES + 2] += vset_bytes(expiries, self.x_alloc[s], self.x_vset[s])
        return 0

    cdef int _path_hash(self) except -1 nogil:
        # Valkey 9.2 path hash: [paths], then per path [path][fields] and its
        # field/value pairs (rdb.c as of RDB 81; no real dump has checked it).
        cdef int64_t paths, fields, i, j, at
        self.v_kind = KIND_PATH_HASH
        paths = self._count()
        for i in range(paths):
            self._elem(self.skip_string())
            at = self.base + self.pos
            fields = self._count()
            if fields == 0:
                with gil: self.fail("path hash: a path with no fields (the loader rejects it)", at)
            for j in range(fields):
                self._elem(self.skip_string())
                self._elem(self.skip_string())
        self.v_len = paths
        return 0

    cdef int _module_ops(self) except -1 nogil:
        # Module values describe themselves: typed fields until EOF (module.c).
        cdef int64_t at
        cdef int64_t op
        while True:
            at = self.base + self.pos
            op = self.read_plain_len()
            if op == MODULE_OP_EOF:
                return 0
            if op == MODULE_OP_SINT or op == MODULE_OP_UINT:
                self.read_u64_len()
            elif op == MODULE_OP_FLOAT:
                self.need(4)
                self.pos += 4
            elif op == MODULE_OP_DOUBLE:
                self.need(8)
                self.pos += 8
            elif op == MODULE_OP_STRING:
                self.skip_string()
            else:
                with gil: self.fail(f"unknown module value opcode {op}", at)

    # ------------------------------------------------------------- key/value
    cdef int _key_value(self, int64_t at, int rdb_type) except -1 nogil:
        cdef int64_t clen = 0
        cdef int kind
        cdef const uint8_t* kp
        cdef Py_ssize_t kn
        cdef int64_t vstart
        cdef Py_ssize_t kn2
        cdef char digits_buf[24]
        cdef Py_ssize_t r = self.rows
        cdef int32_t koff = self.c_key_off[r]
        cdef uint16_t db = <uint16_t>self.db
        cdef int s
        self._start(at)
        kind = self.read_string_header(&clen)
        if kind != 1 and self.s_len > KEY_TEXT_MAX:
            with gil: self.fail(f"key of {self.s_len} bytes: longer than the 1 GiB rdbscan supports")
        if kind == 1:
            kn = snprintf(digits_buf, sizeof(digits_buf), "%lld", <long long>clen)
            kp = <const uint8_t*>digits_buf
        elif kind == 2:
            self.lzf_into_scratch(clen, self.s_len)
            kp = self.scratch
            kn = self.s_len
        else:
            self.need(self.s_len)
            kp = self.p + self.pos
            kn = self.s_len
            self.pos += kn
        # Copy the key now: reading the value may move the window.
        if koff + kn > self.key_cap:
            self._grow_keys(koff + kn)
        memcpy(self.c_key_data + koff, kp, kn)
        self.c_slot[r] = key_slot(kp, kn)
        self.in_key = 1
        self.cur_koff = koff
        self.cur_klen = kn

        vstart = self.base + self.pos - 1
        self.v_len_valid = 1
        self.v_max = 0
        self.v_nodes = 0
        self.v_blob = 0
        self.v_elem = 0
        self.v_mem[0] = self.v_mem[1] = self.v_mem[2] = self.v_mem[3] = self.v_mem[4] = 0
        self.v_mem_blobs = 0
        self.v_lp = self.v_lp70 = self.v_zl = self.v_intw = 0
        self.zl_prev = 0
        self.v_runmax = -1
        for s in range(self.nconv):
            self.v_conv[s] = -1
        for s in range(self.nx * ROLES):
            self.x_mem[s] = 0
        for s in range(self.nx):
            self.x_blobs[s] = 0
        self.w_sized = 0
        self.v_flags = 0
        self.v_stream = 0
        self.v_hfe_valid = 0
        self.v_expired_valid = 0
        self._value(rdb_type)

        # Only now is the row complete: commit it.
        kn2 = kn
        if utf8_valid(self.c_key_data + koff, kn):
            self.c_raw_valid[r] = 0
            self.c_raw_off[r + 1] = self.c_raw_off[r]
        else:
            with gil:
                kn2 = self._escape_key(r, koff, kn)
        self.c_key_off[r + 1] = koff + kn2
        if koff + kn2 >= KEY_TEXT_MAX:
            self.batch_limit = r + 1        # a batch's keys stay within int32 offsets
        self.c_db[r] = db
        self.c_kind[r] = self.v_kind
        self.c_rdb_type[r] = rdb_type
        self.c_length[r] = self.v_len
        self.c_length_valid[r] = self.v_len_valid
        self.c_max[r] = self.v_max
        self.c_serialized[r] = self.base + self.pos - vstart + self.meta_bytes
        self.c_offset[r] = self.rec_start
        self.c_expire[r] = self.pend_expire if self.has_expire else 0
        self.c_expire_valid[r] = self.has_expire
        self.c_idle[r] = self.pend_idle if self.has_idle else 0
        self.c_idle_valid[r] = self.has_idle
        self.c_freq[r] = self.pend_freq if self.has_freq else 0
        self.c_freq_valid[r] = self.has_freq
        self.c_stream_valid[r] = self.v_stream
        self.c_groups[r] = self.v_groups if self.v_stream else 0
        self.c_consumers[r] = self.v_consumers if self.v_stream else 0
        self.c_pending[r] = self.v_pending if self.v_stream else 0
        self.c_hfe_valid[r] = self.v_hfe_valid
        self.c_hfe[r] = self.v_hfe if self.v_hfe_valid else 0
        self.c_expired_valid[r] = self.v_expired_valid
        self.c_expired[r] = self.v_expired if self.v_expired_valid else 0
        self.c_expired_bytes[r] = self.v_expired_bytes if self.v_expired_valid else 0
        self.c_flags[r] = self.v_flags
        self.c_nodes[r] = self.v_nodes
        self.c_blob[r] = self.v_blob
        self.c_elem[r] = self.v_elem
        self.c_mem_elems[r] = self.v_mem[0] + self.v_mem[2] + self.v_mem[3] + self.v_mem[4]
        self.c_mem_values[r] = self.v_mem[1]
        self.c_mem_blobs[r] = self.v_mem_blobs
        self.c_lp[r] = self.v_lp
        self.c_lp70[r] = self.v_lp70
        self.c_zl[r] = self.v_zl
        self.c_intset[r] = INTSET_HEADER + self.v_len * self.v_intw \
            if self.v_kind == KIND_SET and self.v_intw > 0 else 0
        for s in range(self.nconv):
            self.c_conv[s][r] = self.v_conv[s]
        for s in range(self.nx):
            self.cx[s * 3][r] = self.x_mem[s * ROLES] + self.x_mem[s * ROLES + 2] + self.x_mem[s * ROLES + 3] \
                + self.x_mem[s * ROLES + 4]
            self.cx[s * 3 + 1][r] = self.x_mem[s * ROLES + 1]
            self.cx[s * 3 + 2][r] = self.x_blobs[s]
        self.rows = r + 1
        if self.db_keys[db] == 0:
            with gil:
                self.dbs_seen.append(db)
        self.db_keys[db] += 1
        self.db_expires[db] += self.has_expire
        self.in_key = 0
        self._clear_pending()
        return 0

    cdef Py_ssize_t _escape_key(self, Py_ssize_t r, int32_t koff, Py_ssize_t kn) except -1:
        # A key that is not UTF-8: keep its bytes aside, store its \xNN text.
        cdef bytes raw = PyBytes_FromStringAndSize(<char*>self.c_key_data + koff, kn)
        cdef bytes text = escape_key(raw).encode("utf-8")
        cdef Py_ssize_t kn2 = len(text)
        if kn2 > KEY_TEXT_MAX:
            self.fail(f"key of {kn2} bytes as text: longer than the 1 GiB rdbscan supports")
        if koff + kn2 > self.key_cap:
            self._grow_keys(koff + kn2)
        memcpy(self.c_key_data + koff, <char*>text, kn2)
        self.raw_keys.append(raw)
        self.c_raw_valid[r] = 1
        self.c_raw_off[r + 1] = self.c_raw_off[r] + kn
        return kn2

    cdef int _grow_keys(self, Py_ssize_t n) except -1 nogil:
        cdef uint8_t* newp
        cdef Py_ssize_t cap = self.key_cap
        while cap < n:
            cap *= 2
        if cap > 0x7FFFFFFF:
            cap = 0x7FFFFFFF            # n never exceeds it: see KEY_TEXT_MAX
        newp = <uint8_t*>realloc(self.c_key_data, cap)
        if newp == NULL:
            with gil: raise MemoryError()
        self.c_key_data = newp
        self.key_cap = cap
        return 0

    cdef inline int _ht(self, int64_t n, int role) except -1 nogil:
        # An element that the loader keeps as its own allocation (hashtable,
        # skiplist): add what that allocation costs, by the sizing tables,
        # and what it would take in a listpack, ziplist or intset instead
        # (from the string just read: s_int, s_val).
        self._elem(n)
        self._size(n, role)
        self._pack(n)
        return 0

    cdef inline void _pack(self, int64_t n) noexcept nogil:
        # What the element just read (n bytes; s_int, s_val) takes in a
        # listpack, ziplist or intset the loader might build instead.
        if self.s_int:
            self.v_lp += lp_int_entry(self.s_val)
            self.v_lp70 += lp_int_entry(self.s_val)
            self._zl_add(zl_int_body(self.s_val))
            if self.v_intw >= 0 and intset_width(self.s_val) > self.v_intw:
                self.v_intw = intset_width(self.s_val)
        else:
            self.v_lp += lp_str_entry(n)
            self.v_lp70 += lp_str_entry(n)
            self._zl_add(zl_str_body(n))
            self.v_intw = -1

    cdef inline void _zl_add(self, int64_t body) noexcept nogil:
        # One more ziplist entry: its prevlen field holds the previous entry's size.
        cdef int64_t entry = body + (1 if self.zl_prev < 254 else 5)
        self.zl_prev = entry
        self.v_zl += entry

    cdef void _zscore(self, double d, bint exact) noexcept nogil:
        # A sorted-set score as the loader would store it in a listpack (7.2+
        # and 7.0 text) or a ziplist (before 7.0: d2string, then the ziplist
        # tries the text as an integer).  exact: work out 7.2's shortest text.
        cdef int64_t ll
        cdef char buf[40]
        cdef int n17, ns
        if double_to_ll(d, &ll):
            self.v_lp += lp_int_entry(ll)
            self.v_lp70 += lp_int_entry(ll)
            if d == 0 and 1.0 / d < 0:
                self._zl_add(zl_str_body(2))            # "-0"
                return
            if -4503599627370495.0 < d < 4503599627370496.0:
                self._zl_add(zl_int_body(ll))
                return
        elif d != d or d - d != d - d:                  # inf (nan cannot be a score)
            ns = 3 if d > 0 else 4
            self.v_lp += lp_str_entry(ns)
            self.v_lp70 += lp_str_entry(ns)
            self._zl_add(zl_str_body(ns))
            return
        if not exact:
            # a zset this big converts only under limits far beyond the
            # defaults: its fractional scores' text is estimated
            if not double_to_ll(d, &ll):
                self.v_lp += lp_str_entry(SCORE_TEXT_GUESS)
                self.v_lp70 += lp_str_entry(SCORE_TEXT_GUESS)
            self._zl_add(zl_str_body(SCORE_TEXT_GUESS))
            return
        n17 = snprintf(buf, sizeof(buf), "%.17g", d)
        if is_canonical_int(<const uint8_t*>buf, n17):
            self._zl_add(zl_int_body(canonical_value(<const uint8_t*>buf, n17)))
        else:
            self._zl_add(zl_str_body(n17))
        if double_to_ll(d, &ll):
            return
        ns = shortest_text_len(d)
        self.v_lp += lp_str_entry(ns)
        self.v_lp70 += lp_str_entry(n17)

    cdef inline void _size(self, int64_t n, int role) noexcept nogil:
        cdef int64_t size
        if self.pair != NULL and role == 1 and self.last_field < 2 * PAIR_FIELDS:
            self.v_mem[1] += self.pair[self.last_field * 129 + (n if n < PAIR_FIELDS else PAIR_FIELDS)]
        if n < SIZING_LUT:
            self.v_mem[role] += self.lut[role][n]
        else:
            # Past the table: header bytes grow by 4 from 64 KiB (sds type 16 -> 32).
            size = n + self.big_hdr[role] + (4 if n >= 65536 else 0)
            self.v_mem[role] += (jemalloc_size(size, self.q16) if self.big_rounded[role] else size) \
                + self.big_extra[role]
        if self.nx:
            self._size_x(n, role)
        if role != 1:
            # The pair table's row for the value that follows: the field's
            # length, in the second half for a field with TTL metadata; none
            # past PAIR_FIELDS.
            self.last_field = n + (PAIR_FIELDS if role == 2 else 0) if n < PAIR_FIELDS else 2 * PAIR_FIELDS

    cdef void _size_x(self, int64_t n, int role) noexcept nogil:
        # The what-if slots: the same element under their own tables.
        cdef int s, k
        cdef int64_t size
        for s in range(self.nx):
            k = s * ROLES + role
            if self.x_pair[s] != NULL and role == 1 and self.last_field < 2 * PAIR_FIELDS:
                self.x_mem[s * ROLES + 1] += self.x_pair[s][self.last_field * 129 + (n if n < PAIR_FIELDS else PAIR_FIELDS)]
            if n < SIZING_LUT:
                self.x_mem[k] += self.x_lut[k][n]
            else:
                size = n + self.x_big[k] + (4 if n >= 65536 else 0)
                self.x_mem[k] += (jemalloc_size(size, self.x_alloc[s]) if self.x_rounded[k] else size) \
                    + self.x_extra[k]

    cdef inline void _blob_mem(self, int64_t raw, int64_t lp) noexcept nogil:
        # A blob the loader keeps: its allocation in every slot (a ziplist
        # becomes a listpack of lp bytes in slots of 7.0 and later).
        cdef int s
        self.v_mem_blobs += jemalloc_size(lp if self.as_lp else raw, self.q16)
        for s in range(self.nx):
            self.x_blobs[s] += jemalloc_size(lp if self.x_as_lp[s] else raw, self.x_alloc[s])

    cdef inline int _elem(self, int64_t n) except -1 nogil:
        if n > self.v_max:
            self.v_max = n
        self.v_elem += n
        return 0

    cdef inline void _built(self) noexcept nogil:
        # The elements were streamed: the listpack / ziplist the loader would
        # build of them has a header and an end byte.
        self.v_lp += LISTPACK_HEADER + 1
        self.v_lp70 += LISTPACK_HEADER + 1
        self.v_zl += ZIPLIST_HEADER + 1

    cdef int _value(self, int t) except -1 nogil:
        cdef int64_t n, i, nodes, container
        cdef int fmt = 0
        cdef int role
        cdef int64_t m, m2
        cdef int j
        cdef bint allint
        cdef double score
        if t == TYPE_STRING:
            self.v_kind = KIND_STRING
            n = self.skip_value_string(&fmt)
            self.v_len = n
            self.v_max = n
            self.v_elem = n
            if self.s_int:
                self.v_flags |= FLAG_INTEGER
            self.v_flags |= fmt << FORMAT_SHIFT
        elif t == TYPE_LIST:
            self.v_kind = KIND_LIST
            n = self._count()
            for i in range(n):
                m = self.skip_string()
                self._elem(m)
                self._pack(m)
            self.v_len = n
            self._built()
            self._packed(n, 0)
        elif t == TYPE_SET:
            self.v_kind = KIND_SET
            n = self._count()
            allint = 1
            for i in range(n):
                self._ht(self.skip_string(), ROLE_SET)
                if allint and not self.s_int:
                    for j in range(self.nconv):
                        self.v_conv[j] = i
                allint = allint and self.s_int
            self.v_len = n
            self._built()
            if allint:
                self.v_flags |= FLAG_INTEGER
            self._packed(n, allint)
        elif t == TYPE_ZSET or t == TYPE_ZSET_2:
            self.v_kind = KIND_ZSET
            n = self._count()
            for i in range(n):
                self._ht(self.skip_string(), ROLE_ZSET)
                if t == TYPE_ZSET_2:
                    self.need(8)
                    memcpy(&score, self.p + self.pos, 8)
                    self.pos += 8
                    self._zscore(score, n <= SCORE_EXACT_MAX)
                else:
                    m = self.u8()
                    if m < ZSET_SCORE_NAN:
                        # Taken as written (RDB 1-7): an integer text or a string.
                        self.need(m)
                        if is_canonical_int(self.p + self.pos, m):
                            self.v_lp += lp_int_entry(canonical_value(self.p + self.pos, m))
                            self._zl_add(zl_int_body(canonical_value(self.p + self.pos, m)))
                        else:
                            self.v_lp += lp_str_entry(m)
                            self._zl_add(zl_str_body(m))
                        self.v_lp70 = self.v_lp
                        self.pos += m
                    else:
                        self._zscore(INFINITY if m == ZSET_SCORE_NAN + 1 else -INFINITY, n <= SCORE_EXACT_MAX)
            self.v_len = n
            self._built()
        elif t == TYPE_HASH:
            self.v_kind = KIND_HASH
            n = self._count()
            for i in range(n):
                m = self.skip_string()
                self._ht(m, 0)
                m2 = self.skip_string()
                self._ht(m2, 1)
                if m2 > m:
                    m = m2
                if m > self.v_runmax:
                    self.v_runmax = m
                    for j in range(self.nconv):
                        if self.v_conv[j] < 0 and m > self.conv_limit[j]:
                            self.v_conv[j] = i
            self.v_len = n
            self._built()
            self._packed(n, 0)
        elif t == VALKEY_TYPE_HASH_2 and self.flavor == FLAVOR_VALKEY:
            self._valkey_hash_2()
        elif t == VALKEY_TYPE_PATH_HASH and self.flavor == FLAVOR_VALKEY:
            self._path_hash()
        elif t == TYPE_HASH_METADATA or t == TYPE_HASH_METADATA_PRE_GA:
            # Both Redis hash-with-field-TTL layouts: [ttl][field][value]...
            self.v_kind = KIND_HASH
            if t == TYPE_HASH_METADATA:
                self.fixed(8)   # minimum field expiry, relative base of the TTLs
            n = self._count()
            self.v_hfe = 0
            for i in range(n):
                role = 0
                if self.read_plain_len() != 0:
                    self.v_hfe += 1
                    role = 2
                self._ht(self.skip_string(), role)
                self._ht(self.skip_string(), 1)
                # listpackEx keeps a TTL entry per field: 0, or a millisecond time
                self.v_lp += 10 if role == 2 else 2
                self.v_lp70 += 10 if role == 2 else 2
            self.v_len = n
            self._built()
            self.v_hfe_valid = 1
            self.v_flags |= FLAG_HFE
        elif t == TYPE_LIST_QUICKLIST or t == TYPE_LIST_QUICKLIST_2:
            self.v_kind = KIND_LIST
            nodes = self._count()
            self.v_len = 0
            for i in range(nodes):
                container = QUICKLIST_NODE_PACKED
                if t == TYPE_LIST_QUICKLIST_2:
                    container = self.read_plain_len()
                    if container != QUICKLIST_NODE_PACKED and container != QUICKLIST_NODE_PLAIN:
                        with gil: self.fail(f"quicklist node container {container} is neither plain (1) nor packed (2)")
                if container == QUICKLIST_NODE_PLAIN:
                    n = self.skip_string()
                    self.v_len += 1
                    self.v_blob += n
                    self._blob_mem(n, n)
                    self.v_lp += n
                    self.v_lp70 += n
                    self.v_zl += n
                    self._elem(n)
                    self.v_flags |= FLAG_PLAIN_NODE
                    continue
                self.load_blob()
                if t == TYPE_LIST_QUICKLIST:
                    self.walk_ziplist(1, 1)
                else:
                    self.walk_listpack(1, 1, -1)
                self._absorb()
                self.v_len += self.w_count
            self.v_nodes = nodes
        elif t == TYPE_LIST_ZIPLIST or t == TYPE_ZSET_ZIPLIST or t == TYPE_HASH_ZIPLIST:
            self.load_blob()
            # Compact sets, zsets and hashes: also size their elements as a
            # hashtable would hold them, in case the loader converts them.
            self.w_sized = t != TYPE_LIST_ZIPLIST
            self.w_role = ROLE_ZSET if t == TYPE_ZSET_ZIPLIST else 0
            if t == TYPE_LIST_ZIPLIST:
                self.v_kind = KIND_LIST
                self.walk_ziplist(1, 1)
                self.v_len = self.w_count
            elif t == TYPE_ZSET_ZIPLIST:
                self.v_kind = KIND_ZSET
                self.walk_ziplist(2, 1)
                self.v_len = self.w_count // 2
            else:
                self.v_kind = KIND_HASH
                self.walk_ziplist(2, 3)
                self.v_len = self.w_count // 2
            self._absorb()
        elif t == TYPE_HASH_LISTPACK or t == TYPE_ZSET_LISTPACK or t == TYPE_SET_LISTPACK:
            self.load_blob()
            self.w_sized = 1
            self.w_role = ROLE_SET if t == TYPE_SET_LISTPACK else ROLE_ZSET if t == TYPE_ZSET_LISTPACK else 0
            if t == TYPE_SET_LISTPACK:
                self.v_kind = KIND_SET
                self.walk_listpack(1, 1, -1)
                self.v_len = self.w_count
                self.v_intw = self.w_intw
                if self.w_allint:
                    self.v_flags |= FLAG_INTEGER
            elif t == TYPE_ZSET_LISTPACK:
                self.v_kind = KIND_ZSET
                self.walk_listpack(2, 1, -1)
                self.v_len = self.w_count // 2
            else:
                self.v_kind = KIND_HASH
                self.walk_listpack(2, 3, -1)
                self.v_len = self.w_count // 2
            self._absorb()
        elif t == TYPE_HASH_LISTPACK_EX or t == TYPE_HASH_LISTPACK_EX_PRE_GA:
            self.v_kind = KIND_HASH
            if t == TYPE_HASH_LISTPACK_EX:
                self.fixed(8)   # minimum field expiry
            self.load_blob()
            self.w_sized = 1
            self.w_role = 0
            self.walk_listpack(3, 3, 2)
            self.v_len = self.w_count // 3
            self.v_hfe = self.w_ttl
            self.v_hfe_valid = 1
            self.v_flags |= FLAG_HFE
            self._absorb()
        elif t == TYPE_SET_INTSET:
            self.v_kind = KIND_SET
            self.load_blob()
            self.w_sized = 1
            self.walk_intset()
            self.v_len = self.w_count
            self.v_intw = self.w_intw
            self.v_flags |= FLAG_INTEGER
            self._absorb()
        elif t == TYPE_HASH_ZIPMAP:
            self.v_kind = KIND_HASH
            self.load_blob()
            self.w_sized = 1
            self.walk_zipmap()
            self.v_len = self.w_count // 2
            self._absorb()
        elif t == TYPE_STREAM_LISTPACKS or t == TYPE_STREAM_LISTPACKS_2 or t == TYPE_STREAM_LISTPACKS_3 \
                or t == TYPE_STREAM_LISTPACKS_4 or t == TYPE_STREAM_LISTPACKS_5:
            self.v_kind = KIND_STREAM
            self._stream(t)
        elif t == TYPE_ARRAY:
            self._array()
        elif t == TYPE_HASH_TMPL_LP or t == TYPE_HASH_TMPL_LP_REF:
            self._hash_tmpl_lp(t)
        elif t == TYPE_HASH_TMPL_ARRAY or t == TYPE_HASH_TMPL_ARRAY_REF:
            self._hash_tmpl_array(t)
        elif t == TYPE_GCRA:
            # A GCRA rate limiter: its theoretical arrival time, one number.
            self.read_u64_len()
            self.v_kind = KIND_GCRA
            self.v_len = 0
            self.v_len_valid = 0
        elif t == TYPE_MODULE_2:
            with gil:
                self._module_value()
        elif t == TYPE_MODULE_PRE_GA:
            with gil: self.fail("module value in the Redis 4.0 release-candidate format (type 6) cannot be skipped without its module")
        else:
            with gil: self.fail(f"unknown value type {t}")
        return 0

    cdef int64_t _count(self) except -1 nogil:
        # A collection length; each element takes at least one byte, so a
        # count beyond what a 64-bit file could hold is corruption.
        cdef int64_t at = self.base + self.pos
        cdef int64_t n = self.read_plain_len()
        if n > (1LL << 56):
            with gil: self.fail(f"element count {n} is implausibly large", at)
        return n

    cdef inline void _absorb(self) noexcept nogil:
        if self.w_max > self.v_max:
            self.v_max = self.w_max
        self.v_elem += self.w_sum
        self.v_blob += self.blob_len
        self.v_lp += self.w_lp
        self.v_lp70 += self.w_lp
        self.v_zl += self.w_zl
        self._blob_mem(self.blob_len, self.w_lp)

    cdef int _module_value(self) except -1:
        cdef uint64_t mid = self.read_u64_len()
        name = module_type_name(mid)
        code = self.module_codes.get(name)
        if code is None:
            code = KIND_MODULE_BASE + len(self.module_names)
            if code > 255:
                self.fail(f"more than {255 - KIND_MODULE_BASE + 1} module types in one dump")
            self.module_names.append(name)
            self.module_codes[name] = code
        self.v_kind = code
        self._module_ops()
        self.v_len = 0
        self.v_len_valid = 0
        return 0

    cdef int _stream(self, int t) except -1 nogil:
        # For streams the sized sums carry what MEMORY USAGE needs of the
        # radix trees.  Counting mode (up to Redis 8.2, STREAM_NODES): their
        # nodes (main tree and every PEL) and the bytes of consumer names.
        # Allocation mode (Redis 8.4+, STREAM_ALLOC): the bytes every tree
        # allocates (main, groups, each PEL and consumer table, each
        # consumer PEL, the PEL-ID index), and the allocations of consumer
        # names and IDMP producers and entries; Redis 8.4
        # (STREAM_ALLOC_PEL_TIME) also keeps each group's PEL by delivery
        # time; Valkey 8.1+ (STREAM_TREES): the bytes of the main tree, each
        # PEL and each consumer PEL, and the bytes of consumer names
        # (pyscanner._stream).  What-if slots may want another mode or
        # allocator than the scan's own: every sum any of them needs is kept
        # in this one pass (st_*), then each takes its own (_stream_pick).
        cdef int64_t nodes, i, j, i2, groups, consumers, pel, cpel, pel_groups = 0
        cdef int64_t total_pel = 0, size
        cdef int64_t pel_bytes[ALLOCATOR_CODES]
        cdef RaxCount tree
        cdef bint counted = self.st_nodes
        cdef bint alloc = self.st_alloc
        cdef bint tables = self.st_tables      # Redis 8.4+: names, tables, PEL index
        cdef bint by_time = self.st_time
        cdef int amask = self.st_amask, a
        cdef const uint8_t* name
        self.st_n0 = self.st_n1 = 0
        for a in range(ALLOCATOR_CODES):
            self.st_a0[a] = self.st_g0[a] = self.st_a1[a] = self.st_i1[a] = self.st_t0[a] = pel_bytes[a] = 0
        rax_reset(&tree)
        rs_reset(&self.rs_ids, amask)
        nodes = self._count()
        for i in range(nodes):
            self.load_blob()            # master ID of the node (16 bytes)
            if self.blob_len != STREAM_ID_BYTES:
                with gil: self.fail(f"stream node key must be {STREAM_ID_BYTES} bytes, found {self.blob_len}")
            if alloc:
                rs_add(&self.rs_ids, self.blob, STREAM_ID_BYTES)
            if counted:
                rax_add(&tree, self.blob)
            self.load_blob()
            self.walk_listpack(1, 1, -1)
            self._absorb()
        self.v_nodes = nodes
        self.st_n0 = tree.nodes
        if alloc:
            rs_sum(&self.rs_ids, self.st_a0)
        self.v_len = self.read_plain_len()
        self.read_u64_len(); self.read_u64_len()              # last ID
        if t >= TYPE_STREAM_LISTPACKS_2:
            self.read_u64_len(); self.read_u64_len()          # first ID
            self.read_u64_len(); self.read_u64_len()          # max deleted ID
            self.read_u64_len()                               # entries added
        groups = self._count()
        self.v_groups = groups
        self.v_consumers = 0
        self.v_pending = 0
        rs_reset(&self.rs_groups, amask)
        for i in range(groups):
            if tables:
                name = self.read_name(&size)                  # group name
                rs_add(&self.rs_groups, name, size)
            else:
                self.skip_string()
            self.read_u64_len(); self.read_u64_len()          # last delivered ID
            if t >= TYPE_STREAM_LISTPACKS_2:
                self.read_u64_len()                           # entries read
            pel = self._count()
            self.v_pending += pel
            rax_reset(&tree)
            rs_reset(&self.rs_ids, amask)
            for j in range(pel):
                self.need(STREAM_ID_BYTES + 8)
                if alloc:
                    rs_add(&self.rs_ids, self.p + self.pos, STREAM_ID_BYTES)
                    if tables:
                        self.keep_pel_id(total_pel)
                        total_pel += 1
                if counted:
                    rax_add(&tree, self.p + self.pos)
                if by_time:                                   # delivery time, big-endian, then the ID
                    self.keep_time_key(j)
                self.pos += STREAM_ID_BYTES + 8               # ID, delivery time
                self.read_u64_len()                           # delivery count
            self.st_n0 += tree.nodes
            if alloc:
                rs_sum(&self.rs_ids, self.st_a0)
                if pel and tables:
                    pel_groups += 1
                    for a in range(ALLOCATOR_CODES):
                        pel_bytes[a] = 0
                    rs_sum(&self.rs_ids, pel_bytes)
            if by_time:
                # Redis 8.4 pel_by_time: the same entries keyed by delivery
                # time, no values; built in time order.
                qsort(self.time_keys, pel, PEL_TIME_KEY_BYTES, cmp_time_key)
                rs_reset(&self.rs_union, amask, 1)
                for j in range(pel):
                    rs_add(&self.rs_union, self.time_keys + j * PEL_TIME_KEY_BYTES, PEL_TIME_KEY_BYTES)
                rs_sum(&self.rs_union, self.st_t0)
            consumers = self._count()
            self.v_consumers += consumers
            rs_reset(&self.rs_consumers, amask)
            for j in range(consumers):
                if tables:
                    name = self.read_name(&size)              # consumer name
                    rs_add(&self.rs_consumers, name, size)
                    for a in range(ALLOCATOR_CODES):
                        if (amask >> a) & 1:
                            self.st_a1[a] += sds_alloc_size(size, a)
                else:
                    size = self.skip_string()                 # consumer name
                self.st_n1 += size
                self.fixed(8)                                 # seen time
                if t >= TYPE_STREAM_LISTPACKS_3:
                    self.fixed(8)                             # active time
                cpel = self._count()
                rax_reset(&tree)
                rs_reset(&self.rs_ids, amask)
                for i2 in range(cpel):
                    self.need(STREAM_ID_BYTES)
                    if alloc:
                        rs_add(&self.rs_ids, self.p + self.pos, STREAM_ID_BYTES)
                    if counted:
                        rax_add(&tree, self.p + self.pos)
                    self.pos += STREAM_ID_BYTES
                self.st_n0 += tree.nodes
                if alloc:
                    rs_sum(&self.rs_ids, self.st_a0)
            if tables:
                rs_sum(&self.rs_consumers, self.st_g0)
            if t >= TYPE_STREAM_LISTPACKS_5:
                # The group's NACK zone (8.8 XNACK): IDs of PEL entries no
                # consumer owns.  They are in the group PEL above already.
                self.skip(self._count() * STREAM_ID_BYTES)
        if tables and groups:
            rs_sum(&self.rs_groups, self.st_g0)
        if tables and pel_groups:
            # The index of PEL IDs across groups: one group's PEL tree again,
            # or the tree of their union.
            if pel_groups > 1:
                qsort(self.pel_ids, total_pel, STREAM_ID_BYTES, cmp_id)
                rs_reset(&self.rs_union, amask)
                for i in range(total_pel):
                    if i == 0 or memcmp(self.pel_ids + i * STREAM_ID_BYTES,
                                        self.pel_ids + (i - 1) * STREAM_ID_BYTES, STREAM_ID_BYTES) != 0:
                        rs_add(&self.rs_union, self.pel_ids + i * STREAM_ID_BYTES, STREAM_ID_BYTES)
                for a in range(ALLOCATOR_CODES):
                    pel_bytes[a] = 0
                rs_sum(&self.rs_union, pel_bytes)
            for a in range(ALLOCATOR_CODES):
                self.st_g0[a] += pel_bytes[a]
        if t >= TYPE_STREAM_LISTPACKS_4:
            self._stream_idmp(alloc, amask)
        self._stream_pick(self.stream_alloc, self.q16, &self.v_mem[0], &self.v_mem[1])
        for i in range(self.nx):
            self._stream_pick(self.x_stream[i], self.x_alloc[i], &self.x_mem[i * ROLES], &self.x_mem[i * ROLES + 1])
        self.v_stream = 1
        return 0

    cdef inline void _stream_pick(self, int mode, int a, int64_t* elements, int64_t* values) noexcept nogil:
        # The stream sums of one sizing (mode and allocator) from those _stream kept.
        if mode == STREAM_NODES:
            elements[0] = self.st_n0
            values[0] = self.st_n1
        elif mode == STREAM_TREES:
            elements[0] = self.st_a0[a]
            values[0] = self.st_n1 + self.st_i1[a]
        else:
            elements[0] = self.st_a0[a] + self.st_g0[a] + (self.st_t0[a] if mode == STREAM_ALLOC_PEL_TIME else 0)
            values[0] = self.st_a1[a] + self.st_i1[a]

    cdef int keep_time_key(self, int64_t index) except -1 nogil:
        # The pel_by_time key of the PEL entry at pos into slot index:
        # its delivery time (little-endian in the dump) big-endian, then its ID.
        cdef uint8_t* key
        cdef int b
        grow_buffer(&self.time_keys, &self.time_cap, (index + 1) * PEL_TIME_KEY_BYTES, 64 * PEL_TIME_KEY_BYTES)
        key = self.time_keys + index * PEL_TIME_KEY_BYTES
        for b in range(8):
            key[b] = self.p[self.pos + STREAM_ID_BYTES + 7 - b]
        memcpy(key + 8, self.p + self.pos, STREAM_ID_BYTES)
        return 0

    cdef int keep_pel_id(self, int64_t index) except -1 nogil:
        # Copy the PEL ID at pos into the stream's list of them (slot index).
        grow_buffer(&self.pel_ids, &self.pel_cap, (index + 1) * STREAM_ID_BYTES, 64 * STREAM_ID_BYTES)
        memcpy(self.pel_ids + index * STREAM_ID_BYTES, self.p + self.pos, STREAM_ID_BYTES)
        return 0

    cdef const uint8_t* read_name(self, int64_t* size) except NULL nogil:
        # A whole (short) string in place: in the window, the scratch buffer
        # (LZF) or the digits buffer (an integer encoding); valid until the
        # next read.
        cdef int64_t clen = 0
        cdef int kind = self.read_string_header(&clen)
        if kind == 1:
            size[0] = snprintf(<char*>self.digits_buf, sizeof(self.digits_buf), "%lld", <long long>clen)
            return self.digits_buf
        if kind == 2:
            self.lzf_into_scratch(clen, self.s_len)
            size[0] = self.s_len
            return self.scratch if self.s_len else self.digits_buf
        self.need(self.s_len)
        size[0] = self.s_len
        self.pos += self.s_len
        return self.p + self.pos - self.s_len

    cdef int _stream_idmp(self, bint alloc, int amask) except -1 nogil:
        # Redis 8.6 IDMP tail: duration, max entries, then per producer its
        # id and (IID, stream ID) pairs; all-time IID counters last.  In
        # allocation mode each producer and each entry (its IID inline)
        # is counted, under each allocator of amask; the producers' own
        # table is not tracked by Redis.
        cdef int64_t producers, entries, i, j, size
        cdef int a
        self.read_u64_len(); self.read_u64_len()          # IDMP duration, max entries
        producers = self._count()
        for i in range(producers):
            self.skip_string()                            # producer id
            if alloc:
                for a in range(ALLOCATOR_CODES):
                    if (amask >> a) & 1:
                        self.st_i1[a] += jemalloc_size(IDMP_PRODUCER, a)
            entries = self._count()
            for j in range(entries):
                size = self.skip_string()                 # IID
                if alloc:
                    for a in range(ALLOCATOR_CODES):
                        if (amask >> a) & 1:
                            self.st_i1[a] += jemalloc_size(IDMP_ENTRY + size, a)
                self.read_u64_len(); self.read_u64_len()  # stream ID it maps to
        self.read_u64_len(); self.read_u64_len()          # IIDs added, duplicates
        return 0

    cdef int _array(self) except -1 nogil:
        # Redis 8.8 sparse array: count, optional insert cursor, then
        # (index, tag, element) triples; length is ARCOUNT (elements set),
        # since ARLEN (highest index + 1) may not fit an int64.
        cdef int64_t n = self._count()
        cdef int64_t at = self.base + self.pos
        cdef int64_t has_cursor = self.read_plain_len()
        cdef int64_t i, tag, size = 0
        cdef double d
        if has_cursor == 1:
            self.read_u64_len()                           # ARINSERT cursor
        elif has_cursor != 0:
            with gil: self.fail(f"array insert cursor marker {has_cursor} is neither 0 nor 1", at)
        for i in range(n):
            self.read_u64_len()                           # index
            at = self.base + self.pos
            tag = self.read_plain_len()
            if tag == ARRAY_TAG_SDS or tag == ARRAY_TAG_SMALL_STR:
                size = self.skip_string()
                if tag == ARRAY_TAG_SMALL_STR and size > ARRAY_SMALL_STR_MAX:
                    with gil: self.fail(f"array small string of {size} bytes (at most {ARRAY_SMALL_STR_MAX})", at)
            elif tag == ARRAY_TAG_INT:
                size = digits(self.fixed(8))
            elif tag == ARRAY_TAG_FLOAT:
                self.need(8)
                memcpy(&d, self.p + self.pos, 8)
                self.pos += 8
                size = float_text_len(d)
            else:
                with gil: self.fail(f"unknown array element tag {tag}", at)
            self._elem(size)
        self.v_kind = KIND_ARRAY
        self.v_len = n
        return 0

    cdef int _hash_tmpl_lp(self, int t) except -1 nogil:
        # Redis 8.10 template hash as a listpack [template id][v0]...[vN-1];
        # the self-contained DUMP form (29) first carries its source template
        # id and a listpack of the field names.
        cdef int64_t at = self.base + self.pos
        cdef int64_t fields = 0, f_longest = 0, f_total = 0, tid = 0, dig, longest, total, count
        cdef Py_ssize_t first, rest
        cdef bint isint
        if t == TYPE_HASH_TMPL_LP:
            self.read_u64_len()                           # the writer's template id
            self.load_blob()
            self.walk_listpack(1, 1, -1)
            fields = self.w_count
            f_longest = self.w_max
            f_total = self.w_sum
            if fields == 0:
                with gil: self.fail("hash template with zero fields", at)
            at = self.base + self.pos
        self.load_blob()
        self.walk_listpack(1, 1, -1)
        count = self.w_count
        longest = self.w_max
        total = self.w_sum
        if count == 0:
            with gil: self.blob_fail("template listpack is empty")
        first = lp_first(self.blob, self.blob_len, &tid, &isint)
        if not isint:
            with gil: self.blob_fail("template listpack: its first entry (the template id) is not an integer")
        if t == TYPE_HASH_TMPL_LP_REF:
            if tid < 0:
                with gil:
                    self.fail(f"hash template {tid} is not defined (no HASH_TEMPLATE record before this key)", at)
            self._template(<uint64_t>tid, at)
            fields = self.tmpl_fields[tid]
            f_longest = self.tmpl_longest[tid]
            f_total = self.tmpl_bytes[tid]
        dig = digits(tid)
        if count - 1 != fields:
            with gil: self.blob_fail(f"template listpack holds {count - 1} values for {fields} fields")
        self.v_blob = self.blob_len
        self.v_lp = self.v_lp70 = self.v_zl = self.blob_len
        self._blob_mem(self.blob_len, self.blob_len)
        if longest <= dig:
            # The id may be the longest entry: measure the values without it.
            rest = self.blob_len - first
            if rest > self.scratch2_cap:
                self.scratch2 = <uint8_t*>realloc(self.scratch2, rest)
                if self.scratch2 == NULL:
                    with gil: raise MemoryError()
                self.scratch2_cap = rest
            memcpy(self.scratch2, self.blob, LISTPACK_HEADER)
            memcpy(self.scratch2 + LISTPACK_HEADER, self.blob + LISTPACK_HEADER + first,
                   self.blob_len - LISTPACK_HEADER - first)
            self.scratch2[0] = rest & 0xFF
            self.scratch2[1] = (rest >> 8) & 0xFF
            self.scratch2[2] = (rest >> 16) & 0xFF
            self.scratch2[3] = (rest >> 24) & 0xFF
            self.blob = self.scratch2
            self.blob_len = rest
            self.walk_listpack(1, 1, -1)
            longest = self.w_max
        self.v_kind = KIND_HASH
        self.v_len = fields
        self.v_max = longest if longest > f_longest else f_longest
        self.v_elem = total - dig + f_total
        return 0

    cdef int _hash_tmpl_array(self, int t) except -1 nogil:
        # Redis 8.10 template hash with values as separate strings:
        # [template id][v0]...[vN-1], the DUMP form (31) with [count][f0]...
        # [fN-1] after the id.
        cdef int64_t at = self.base + self.pos
        cdef uint64_t tid = self.read_u64_len()
        cdef int64_t fields, f_longest = 0, f_total = 0, i, size
        if t == TYPE_HASH_TMPL_ARRAY:
            fields = self._count()
            if fields == 0:
                with gil: self.fail("hash template with zero fields", at)
            for i in range(fields):
                size = self.skip_string()
                if size > f_longest:
                    f_longest = size
                f_total += size
        else:
            self._template(tid, at)
            fields = self.tmpl_fields[tid]
            f_longest = self.tmpl_longest[tid]
            f_total = self.tmpl_bytes[tid]
        for i in range(fields):
            self._elem(self.skip_string())
        self.v_kind = KIND_HASH
        self.v_len = fields
        if f_longest > self.v_max:
            self.v_max = f_longest
        self.v_elem += f_total
        return 0

    # ------------------------------------------------------------ blob walks
    cdef int blob_fail(self, str what) except -1:
        self.fail(f"corrupt blob ({self.blob_len} bytes): {what}", self.base + self.pos - self.blob_len)

    cdef int walk_listpack(self, int stride, int mask, int ttl_at) except -1 nogil:
        # Walk a listpack: count entries; entries at positions i % stride
        # whose bit is set in mask feed max/sum; when ttl_at >= 0 count the
        # nonzero integers at that position (listpackEx field TTLs).
        cdef const uint8_t* p = self.blob
        cdef const uint8_t* e
        cdef Py_ssize_t n = self.blob_len
        cdef int64_t count = 0, mx = 0, sm = 0, ttl = 0, ln, val
        cdef int64_t slen
        cdef uint8_t c
        cdef bint isint, allint = 1
        cdef int pos_in = 0
        cdef int64_t total
        cdef int64_t zl = ZIPLIST_HEADER + 1, zprev = 0, zbody, intw = 0
        cdef bint want_zl = self.want_zl
        cdef bint want_intw = stride == 1 and self.v_kind == KIND_SET
        if n < LISTPACK_HEADER + 1:
            with gil: self.blob_fail("shorter than a listpack header")
        total = <int64_t>le_int(p, 4) & 0xFFFFFFFFLL
        if total != n:
            with gil: self.blob_fail(f"listpack header says {total} bytes")
        e = p + LISTPACK_HEADER
        while True:
            if e >= p + n:
                with gil: self.blob_fail("listpack has no end marker")
            c = e[0]
            if c == LISTPACK_END:
                break
            isint = 1
            val = 0
            if c < 0x80:
                val = c; ln = 1
            elif (c & 0xC0) == 0x80:
                slen = c & 0x3F; ln = 1 + slen; isint = 0
            elif (c & 0xE0) == 0xC0:
                if e + 2 > p + n:
                    with gil: self.blob_fail("truncated listpack entry")
                val = ((c & 0x1F) << 8) | e[1]
                if val >= 4096: val -= 8192
                ln = 2
            elif (c & 0xF0) == 0xE0:
                if e + 2 > p + n:
                    with gil: self.blob_fail("truncated listpack entry")
                slen = ((c & 0x0F) << 8) | e[1]; ln = 2 + slen; isint = 0
            elif c == 0xF0:
                if e + 5 > p + n:
                    with gil: self.blob_fail("truncated listpack entry")
                slen = le_int(e + 1, 4) & 0xFFFFFFFFLL; ln = 5 + slen; isint = 0
            elif c == 0xF1:
                ln = 3
            elif c == 0xF2:
                ln = 4
            elif c == 0xF3:
                ln = 5
            elif c == 0xF4:
                ln = 9
            else:
                with gil: self.blob_fail(f"listpack entry encoding 0x{c:02x}")
            if e + ln > p + n:
                with gil: self.blob_fail("listpack entry runs past the end")
            if isint:
                if c >= 0xF1:
                    val = le_int(e + 1, ln - 1)
                slen = digits(val)
                if want_intw and intset_width(val) > intw:
                    intw = intset_width(val)
            else:
                allint = 0
            if want_zl:
                # the entry in the ziplist a release before 7.0 would hold
                zbody = zl_int_body(val) if isint else zl_str_body(slen)
                zprev = zbody + (1 if zprev < 254 else 5)
                zl += zprev
            if (mask >> pos_in) & 1:
                if slen > mx: mx = slen
                sm += slen
                if self.w_sized:
                    self._size(slen, self.w_role + (pos_in & 1))
            if pos_in == ttl_at and val != 0:
                ttl += 1
            count += 1
            pos_in += 1
            if pos_in == stride:
                pos_in = 0
            # back-length: 1 byte per 7 bits of the entry length
            if ln <= 127: e += ln + 1
            elif ln < 16383: e += ln + 2
            elif ln < 2097151: e += ln + 3
            elif ln < 268435455: e += ln + 4
            else: e += ln + 5
        if e + 1 != p + n:
            with gil: self.blob_fail("bytes after the listpack end marker")
        self.w_count = count
        self.w_max = mx
        self.w_sum = sm
        self.w_ttl = ttl
        self.w_allint = allint
        self.w_lp = n
        self.w_zl = zl if want_zl else n
        self.w_intw = intw if allint and want_intw else -1
        return 0

    cdef int walk_ziplist(self, int stride, int mask) except -1 nogil:
        cdef const uint8_t* p = self.blob
        cdef const uint8_t* e
        cdef const uint8_t* endp
        cdef Py_ssize_t n = self.blob_len
        cdef int64_t count = 0, mx = 0, sm = 0, slen, val
        cdef uint8_t c
        cdef int pos_in = 0
        cdef int64_t total
        cdef int64_t lp = LISTPACK_HEADER + 1
        cdef bint isint
        if n < ZIPLIST_HEADER + 1:
            with gil: self.blob_fail("shorter than a ziplist header")
        total = le_int(p, 4) & 0xFFFFFFFFLL
        if total != n:
            with gil: self.blob_fail(f"ziplist header says {total} bytes")
        e = p + ZIPLIST_HEADER
        endp = p + n
        while True:
            if e >= endp:
                with gil: self.blob_fail("ziplist has no end marker")
            if e[0] == ZIPLIST_END:
                break
            # previous entry length: 1 byte, or 0xFE and 4 bytes
            if e[0] == ZIPLIST_BIGLEN:
                e += 5
            else:
                e += 1
            if e >= endp:
                with gil: self.blob_fail("truncated ziplist entry")
            c = e[0]
            isint = 0
            if (c >> 6) == 0:
                slen = c & 0x3F; e += 1 + slen
            elif (c >> 6) == 1:
                if e + 2 > endp:
                    with gil: self.blob_fail("truncated ziplist entry")
                slen = ((c & 0x3F) << 8) | e[1]; e += 2 + slen
            elif c == 0x80:
                if e + 5 > endp:
                    with gil: self.blob_fail("truncated ziplist entry")
                slen = (<int64_t>e[1] << 24) | (e[2] << 16) | (e[3] << 8) | e[4]; e += 5 + slen
            else:
                if c == 0xC0:
                    if e + 3 > endp:
                        with gil: self.blob_fail("truncated ziplist entry")
                    val = le_int(e + 1, 2); e += 3
                elif c == 0xD0:
                    if e + 5 > endp:
                        with gil: self.blob_fail("truncated ziplist entry")
                    val = le_int(e + 1, 4); e += 5
                elif c == 0xE0:
                    if e + 9 > endp:
                        with gil: self.blob_fail("truncated ziplist entry")
                    val = le_int(e + 1, 8); e += 9
                elif c == 0xF0:
                    if e + 4 > endp:
                        with gil: self.blob_fail("truncated ziplist entry")
                    val = le_int(e + 1, 3); e += 4
                elif c == 0xFE:
                    if e + 2 > endp:
                        with gil: self.blob_fail("truncated ziplist entry")
                    val = le_int(e + 1, 1); e += 2
                elif c >= 0xF1 and c <= 0xFD:
                    val = (c & 0x0F) - 1; e += 1
                else:
                    with gil: self.blob_fail(f"ziplist entry encoding 0x{c:02x}")
                slen = digits(val)
                isint = 1
            if e > endp:
                with gil: self.blob_fail("ziplist entry runs past the end")
            # the entry in the listpack a 7.0+ loader converts the ziplist to
            lp += lp_int_entry(val) if isint else lp_str_entry(slen)
            if (mask >> pos_in) & 1:
                if slen > mx: mx = slen
                sm += slen
                if self.w_sized:
                    self._size(slen, self.w_role + (pos_in & 1))
            count += 1
            pos_in += 1
            if pos_in == stride:
                pos_in = 0
        if e + 1 != endp:
            with gil: self.blob_fail("bytes after the ziplist end marker")
        self.w_count = count
        self.w_max = mx
        self.w_sum = sm
        self.w_ttl = 0
        self.w_allint = 0
        self.w_lp = lp
        self.w_zl = n
        self.w_intw = -1
        return 0

    cdef int walk_intset(self) except -1 nogil:
        cdef const uint8_t* p = self.blob
        cdef Py_ssize_t n = self.blob_len
        cdef int64_t width, count, i, mx = 0, sm = 0, d
        if n < INTSET_HEADER:
            with gil: self.blob_fail("shorter than an intset header")
        width = le_int(p, 4) & 0xFFFFFFFFLL
        count = le_int(p + 4, 4) & 0xFFFFFFFFLL
        if width != 2 and width != 4 and width != 8:
            with gil: self.blob_fail(f"intset encoding {width}")
        if INTSET_HEADER + width * count != n:
            with gil: self.blob_fail(f"intset of {count} x {width}-byte members")
        for i in range(count):
            d = digits(le_int(p + INTSET_HEADER + i * width, <int>width))
            if d > mx: mx = d
            sm += d
            self._size(d, ROLE_SET)
        self.w_count = count
        self.w_max = mx
        self.w_sum = sm
        self.w_ttl = 0
        self.w_allint = 1
        self.w_lp = self.w_zl = n
        self.w_intw = width
        return 0

    cdef int walk_zipmap(self) except -1 nogil:
        cdef const uint8_t* p = self.blob
        cdef const uint8_t* e
        cdef const uint8_t* endp = p + self.blob_len
        cdef int64_t count = 0, mx = 0, sm = 0, ln
        cdef int free_
        if self.blob_len < 2:
            with gil: self.blob_fail("shorter than a zipmap")
        e = p + 1
        while True:
            if e >= endp:
                with gil: self.blob_fail("zipmap has no end marker")
            if e[0] == ZIPMAP_END:
                break
            if e[0] < ZIPMAP_BIGLEN:
                ln = e[0]; e += 1
            elif e[0] == ZIPMAP_BIGLEN:
                if e + 5 > endp:
                    with gil: self.blob_fail("truncated zipmap length")
                ln = le_int(e + 1, 4) & 0xFFFFFFFFLL; e += 5
            else:
                with gil: self.blob_fail("bad zipmap length byte")
            free_ = 0
            if count % 2 == 1:
                if e >= endp:
                    with gil: self.blob_fail("truncated zipmap entry")
                free_ = e[0]
                e += 1
            e += ln + free_
            if e > endp:
                with gil: self.blob_fail("zipmap entry runs past the end")
            if ln > mx: mx = ln
            sm += ln
            self._size(ln, count & 1)
            count += 1
        if count % 2:
            with gil: self.blob_fail("zipmap has a field without a value")
        self.w_count = count
        self.w_max = mx
        self.w_sum = sm
        self.w_ttl = 0
        self.w_allint = 0
        self.w_lp = self.w_zl = self.blob_len
        self.w_intw = -1
        return 0

    # ------------------------------------------------------------------ flush
    def flush(self):
        """Hand over the rows gathered so far and start a new batch.

        Returns ``(rows, columns)``: raw little-endian buffers, validity as
        Arrow bitmaps (``*_valid``; None when every row is valid), and None
        for a nullable column no row of the batch has.
        """
        cdef Py_ssize_t n = self.rows
        cdef int s
        if n == 0:
            return None
        dbs = self.meta["dbs"]
        for db in self.dbs_seen:
            dbs[db] = [self.db_keys[<int>db], self.db_expires[<int>db]]
        cols = {
            "db": _bytes(self.c_db, n * 2),
            "key_offsets": _bytes(self.c_key_off, (n + 1) * 4),
            "key_data": _bytes(self.c_key_data, self.c_key_off[n]),
            "kind": _bytes(self.c_kind, n),
            "rdb_type": _bytes(self.c_rdb_type, n),
            "length": _bytes(self.c_length, n * 8),
            "length_valid": _bitmap(self.c_length_valid, n),
            "max_element_bytes": _bytes(self.c_max, n * 8),
            "serialized_bytes": _bytes(self.c_serialized, n * 8),
            "offset": _bytes(self.c_offset, n * 8),
            "slot": _bytes(self.c_slot, n * 2),
            "flags": _bytes(self.c_flags, n),
            "nodes": _bytes(self.c_nodes, n * 8),
            "blob_bytes": _bytes(self.c_blob, n * 8),
            "element_bytes": _bytes(self.c_elem, n * 8),
            "mem_elements": _bytes(self.c_mem_elems, n * 8),
            "mem_values": _bytes(self.c_mem_values, n * 8),
            "mem_blobs": _bytes(self.c_mem_blobs, n * 8),
            "lp_bytes": _bytes(self.c_lp, n * 8),
            "lp_bytes_70": _bytes(self.c_lp70, n * 8),
            "zl_bytes": _bytes(self.c_zl, n * 8),
            "intset_bytes": _bytes(self.c_intset, n * 8),
        }
        for s in range(self.nconv):
            cols[f"conv_at_{s}"] = _bytes(self.c_conv[s], n * 8)
        for s in range(self.nx):
            cols[f"mem_elements_{s + 1}"] = _bytes(self.cx[s * 3], n * 8)
            cols[f"mem_values_{s + 1}"] = _bytes(self.cx[s * 3 + 1], n * 8)
            cols[f"mem_blobs_{s + 1}"] = _bytes(self.cx[s * 3 + 2], n * 8)
        # Nullable groups: the bitmap, and values only when some row has them.
        v = cols["key_raw_valid"] = _bitmap(self.c_raw_valid, n)
        cols["key_raw_offsets"] = None if v is False else _bytes(self.c_raw_off, (n + 1) * 4)
        cols["key_raw_data"] = None if v is False else b"".join(self.raw_keys)
        v = cols["expire_valid"] = _bitmap(self.c_expire_valid, n)
        cols["expire_at"] = None if v is False else _bytes(self.c_expire, n * 8)
        v = cols["idle_valid"] = _bitmap(self.c_idle_valid, n)
        cols["idle"] = None if v is False else _bytes(self.c_idle, n * 8)
        v = cols["freq_valid"] = _bitmap(self.c_freq_valid, n)
        cols["freq"] = None if v is False else _bytes(self.c_freq, n)
        v = cols["stream_valid"] = _bitmap(self.c_stream_valid, n)
        cols["stream_groups"] = None if v is False else _bytes(self.c_groups, n * 8)
        cols["stream_consumers"] = None if v is False else _bytes(self.c_consumers, n * 8)
        cols["stream_pending"] = None if v is False else _bytes(self.c_pending, n * 8)
        v = cols["hfe_valid"] = _bitmap(self.c_hfe_valid, n)
        cols["hash_fields_with_ttl"] = None if v is False else _bytes(self.c_hfe, n * 8)
        v = cols["expired_valid"] = _bitmap(self.c_expired_valid, n)
        cols["hash_fields_expired"] = None if v is False else _bytes(self.c_expired, n * 8)
        cols["hash_expired_bytes"] = None if v is False else _bytes(self.c_expired_bytes, n * 8)
        self.rows = 0
        self.flushed += n
        self.batch_limit = self.batch_size
        self.raw_keys = []
        self.c_key_off[0] = 0
        self.c_raw_off[0] = 0
        return n, cols


cdef int _copy_ints(int32_t* out, table, Py_ssize_t n) except -1:
    # A sequence of ints into a C table; an array('i') (as the parallel
    # decode passes to each chunk's scanner) is copied at once.
    cdef const int32_t[::1] view
    cdef Py_ssize_t i
    if len(table) < n:
        raise ValueError(f"a sizing table of {len(table)} entries, {n} needed")
    if isinstance(table, array) and table.itemsize == 4:
        view = table
        memcpy(out, &view[0], n * 4)
        return 0
    for i in range(n):
        out[i] = table[i]
    return 0


cdef inline bytes _bytes(const void* p, Py_ssize_t n):
    return PyBytes_FromStringAndSize(<const char*>p, n)


cdef object _bitmap(const uint8_t* valid, Py_ssize_t n):
    # Pack one-byte-per-row flags into an Arrow validity bitmap (LSB first);
    # None when every row is valid, False when none is.
    cdef Py_ssize_t i
    cdef bytearray out
    cdef uint8_t* o
    if memchr(valid, 0, n) == NULL:
        return None
    if memchr(valid, 1, n) == NULL:
        return False
    out = bytearray((n + 7) // 8)
    o = <uint8_t*>PyByteArray_AS_STRING(out)
    for i in range(n):
        if valid[i]:
            o[i >> 3] |= 1 << (i & 7)
    return bytes(out)
