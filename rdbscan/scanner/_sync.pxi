# Included by _scanner.pyx: finding a record boundary from an arbitrary offset.
#
# A parallel decode starts each chunk at a byte offset that may fall inside
# a record.  find_boundary() tries every offset from there and accepts the
# first one where SYNC_RECORDS consecutive records parse cleanly: a type
# byte valid for the dump's magic and version (or an opcode), lengths inside
# the file, listpack / ziplist / intset / zipmap headers, entry lengths and
# terminators consistent, LZF streams that decompress to their stated size.
# It only reads (no rows, no Python objects, no exceptions), so most
# candidates fail on their first byte at the cost of a table lookup.
#
# This is a heuristic, and the decode does not depend on it: a chunk whose
# start is wrong (a "false sync") is noticed at the stitch, where the chunk
# before it, which knows the true boundaries, continues through it.

DEF SYNC_LZF_MAX = 1 << 24    # LZF blobs up to this size are decompressed and checked
DEF SYNC_KEY_MAX = 1024       # text keys longer than this are not searched for
DEF SYNC_CHAIN_BYTES = 1 << 21  # a chain of records this long counts from two records on
DEF EXPIRE_MS_BITS = 50      # absolute expiry times past 2^50 ms (year ~37,000) are implausible

cdef struct VCtx:
    const uint8_t* b          # the whole file
    Py_ssize_t n              # the end of what may be read (a window: reading the
                              # whole file, a walk over lengths can touch a page in
                              # every few kilobytes of hundreds of megabytes)
    Py_ssize_t file_n         # the file's size
    int flavor
    int version
    bint text_keys            # keys are text (UTF-8, no control characters, not empty)
    uint8_t* scratch          # LZF output
    Py_ssize_t scratch_cap
    uint8_t type_ok[256]      # value types valid for this magic and version


cdef inline Py_ssize_t v_len(VCtx* c, Py_ssize_t p, uint64_t* out, int* enc) noexcept nogil:
    # An RDB length at p: the position after it, or -1.
    cdef uint8_t x
    cdef uint64_t v = 0
    cdef int i, k
    enc[0] = 0
    if p >= c.n:
        return -1
    x = c.b[p]
    if x < 0x40:
        out[0] = x
        return p + 1
    if x < 0x80:
        if p + 2 > c.n:
            return -1
        out[0] = ((x & 0x3F) << 8) | c.b[p + 1]
        return p + 2
    if x == LEN_32BIT or x == LEN_64BIT:
        k = 4 if x == LEN_32BIT else 8
        if p + 1 + k > c.n:
            return -1
        for i in range(1, k + 1):
            v = (v << 8) | c.b[p + i]
        out[0] = v
        return p + 1 + k
    if x >= 0xC0:
        enc[0] = 1
        out[0] = x & 0x3F
        return p + 1
    return -1


cdef inline Py_ssize_t v_count(VCtx* c, Py_ssize_t p, uint64_t* out) noexcept nogil:
    # A plain length no larger than the bytes left (every element takes one).
    cdef int enc
    p = v_len(c, p, out, &enc)
    if p < 0 or enc or out[0] > <uint64_t>(c.n - p):
        return -1
    return p


cdef inline Py_ssize_t v_elements(VCtx* c, Py_ssize_t p, uint64_t* out) noexcept nogil:
    # A collection's element count: servers delete a collection that becomes
    # empty, so zero is never written (a common false start: "01 00 00",
    # the high bytes of an expiry time, reads as an empty list).
    p = v_count(c, p, out)
    return -1 if p < 0 or out[0] == 0 else p


cdef Py_ssize_t v_string(VCtx* c, Py_ssize_t p, const uint8_t** data, int64_t* dlen) noexcept nogil:
    # A string at p: the position after it, or -1.  When data is given, a
    # raw or LZF string's bytes (LZF decompressed up to SYNC_LZF_MAX; dlen -1
    # when not checked) and an integer's -2.
    cdef uint64_t v, clen, ulen
    cdef int enc
    cdef Py_ssize_t produced
    p = v_len(c, p, &v, &enc)
    if p < 0:
        return -1
    if not enc:
        if v > <uint64_t>(c.n - p):
            return -1
        if data != NULL:
            data[0] = c.b + p
            dlen[0] = <int64_t>v
        return p + <Py_ssize_t>v
    if v == ENC_INT8 or v == ENC_INT16 or v == ENC_INT32:
        v = 1 if v == ENC_INT8 else (2 if v == ENC_INT16 else 4)
        if p + <Py_ssize_t>v > c.n:
            return -1
        if data != NULL:
            dlen[0] = -2
        return p + <Py_ssize_t>v
    if v != ENC_LZF:
        return -1
    p = v_count(c, p, &clen)
    if p < 0:
        return -1
    p = v_len(c, p, &ulen, &enc)
    # Redis stores LZF only when it saves bytes; the first byte of the
    # stream is always a literal run.
    if p < 0 or enc or clen == 0 or ulen <= clen or clen > <uint64_t>(c.n - p) \
            or lzf_claim_impossible(<int64_t>clen, <int64_t>ulen) or c.b[p] >= 32:
        return -1
    if data != NULL:
        dlen[0] = -1
        if ulen <= SYNC_LZF_MAX:
            if <Py_ssize_t>ulen > c.scratch_cap:
                free(c.scratch)
                c.scratch = <uint8_t*>malloc(ulen)
                c.scratch_cap = ulen if c.scratch != NULL else 0
                if c.scratch == NULL:
                    return -1
            if lzf_decode(c.b + p, clen, c.scratch, ulen, &produced) != LZF_OK:
                return -1
            data[0] = c.scratch
            dlen[0] = <int64_t>ulen
    return p + <Py_ssize_t>clen


cdef inline Py_ssize_t v_skip(VCtx* c, Py_ssize_t p, Py_ssize_t k) noexcept nogil:
    return p + k if p + k <= c.n else -1


cdef bint lp_ok(const uint8_t* p, int64_t n) noexcept nogil:
    # A listpack: total bytes, entry encodings, back-lengths, element count, terminator.
    cdef const uint8_t* e
    cdef const uint8_t* end = p + n
    cdef int64_t ln, back, count = 0, declared
    cdef uint8_t c
    cdef int k, i
    if n < LISTPACK_HEADER + 1 or (<int64_t>le_int(p, 4) & 0xFFFFFFFFLL) != n or p[n - 1] != LISTPACK_END:
        return 0
    declared = le_int(p + 4, 2) & 0xFFFF
    e = p + LISTPACK_HEADER
    while e < end - 1:
        c = e[0]
        if c < 0x80:
            ln = 1
        elif (c & 0xC0) == 0x80:
            ln = 1 + (c & 0x3F)
        elif (c & 0xE0) == 0xC0:
            ln = 2
        elif (c & 0xF0) == 0xE0:
            if e + 2 > end:
                return 0
            ln = 2 + (((c & 0x0F) << 8) | e[1])
        elif c == 0xF0:
            if e + 5 > end:
                return 0
            ln = 5 + (le_int(e + 1, 4) & 0xFFFFFFFFLL)
        elif c == 0xF1:
            ln = 3
        elif c == 0xF2:
            ln = 4
        elif c == 0xF3:
            ln = 5
        elif c == 0xF4:
            ln = 9
        else:
            return 0
        # The back-length after the entry spells ln in 7-bit groups, most
        # significant first; every byte but the first has its high bit set.
        k = 1 if ln <= 127 else (2 if ln < 16383 else (3 if ln < 2097151 else (4 if ln < 268435455 else 5)))
        if e + ln + k > end - 1 or (e[ln] & 0x80):
            return 0
        back = 0
        for i in range(k):
            if i > 0 and not (e[ln + i] & 0x80):
                return 0
            back = (back << 7) | (e[ln + i] & 0x7F)
        if back != ln:
            return 0
        e += ln + k
        count += 1
    return e == end - 1 and (declared == LISTPACK_COUNT_UNKNOWN or declared == count)


cdef bint zl_ok(const uint8_t* p, int64_t n) noexcept nogil:
    # A ziplist: total bytes, tail offset, previous-entry lengths, count, terminator.
    cdef const uint8_t* e
    cdef const uint8_t* end = p + n
    cdef const uint8_t* last = NULL
    cdef int64_t prev = 0, prevlen, declared, count = 0, tail
    cdef uint8_t c
    if n < ZIPLIST_HEADER + 1 or (le_int(p, 4) & 0xFFFFFFFFLL) != n or p[n - 1] != ZIPLIST_END:
        return 0
    tail = le_int(p + 4, 4) & 0xFFFFFFFFLL
    declared = le_int(p + 8, 2) & 0xFFFF
    e = p + ZIPLIST_HEADER
    while e < end - 1:
        last = e
        if e[0] == ZIPLIST_BIGLEN:
            if e + 5 > end:
                return 0
            prevlen = le_int(e + 1, 4) & 0xFFFFFFFFLL
            e += 5
        else:
            prevlen = e[0]
            e += 1
        if prevlen != prev or e >= end:
            return 0
        c = e[0]
        if (c >> 6) == 0:
            e += 1 + (c & 0x3F)
        elif (c >> 6) == 1:
            if e + 2 > end:
                return 0
            e += 2 + (((c & 0x3F) << 8) | e[1])
        elif c == 0x80:
            if e + 5 > end:
                return 0
            e += 5 + ((<int64_t>e[1] << 24) | (e[2] << 16) | (e[3] << 8) | e[4])
        elif c == 0xC0:
            e += 3
        elif c == 0xD0:
            e += 5
        elif c == 0xE0:
            e += 9
        elif c == 0xF0:
            e += 4
        elif c == 0xFE:
            e += 2
        elif 0xF1 <= c <= 0xFD:
            e += 1
        else:
            return 0
        if e > end - 1:
            return 0
        prev = e - last
        count += 1
    if e != end - 1:
        return 0
    if tail != ((last - p) if last != NULL else ZIPLIST_HEADER):
        return 0
    return declared == ZIPLIST_COUNT_UNKNOWN or declared == count


cdef bint intset_ok(const uint8_t* p, int64_t n) noexcept nogil:
    # An intset: member width 2, 4 or 8, the size it implies, members strictly ascending.
    cdef int64_t width, count, i, prev = 0, v
    if n < INTSET_HEADER:
        return 0
    width = le_int(p, 4) & 0xFFFFFFFFLL
    count = le_int(p + 4, 4) & 0xFFFFFFFFLL
    if (width != 2 and width != 4 and width != 8) or INTSET_HEADER + width * count != n:
        return 0
    for i in range(count):
        v = le_int(p + INTSET_HEADER + i * width, <int>width)
        if i > 0 and v <= prev:
            return 0
        prev = v
    return 1


cdef bint zipmap_ok(const uint8_t* p, int64_t n) noexcept nogil:
    # A zipmap: field/value lengths, free bytes, an even count, terminator last.
    cdef const uint8_t* e = p + 1
    cdef const uint8_t* end = p + n
    cdef int64_t ln, count = 0
    if n < 2 or p[n - 1] != ZIPMAP_END:
        return 0
    while e < end - 1:
        if e[0] < ZIPMAP_BIGLEN:
            ln = e[0]
            e += 1
        elif e[0] == ZIPMAP_BIGLEN:
            if e + 5 > end:
                return 0
            ln = le_int(e + 1, 4) & 0xFFFFFFFFLL
            e += 5
        else:
            return 0
        if count % 2 == 1:
            if e >= end:
                return 0
            ln += e[0]
            e += 1
        e += ln
        count += 1
    return e == end - 1 and count % 2 == 0 and (p[0] >= ZIPMAP_BIGLEN or p[0] == count // 2)


cdef Py_ssize_t v_blob(VCtx* c, Py_ssize_t p, int what) noexcept nogil:
    # A string holding a listpack (1), ziplist (2), intset (3) or zipmap (4).
    cdef const uint8_t* d = NULL
    cdef int64_t dn = 0
    cdef bint ok
    p = v_string(c, p, &d, &dn)
    if p < 0 or dn == -2:
        return -1
    if dn == -1:                      # a large LZF blob: its header was checked
        return p
    if what == 1:
        ok = lp_ok(d, dn)
    elif what == 2:
        ok = zl_ok(d, dn)
    elif what == 3:
        ok = intset_ok(d, dn)
    else:
        ok = zipmap_ok(d, dn)
    return p if ok else -1


cdef Py_ssize_t v_strings(VCtx* c, Py_ssize_t p, uint64_t n) noexcept nogil:
    cdef uint64_t i
    for i in range(n):
        p = v_string(c, p, NULL, NULL)
        if p < 0:
            return -1
    return p


cdef Py_ssize_t v_module_ops(VCtx* c, Py_ssize_t p) noexcept nogil:
    # Module data: typed fields until the EOF opcode.
    cdef uint64_t op, v
    cdef int enc
    while True:
        p = v_len(c, p, &op, &enc)
        if p < 0 or enc:
            return -1
        if op == MODULE_OP_EOF:
            return p
        if op == MODULE_OP_SINT or op == MODULE_OP_UINT:
            p = v_len(c, p, &v, &enc)
            if enc:
                return -1
        elif op == MODULE_OP_FLOAT:
            p = v_skip(c, p, 4)
        elif op == MODULE_OP_DOUBLE:
            p = v_skip(c, p, 8)
        elif op == MODULE_OP_STRING:
            p = v_string(c, p, NULL, NULL)
        else:
            return -1
        if p < 0:
            return -1


cdef Py_ssize_t v_number(VCtx* c, Py_ssize_t p) noexcept nogil:
    cdef uint64_t v
    cdef int enc
    p = v_len(c, p, &v, &enc)
    return -1 if enc else p


cdef Py_ssize_t v_stream(VCtx* c, Py_ssize_t p, int t) noexcept nogil:
    cdef uint64_t nodes, groups, pel, consumers, cpel, i, j, k
    cdef const uint8_t* d = NULL
    cdef int64_t dn = 0
    cdef int extra = 3 if t >= TYPE_STREAM_LISTPACKS_2 else 0
    p = v_count(c, p, &nodes)
    for i in range(nodes):
        if p < 0:
            return -1
        p = v_string(c, p, &d, &dn)
        if p < 0 or dn != STREAM_ID_BYTES:
            return -1
        p = v_blob(c, p, 1)
    if p < 0:
        return -1
    p = v_number(c, p)                                 # length
    for i in range(2 + (5 if t >= TYPE_STREAM_LISTPACKS_2 else 0)):
        if p < 0:
            return -1
        p = v_number(c, p)                             # last ID (first ID, max deleted, entries added)
    if p < 0:
        return -1
    p = v_count(c, p, &groups)
    for i in range(groups):
        if p < 0:
            return -1
        p = v_string(c, p, NULL, NULL)                 # group name
        for j in range(2 + (1 if t >= TYPE_STREAM_LISTPACKS_2 else 0)):
            if p < 0:
                return -1
            p = v_number(c, p)                         # last delivered ID (entries read)
        if p < 0:
            return -1
        p = v_count(c, p, &pel)
        for j in range(pel):
            if p < 0:
                return -1
            p = v_skip(c, p, STREAM_ID_BYTES + 8)      # ID, delivery time
            if p < 0:
                return -1
            p = v_number(c, p)                         # delivery count
        if p < 0:
            return -1
        p = v_count(c, p, &consumers)
        for j in range(consumers):
            if p < 0:
                return -1
            p = v_string(c, p, NULL, NULL)             # consumer name
            if p < 0:
                return -1
            p = v_skip(c, p, 16 if t >= TYPE_STREAM_LISTPACKS_3 else 8)   # seen (and active) time
            if p < 0:
                return -1
            p = v_count(c, p, &cpel)
            if p < 0 or cpel * STREAM_ID_BYTES > <uint64_t>(c.n - p):
                return -1
            p += cpel * STREAM_ID_BYTES
        if t >= TYPE_STREAM_LISTPACKS_5:                   # the group's NACK zone: IDs
            p = v_count(c, p, &cpel)
            if p < 0 or cpel * STREAM_ID_BYTES > <uint64_t>(c.n - p):
                return -1
            p += cpel * STREAM_ID_BYTES
    if t >= TYPE_STREAM_LISTPACKS_4:                       # IDMP: settings, producers, counters
        p = v_number(c, p)
        if p < 0:
            return -1
        p = v_number(c, p)
        if p < 0:
            return -1
        p = v_count(c, p, &groups)
        for i in range(groups):
            if p < 0:
                return -1
            p = v_string(c, p, NULL, NULL)                 # producer id
            if p < 0:
                return -1
            p = v_count(c, p, &pel)
            for j in range(pel):
                if p < 0:
                    return -1
                p = v_string(c, p, NULL, NULL)             # IID
                if p < 0:
                    return -1
                p = v_number(c, p)
                if p < 0:
                    return -1
                p = v_number(c, p)                         # the stream ID it maps to
        if p < 0:
            return -1
        p = v_number(c, p)
        if p < 0:
            return -1
        p = v_number(c, p)                                 # IIDs added, duplicates
    return p


cdef Py_ssize_t v_value(VCtx* c, Py_ssize_t p, int t) noexcept nogil:
    # The value of type t at p: the position after it, or -1.
    cdef uint64_t n, i, container
    cdef int enc
    cdef uint8_t m
    if t == TYPE_STRING:
        return v_string(c, p, NULL, NULL)
    if t == TYPE_LIST or t == TYPE_SET:
        p = v_elements(c, p, &n)
        return -1 if p < 0 else v_strings(c, p, n)
    if t == TYPE_ZSET or t == TYPE_ZSET_2:
        p = v_elements(c, p, &n)
        for i in range(n):
            if p < 0:
                return -1
            p = v_string(c, p, NULL, NULL)
            if p < 0:
                return -1
            if t == TYPE_ZSET_2:
                p = v_skip(c, p, 8)
            else:
                m = c.b[p] if p < c.n else 0
                p = v_skip(c, p, 1 + (m if m < ZSET_SCORE_NAN else 0))
        return p
    if t == TYPE_HASH:
        p = v_elements(c, p, &n)
        return -1 if p < 0 else v_strings(c, p, 2 * n)
    if t == TYPE_MODULE_2:
        p = v_number(c, p)
        return -1 if p < 0 else v_module_ops(c, p)
    if t == TYPE_HASH_ZIPMAP:
        return v_blob(c, p, 4)
    if t == TYPE_LIST_ZIPLIST or t == TYPE_ZSET_ZIPLIST or t == TYPE_HASH_ZIPLIST:
        return v_blob(c, p, 2)
    if t == TYPE_SET_INTSET:
        return v_blob(c, p, 3)
    if t == TYPE_HASH_LISTPACK or t == TYPE_ZSET_LISTPACK or t == TYPE_SET_LISTPACK:
        return v_blob(c, p, 1)
    if t == TYPE_LIST_QUICKLIST or t == TYPE_LIST_QUICKLIST_2:
        p = v_elements(c, p, &n)
        for i in range(n):
            if p < 0:
                return -1
            container = QUICKLIST_NODE_PACKED
            if t == TYPE_LIST_QUICKLIST_2:
                p = v_len(c, p, &container, &enc)
                if p < 0 or enc or (container != QUICKLIST_NODE_PACKED and container != QUICKLIST_NODE_PLAIN):
                    return -1
            if container == QUICKLIST_NODE_PLAIN:
                p = v_string(c, p, NULL, NULL)
            else:
                p = v_blob(c, p, 2 if t == TYPE_LIST_QUICKLIST else 1)
        return p
    if t == TYPE_STREAM_LISTPACKS or t == TYPE_STREAM_LISTPACKS_2 or t == TYPE_STREAM_LISTPACKS_3:
        return v_stream(c, p, t)
    if t == TYPE_STREAM_LISTPACKS_4 or t == TYPE_STREAM_LISTPACKS_5:
        return v_stream(c, p, t)
    if t == TYPE_ARRAY:
        p = v_count(c, p, &n)
        if p < 0:
            return -1
        p = v_len(c, p, &container, &enc)                  # ARINSERT cursor present?
        if p < 0 or enc or container > 1:
            return -1
        if container:
            p = v_number(c, p)
        for i in range(n):
            if p < 0:
                return -1
            p = v_number(c, p)                             # index
            if p < 0:
                return -1
            p = v_len(c, p, &container, &enc)              # tag
            if p < 0 or enc:
                return -1
            if container == ARRAY_TAG_SDS or container == ARRAY_TAG_SMALL_STR:
                p = v_string(c, p, NULL, NULL)
            elif container == ARRAY_TAG_INT or container == ARRAY_TAG_FLOAT:
                p = v_skip(c, p, 8)
            else:
                return -1
        return p
    if t == TYPE_HASH_TMPL_LP:
        p = v_number(c, p)                                 # the writer's template id
        if p < 0:
            return -1
        p = v_blob(c, p, 1)                                # field names
        return -1 if p < 0 else v_blob(c, p, 1)            # [template id][values]
    if t == TYPE_HASH_TMPL_LP_REF:
        return v_blob(c, p, 1)
    if t == TYPE_HASH_TMPL_ARRAY:
        p = v_number(c, p)
        if p < 0:
            return -1
        p = v_elements(c, p, &n)
        return -1 if p < 0 or n > (<uint64_t>1 << 60) else v_strings(c, p, 2 * n)
    if t == TYPE_GCRA:
        return v_number(c, p)
    # TYPE_HASH_TMPL_ARRAY_REF holds as many values as its template has
    # fields, which a search from the middle of the dump does not know.
    if c.flavor == FLAVOR_VALKEY:
        if t == VALKEY_TYPE_HASH_2:
            p = v_elements(c, p, &n)
            for i in range(n):
                if p < 0:
                    return -1
                p = v_strings(c, p, 2)
                if p < 0:
                    return -1
                p = v_skip(c, p, 8)
            return p
        return -1
    if t == TYPE_HASH_METADATA or t == TYPE_HASH_METADATA_PRE_GA:
        if t == TYPE_HASH_METADATA:
            p = v_skip(c, p, 8)
            if p < 0:
                return -1
        p = v_elements(c, p, &n)
        for i in range(n):
            if p < 0:
                return -1
            p = v_number(c, p)
            if p < 0:
                return -1
            p = v_strings(c, p, 2)
        return p
    if t == TYPE_HASH_LISTPACK_EX or t == TYPE_HASH_LISTPACK_EX_PRE_GA:
        if t == TYPE_HASH_LISTPACK_EX:
            p = v_skip(c, p, 8)
            if p < 0:
                return -1
        return v_blob(c, p, 1)
    return -1


cdef bint is_text(const uint8_t* d, int64_t n) noexcept nogil:
    # Printable UTF-8: what keys and aux field names look like.
    cdef int64_t i
    for i in range(n):
        if d[i] < 0x20 or d[i] == 0x7F:
            return 0
    return n > 0 and utf8_valid(d, n)


cdef Py_ssize_t v_key(VCtx* c, Py_ssize_t p) noexcept nogil:
    # A key; text keys are also at most SYNC_KEY_MAX bytes long: text read
    # as a string header claims hundreds or thousands of bytes, and checking
    # they are text is what the search would spend its time on.
    cdef const uint8_t* d = NULL
    cdef int64_t dn = 0
    cdef uint64_t n
    cdef int enc
    if not c.text_keys:
        return v_string(c, p, NULL, NULL)
    if v_len(c, p, &n, &enc) < 0 or (not enc and n > SYNC_KEY_MAX):
        return -1
    p = v_string(c, p, &d, &dn)
    if p < 0 or (dn >= 0 and (dn > SYNC_KEY_MAX or not is_text(d, dn))):
        return -1
    return p


cdef bint aof_follows(VCtx* c, Py_ssize_t p) noexcept nogil:
    cdef Py_ssize_t q = p + 1
    if c.b[p] != 42:                                   # '*'
        return 0
    while q < c.n and q < p + 12 and 48 <= c.b[q] <= 57:
        q += 1
    return q > p + 1 and q + 3 <= c.n and c.b[q] == 13 and c.b[q + 1] == 10 and c.b[q + 2] == 36


cdef Py_ssize_t v_step(VCtx* c, Py_ssize_t p, bint* key_next, bint* eof) noexcept nogil:
    # One record (what Scanner.step reads) at p: the position after it, or -1.
    # key_next: it was an expiry/LRU/LFU opcode, so a key must follow.
    cdef uint8_t op
    cdef uint64_t v, w
    cdef int enc
    cdef int64_t ms
    cdef const uint8_t* d = NULL
    cdef int64_t dn = 0
    cdef bint need_key = key_next[0]
    if p >= c.n:
        return -1
    op = c.b[p]
    p += 1
    key_next[0] = 0
    if c.type_ok[op]:
        p = v_key(c, p)
        return -1 if p < 0 else v_value(c, p, op)
    if op == OP_KEY_META and c.flavor == FLAVOR_REDIS and c.version >= RDB_VERSION_KEY_META:
        key_next[0] = 1
        p = v_len(c, p, &v, &enc)                          # classes, each a spec and module fields
        if p < 0 or enc or v == 0 or v > KEY_META_MAX_CLASSES:
            return -1
        for w in range(v):
            p = v_skip(c, p, KEY_META_SPEC_BYTES)
            if p < 0:
                return -1
            p = v_module_ops(c, p)
            if p < 0:
                return -1
        return p
    if op == OP_EXPIRETIME_MS or op == OP_EXPIRETIME or op == OP_IDLE or op == OP_FREQ:
        key_next[0] = 1
        if op == OP_EXPIRETIME_MS:
            if p + 8 > c.n:
                return -1
            ms = le_int(c.b + p, 8)
            return p + 8 if ms >= 0 and ms < ((<int64_t>1) << EXPIRE_MS_BITS) else -1
        if op == OP_EXPIRETIME:
            return v_skip(c, p, 4)
        if op == OP_IDLE:
            return v_number(c, p)
        return v_skip(c, p, 1)
    if need_key:
        return -1
    if op == OP_SELECTDB:
        p = v_len(c, p, &v, &enc)
        return -1 if enc or v > 65535 else p
    if op == OP_HASH_TEMPLATE and c.flavor == FLAVOR_REDIS and c.version >= RDB_VERSION_ARRAY:
        p = v_len(c, p, &v, &enc)                          # template id, fields
        if p < 0 or enc or v > TEMPLATE_ID_MAX:
            return -1
        p = v_elements(c, p, &w)
        return -1 if p < 0 else v_strings(c, p, w)
    if op == OP_RESIZEDB:
        p = v_number(c, p)
        return -1 if p < 0 else v_number(c, p)
    if op == OP_AUX:
        p = v_string(c, p, &d, &dn)                    # the field name is text
        if p < 0 or (dn >= 0 and not is_text(d, dn)):
            return -1
        return v_string(c, p, NULL, NULL)
    # Functions (FUNCTION2, FUNCTION_PRE_GA) are saved before the keyspace,
    # in the preamble that is read sequentially: not searched for here.
    if op == OP_MODULE_AUX:
        p = v_number(c, p)
        if p < 0:
            return -1
        p = v_len(c, p, &w, &enc)
        if p < 0 or enc or w != MODULE_OP_UINT:
            return -1
        p = v_len(c, p, &w, &enc)                      # when: before or after the keyspace
        return -1 if p < 0 or enc or w < 1 or w > 3 else v_module_ops(c, p)
    if op == OP_SLOT_INFO:
        p = v_len(c, p, &v, &enc)
        if p < 0 or enc or (c.flavor == FLAVOR_REDIS and v >= 16384):
            return -1
        p = v_number(c, p)
        return -1 if p < 0 else v_number(c, p)
    if op == OP_EOF:
        # Only where the dump can end: the CRC (from RDB 5), then nothing
        # or an AOF's commands ("*<count>\r\n$").
        if c.version >= RDB_VERSION_CRC:
            p += 8
        if p > c.file_n or (p < c.file_n and (p >= c.n or not aof_follows(c, p))):
            return -1
        eof[0] = 1
        return p
    return -1


cdef void sync_types(VCtx* c, const uint8_t* vtypes) noexcept nogil:
    # type_ok[t]: t is a value type this magic and version can hold, as the
    # scanner reads them (_common.value_types); but type 6, which only its
    # module can skip.
    memcpy(c.type_ok, vtypes, 256)
    c.type_ok[TYPE_MODULE_PRE_GA] = 0


cdef bint chain_ok(VCtx* c, Py_ssize_t p, int records) noexcept nogil:
    # `records` records in a row parse from p (a key after its expiry/LRU/LFU
    # opcodes counting as one), or the records that parse end at the EOF, or
    # at least two span SYNC_CHAIN_BYTES (among big values, checking sixteen
    # would read tens of megabytes for each chunk).
    cdef int i = 0
    cdef Py_ssize_t start = p
    cdef bint key_next = 0, eof = 0
    while p >= 0 and not eof and (i < records or key_next):
        p = v_step(c, p, &key_next, &eof)
        i += 1
        if i >= 2 and not key_next and p - start >= SYNC_CHAIN_BYTES:
            break
    return p >= 0


cdef Py_ssize_t sync_candidate(VCtx* c, Py_ssize_t start, Py_ssize_t end, int records) noexcept nogil:
    # The first offset in [start, end) from which a chain of records parses; -1 when none.
    cdef Py_ssize_t p
    cdef uint8_t x
    for p in range(start, end):
        x = c.b[p]
        if not c.type_ok[x] and x < OP_SLOT_INFO:
            continue
        if chain_ok(c, p, records):
            return p
    return -1


cdef Py_ssize_t sync_search(VCtx* c, Py_ssize_t floor, Py_ssize_t start, Py_ssize_t end,
                            int records) noexcept nogil:
    # The first record boundary in [start, end), or -1.  The tail of one
    # record can read as a whole record that ends exactly where the next
    # begins (a hash ending in an integer 0, a field and a value reads as a
    # string key): a chain found from `floor`, before start, has usually
    # run into the true records by the time it passes start.
    cdef Py_ssize_t p, q
    cdef bint key_next = 0, eof = 0
    if floor < start:
        p = sync_candidate(c, floor, start, records)
        while 0 <= p < start and not eof:
            q = p
            p = v_step(c, p, &key_next, &eof)
        if p >= start and not key_next and not eof:
            if p >= end:
                return -1
            if chain_ok(c, p, records):
                return p
        elif p >= start and eof:
            return q if q >= start and q < end else -1
    return sync_candidate(c, start, end, records)
