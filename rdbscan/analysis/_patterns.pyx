# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled key pattern inference: the rules of :mod:`rdbscan.analysis.pypatterns`, over Arrow buffers.

One C pass over a string array's offsets and bytes, GIL released, writing
the patterns into new buffers; the tests hold it to the pure-Python twin.
"""

from libc.stdint cimport uint8_t, int32_t, int64_t
from libc.string cimport memcpy, memcmp, memchr
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_FromStringAndSize

import pyarrow as pa
import pyarrow.compute as pc


# Character classes, one lookup per byte (the delimiter bits are set per call).
DEF C_DIGIT = 1
DEF C_HEX = 2
DEF C_ALNUM = 4
DEF C_HARD = 8
DEF C_SOFT = 16
DEF C_UPPER = 32
DEF C_LOWER = 64


cdef inline bint is_digit(uint8_t c) noexcept nogil:
    return 48 <= c <= 57


cdef inline bint is_hex(uint8_t c) noexcept nogil:
    return (48 <= c <= 57) or (97 <= c <= 102) or (65 <= c <= 70)


cdef inline bint is_alnum(uint8_t c) noexcept nogil:
    return (48 <= c <= 57) or (97 <= c <= 122) or (65 <= c <= 90)


cdef bint digits(const uint8_t* s, Py_ssize_t n, Py_ssize_t start, Py_ssize_t k) noexcept nogil:
    cdef Py_ssize_t i
    if n < start + k:
        return False
    for i in range(start, start + k):
        if not is_digit(s[i]):
            return False
    return True


cdef bint is_uuid(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if n != 36:
        return False
    for i in range(36):
        if i == 8 or i == 13 or i == 18 or i == 23:
            if s[i] != 45:
                return False
        elif not is_hex(s[i]):
            return False
    return True


cdef bint is_ipv4(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i = 0, parts = 0, width
    cdef int value
    while True:
        width = 0
        value = 0
        while i < n and is_digit(s[i]):
            value = value * 10 + (s[i] - 48)
            width += 1
            i += 1
            if width > 3:
                return False
        if width == 0 or value > 255:
            return False
        parts += 1
        if i == n:
            return parts == 4
        if s[i] != 46 or parts == 4:
            return False
        i += 1


cdef bint email_local(uint8_t c) noexcept nogil:
    return is_alnum(c) or c == 46 or c == 45 or c == 95 or c == 43 or c == 37


cdef bint is_email(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, at = -1, dot = -1
    for i in range(n):
        if s[i] == 64:
            if at >= 0:
                return False
            at = i
    if at <= 0:
        return False
    for i in range(at):
        if not email_local(s[i]):
            return False
    for i in range(at + 1, n):
        if s[i] == 46:
            dot = i
        elif not (is_alnum(s[i]) or s[i] == 45):
            return False
    # the domain's last dot: neither its first nor its last character
    return dot > at + 1 and dot < n - 1


cdef Py_ssize_t datetime_length(const uint8_t* s, Py_ssize_t n, const uint8_t* cls) noexcept nogil:
    # greedy, no backtracking: the pure twin's datetime_length
    cdef Py_ssize_t i = 0
    if n < 10 or not (digits(s, n, 0, 4) and s[4] == 45 and digits(s, n, 5, 2) and s[7] == 45
                      and digits(s, n, 8, 2)):
        return 0
    if not (1 <= (s[5] - 48) * 10 + s[6] - 48 <= 12 and 1 <= (s[8] - 48) * 10 + s[9] - 48 <= 31):
        return 0
    i = 10
    if i + 3 <= n and (s[i] == 84 or s[i] == 32) and digits(s, n, i + 1, 2):
        i += 3
        if i + 3 <= n and s[i] == 58 and digits(s, n, i + 1, 2):
            i += 3
            if i + 3 <= n and s[i] == 58 and digits(s, n, i + 1, 2):
                i += 3
        if i + 2 <= n and s[i] == 46 and digits(s, n, i + 1, 1):
            i += 1
            while i < n and is_digit(s[i]):
                i += 1
        if i < n and s[i] == 90:
            i += 1
        elif i + 3 <= n and (s[i] == 43 or s[i] == 45) and digits(s, n, i + 1, 2):
            i += 3
            if i + 3 <= n and s[i] == 58 and digits(s, n, i + 1, 2):
                i += 3
            elif digits(s, n, i, 2):
                i += 2
    return i if (i == n or (cls[s[i]] & C_HARD)) else 0


cdef struct Out:
    uint8_t* data
    Py_ssize_t pos


cdef inline void put(Out* o, const uint8_t* s, Py_ssize_t n) noexcept nogil:
    memcpy(o.data + o.pos, s, n)
    o.pos += n


cdef const uint8_t* P_ID = b"{id}"
cdef const uint8_t* P_TS = b"{ts}"
cdef const uint8_t* P_HEX = b"{hex}"
cdef const uint8_t* P_TOKEN = b"{token}"
cdef const uint8_t* P_UUID = b"{uuid}"
cdef const uint8_t* P_IP = b"{ip}"
cdef const uint8_t* P_DATE = b"{date}"
cdef const uint8_t* P_EMAIL = b"{email}"


cdef void token(Out* o, const uint8_t* t, Py_ssize_t n, uint8_t all_of, uint8_t any_of,
                Py_ssize_t changes) noexcept nogil:
    # all_of / any_of: the AND / OR of the token's character classes; changes: letter case flips
    if n == 0:
        return
    if all_of & C_DIGIT:
        if n == 10 and memcmp(t, b"1000000000", 10) >= 0 and memcmp(t, b"2000000000", 10) < 0:
            put(o, P_TS, 4)
        elif n == 13 and memcmp(t, b"1000000000000", 13) >= 0 and memcmp(t, b"2000000000000", 13) < 0:
            put(o, P_TS, 4)
        else:
            put(o, P_ID, 4)
    elif n >= 8 and (any_of & C_DIGIT) and (all_of & C_HEX):
        put(o, P_HEX, 5)
    elif n >= 16 and (any_of & C_DIGIT) and (all_of & C_ALNUM):
        put(o, P_TOKEN, 7)
    elif n >= 20 and (all_of & C_ALNUM) and 3 * changes >= n:
        put(o, P_TOKEN, 7)
    else:
        put(o, t, n)


cdef void segment(Out* o, const uint8_t* s, Py_ssize_t n, const uint8_t* cls) noexcept nogil:
    cdef Py_ssize_t i, start = 0, changes = 0
    cdef uint8_t c, case, prev_case = 0, all_of = 0xFF, any_of = 0
    if n == 36 and s[8] == 45 and is_uuid(s, n):
        put(o, P_UUID, 6)
        return
    if n >= 7 and is_digit(s[0]) and is_ipv4(s, n):
        put(o, P_IP, 4)
        return
    if n >= 5 and memchr(s, 64, n) != NULL and is_email(s, n):
        put(o, P_EMAIL, 7)
        return
    for i in range(n):                          # one pass: split at soft delimiters, classify tokens
        c = cls[s[i]]
        if c & C_SOFT:
            token(o, s + start, i - start, all_of, any_of, changes)
            put(o, s + i, 1)
            start = i + 1
            all_of = 0xFF
            any_of = 0
            changes = 0
            prev_case = 0
        else:
            all_of &= c
            any_of |= c
            case = c & (C_UPPER | C_LOWER)
            if case:
                if prev_case and case != prev_case:
                    changes += 1
                prev_case = case
    token(o, s + start, n - start, all_of, any_of, changes)


cdef void pattern(Out* o, const uint8_t* s, Py_ssize_t n, const uint8_t* cls, int depth) noexcept nogil:
    cdef Py_ssize_t i = 0, j, span
    cdef int segments = 0
    while True:                                 # one segment starts at i
        span = datetime_length(s + i, n - i, cls) if (n - i >= 10 and is_digit(s[i])) else 0
        if span:
            put(o, P_DATE, 6)
            j = i + span
        else:
            j = i
            while j < n and not (cls[s[j]] & C_HARD):
                j += 1
            segment(o, s + i, j - i, cls)
        if j == n:
            return
        segments += 1
        put(o, s + j, 1)
        if depth and segments == depth:
            put(o, b"*", 1)
            return
        i = j + 1


def key_patterns(keys, str delimiters=":/|.-_", int depth=0):
    """Patterns of a pyarrow string array (see :mod:`rdbscan.analysis.pypatterns`); nulls stay null."""
    cdef uint8_t cls[256]
    cdef int i
    for i in range(256):
        cls[i] = ((C_DIGIT if 48 <= i <= 57 else 0) | (C_HEX if is_hex(i) else 0)
                  | (C_ALNUM if is_alnum(i) else 0) | (C_UPPER if 65 <= i <= 90 else 0)
                  | (C_LOWER if 97 <= i <= 122 else 0))
    for ch in delimiters.encode("ascii"):
        cls[ch] |= C_SOFT if ch in b".-_" else C_HARD
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks() if keys.num_chunks != 1 else keys.chunk(0)
    if keys.type != pa.string():
        keys = keys.cast(pa.string())
    cdef Py_ssize_t n = len(keys), r, a, b
    bufs = keys.buffers()
    cdef const int32_t[:] offsets
    cdef const uint8_t[:] data
    cdef int32_t off0 = keys.offset
    if n == 0:
        return pa.array([], pa.string())
    offsets = memoryview(bufs[1]).cast("i")
    data = memoryview(bufs[2]).cast("B") if bufs[2] is not None and bufs[2].size else memoryview(b"\0")
    cdef Py_ssize_t total = offsets[off0 + n] - offsets[off0]
    if total > 400_000_000 and n > 1:   # keep the output's int32 offsets in range
        half = n // 2
        return pa.concat_arrays([key_patterns(keys.slice(0, half), delimiters, depth),
                                 key_patterns(keys.slice(half), delimiters, depth)])
    # every byte becomes at most 7 bytes ("{token}" replaces >= 16, "{id}" >= 1, "*" adds 1)
    out_data = PyByteArray_FromStringAndSize(NULL, 4 * total + 16)   # uninitialised: no zeroing pass
    out_offsets = PyByteArray_FromStringAndSize(NULL, 4 * (n + 1))
    cdef Out o
    o.data = <uint8_t*>PyByteArray_AS_STRING(out_data)
    o.pos = 0
    cdef int32_t* oo = <int32_t*>PyByteArray_AS_STRING(out_offsets)
    cdef const uint8_t* base = &data[0]
    with nogil:
        oo[0] = 0
        for r in range(n):
            a = offsets[off0 + r]
            b = offsets[off0 + r + 1]
            pattern(&o, base + a, b - a, cls, depth)
            oo[r + 1] = <int32_t>o.pos
    validity = None
    if keys.null_count:
        validity = pc.is_valid(keys).buffers()[1]
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(out_offsets),
                                                  pa.py_buffer(out_data)[:o.pos]])
