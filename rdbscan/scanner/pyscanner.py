"""Pure-Python RDB scanner: bytes in, per-key column buffers out.

This is the slow twin of the compiled ``rdbscan.scanner._scanner`` (same class name,
same methods, same results byte for byte; ``tests/test_twins.py`` holds them
to it): the fallback when the extension is not built, and the differential
oracle for it.  Like its twin it reads the stream through a refillable
window (``readinto`` only: no whole-file read, no seek), lets strings stream
past without holding them, holds listpack, ziplist, intset and zipmap blobs
only while they are walked, and hashes every byte up to the EOF opcode for
the CRC64 as the window discards it.

Malformed input raises the twin's exception with the same message, byte
offset and key.  Where the compiled scanner's C integer types make a
difference on corrupt input (an ``int`` database number, wrapping int64
sums), this module reproduces it on purpose; those places say "C parity".
"""

import binascii
import struct
import sys
from array import array
from collections import namedtuple
from operator import index

from rdbscan.errors import RDBChecksumError, RDBFormatError, RDBTruncatedError
from rdbscan.model.alloc import jemalloc_size
from rdbscan.model.valkey import vset_bytes
from rdbscan.scanner._common import (
    CRC64_POLY_REFLECTED, RaxCounter, RaxSizer, crc64_table, escape_key, header_info, key_meta_class_name,
    pre_ga_library, record_aux, snapshot_ms, unknown_message, value_types,
)
from rdbscan.scanner.format import (
    FORMAT_BINARY, FORMAT_EMPTY, FORMAT_GZIP, FORMAT_HTML, FORMAT_INT, FORMAT_JAVA, FORMAT_JSON,
    FORMAT_LZ4, FORMAT_PICKLE, FORMAT_SHIFT, FORMAT_SNAPPY, FORMAT_TEXT, FORMAT_XML, FORMAT_ZLIB,
    FORMAT_ZSTD, SNIFF_BYTES, ARRAY_SMALL_STR_MAX, ARRAY_TAG_FLOAT, ARRAY_TAG_INT, ARRAY_TAG_SDS,
    ARRAY_TAG_SMALL_STR, KEY_META_MAX_CLASSES, KEY_META_SPEC_BYTES, KIND_ARRAY, KIND_GCRA,
    OP_HASH_TEMPLATE, OP_KEY_META, RDB_VERSION_ARRAY, RDB_VERSION_KEY_META, TEMPLATE_ID_MAX, TYPE_ARRAY,
    TYPE_GCRA, TYPE_HASH_TMPL_ARRAY, TYPE_HASH_TMPL_ARRAY_REF, TYPE_HASH_TMPL_LP, TYPE_HASH_TMPL_LP_REF,
    TYPE_STREAM_LISTPACKS_4, TYPE_STREAM_LISTPACKS_5,
    ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF, FLAG_HFE, FLAG_INTEGER, FLAG_PLAIN_NODE,
    FLAVOR_REDIS, FLAVOR_VALKEY, INTSET_HEADER, KIND_HASH, KIND_LIST, KIND_MODULE_BASE, KIND_PATH_HASH,
    KIND_SET, KIND_STREAM, KIND_STRING, KIND_ZSET, LEN_6BIT, LEN_14BIT, LEN_32BIT,
    LEN_64BIT, LEN_ENCVAL, LISTPACK_END, LISTPACK_HEADER, MAGIC_LEN, MODULE_OP_DOUBLE,
    MODULE_OP_EOF, MODULE_OP_FLOAT, MODULE_OP_SINT, MODULE_OP_STRING, MODULE_OP_UINT,
    OP_AUX, OP_EOF, OP_EXPIRETIME, OP_EXPIRETIME_MS, OP_FREQ, OP_FUNCTION2,
    OP_FUNCTION_PRE_GA, OP_IDLE, OP_MODULE_AUX, OP_RESIZEDB, OP_SELECTDB, OP_SLOT_IMPORT, OP_SLOT_INFO,
    OP_UPDATE,
    QUICKLIST_NODE_PACKED, QUICKLIST_NODE_PLAIN, RDB_VERSION_CRC,
    STREAM_ALLOC_PEL_TIME, STREAM_ID_BYTES, STREAM_NODES, STREAM_TREES, TYPE_HASH, TYPE_HASH_LISTPACK, TYPE_HASH_LISTPACK_EX,
    TYPE_HASH_LISTPACK_EX_PRE_GA, TYPE_HASH_METADATA, TYPE_HASH_METADATA_PRE_GA,
    TYPE_HASH_ZIPLIST, TYPE_HASH_ZIPMAP, TYPE_LIST, TYPE_LIST_QUICKLIST,
    TYPE_LIST_QUICKLIST_2, TYPE_LIST_ZIPLIST, TYPE_MODULE_2, TYPE_MODULE_PRE_GA, TYPE_SET,
    TYPE_SET_INTSET, TYPE_SET_LISTPACK, TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2,
    TYPE_STREAM_LISTPACKS_3, TYPE_STRING, TYPE_ZSET, TYPE_ZSET_2, TYPE_ZSET_LISTPACK,
    TYPE_ZSET_ZIPLIST, VALKEY_RDB_VERSION_PATH_HASH, VALKEY_TYPE_HASH_2, VALKEY_TYPE_PATH_HASH,
    VSET_VECTOR_MAX, ZIPLIST_BIGLEN, ZIPLIST_END, ZIPLIST_HEADER,
    ZIPMAP_BIGLEN, ZIPMAP_END, ZSET_SCORE_NAN, module_encver, module_type_name,
)

# The column buffers are handed over as raw little-endian C arrays.
if sys.byteorder != "little" or array("i").itemsize != 4 or array("q").itemsize != 8 \
        or array("Q").itemsize != 8:
    raise ImportError("rdbscan supports little-endian machines with 32-bit int only")

# Scanner limits (not format facts); they match the compiled twin's.
WINDOW = 1 << 20              # bytes asked of the source per read
SMALL_INT_LEN = 20            # longest string that can parse as a 64-bit integer
SIZING_LUT = 4096             # element lengths covered by the sizing tables
PAIR_FIELDS = 128             # field lengths covered by the optional hash pair table
RESP_DIGITS_MAX = 18          # digits of an UPDATE opcode's "*<argc>" / "$<len>" (more: corrupt)
ROLES = 5                     # sizing roles: field, value, field with TTL, set member, zset member
ROLE_SET, ROLE_ZSET = 3, 4
IDMP_PRODUCER = 24            # Redis 8.6 sizeof(idmpProducer)
IDMP_ENTRY = 32               # sizeof(idmpEntry) before its inline IID
KEY_TEXT_MAX = 1 << 30        # longest key (as text); a batch also ends once its keys reach this
INT64_MAX_OFFSET = (1 << 63) - 1
MAX_COUNT = 1 << 56           # an element count beyond this is corruption
MAX_DB = 0xFFFF               # the db column is uint16
MAX_KIND = 0xFF               # the kind column is uint8
KEY_IN_ERRORS = 256           # bytes of the current key quoted in an error
SLOT_MASK = 16383             # Redis Cluster has 16384 hash slots
INT64_MAX = (1 << 63) - 1
LZF_MAX_RATIO = 88            # an LZF back-reference expands 3 bytes into at most 264
LZF_SLACK = 64

# String header kinds (what follows the header in the stream).
_RAW, _INT, _LZF = 0, 1, 2

_U32_BE = struct.Struct(">I")
_U64_BE = struct.Struct(">Q")
_U32_LE = struct.Struct("<I")
_F64_LE = struct.Struct("<d")
_U64_LE = struct.Struct("<Q")
_I64_LE = struct.Struct("<q")
_F64_LE = struct.Struct("<d")
_INTSET_HEADER = struct.Struct("<II")        # encoding (member width), length
_SIGNED_LE = {1: struct.Struct("<b"), 2: struct.Struct("<h"),
              4: struct.Struct("<i"), 8: struct.Struct("<q")}
_INTSET_MEMBER = {2: "h", 4: "i", 8: "q"}    # array type codes by member width
# Ziplist integer encodings with a payload: encoding byte -> payload width.
_ZIPLIST_INT_WIDTH = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}
_BIT_CHARS = bytes.maketrans(b"\x00\x01", b"01")


# ---------------------------------------------------------------- CRC64

_crc64_tables = None


def _crc64_update(crc, data, start, stop):
    # Slice-by-8 over the reflected Jones polynomial Redis uses (crc64.c):
    # whole 8-byte words through array('Q'), the tail a byte at a time.
    # Splitting each word with to_bytes is cheaper in Python than 7 shifts
    # and masks.
    global _crc64_tables
    if _crc64_tables is None:
        _crc64_tables = tuple(tuple(t) for t in crc64_table())
    t0, t1, t2, t3, t4, t5, t6, t7 = _crc64_tables
    words_end = start + ((stop - start) & ~7)
    if words_end > start:
        for v in array("Q", data[start:words_end]):
            b0, b1, b2, b3, b4, b5, b6, b7 = (v ^ crc).to_bytes(8, "little")
            crc = t7[b0] ^ t6[b1] ^ t5[b2] ^ t4[b3] ^ t3[b4] ^ t2[b5] ^ t1[b6] ^ t0[b7]
    for b in data[words_end:stop]:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def crc64(data, crc=0):
    """CRC64 (Jones, reflected) of ``data`` continuing from ``crc``, as Redis computes it."""
    data = memoryview(data).tobytes()
    if not data:
        return crc
    return _crc64_update(crc, data, 0, len(data))


_crc64_zeros = None


def _gf2_times(mat, vec):
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def crc64_combine(crc1, crc2, len2):
    """CRC64 of A followed by B, from ``crc1`` = CRC64(A), ``crc2`` = CRC64(B) and ``len2`` = len(B)."""
    # GF(2) operators advancing the reflected register over 2^k zero bytes,
    # built from the one-bit shift (the polynomial folds in when the low bit
    # falls out) by squaring, as the compiled twin does.
    global _crc64_zeros
    if _crc64_zeros is None:
        bit = [CRC64_POLY_REFLECTED] + [1 << (i - 1) for i in range(1, 64)]
        op = bit
        for _ in range(3):                      # 2, 4, 8 bits
            op = [_gf2_times(op, op[i]) for i in range(64)]
        zeros = [op]
        for _ in range(63):
            op = [_gf2_times(op, op[i]) for i in range(64)]
            zeros.append(op)
        _crc64_zeros = zeros
    k = 0
    while len2:
        if len2 & 1:
            crc1 = _gf2_times(_crc64_zeros[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


# --------------------------------------------------------------- helpers

class _LZFError(ValueError):
    """Corrupt LZF data; the scanner adds the offset and key."""


def lzf_decompress(data, start, stop, size):
    """Decompress the LZF stream ``data[start:stop]`` that must give ``size`` bytes.

    Raises _LZFError with the compiled twin's message when the stream is
    corrupt: a run past either end, a back-reference before the output.
    """
    out = bytearray()
    ip = start
    while ip < stop:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:                                # literal run of ctrl + 1 bytes
            n = ctrl + 1
            if ip + n > stop or len(out) + n > size:
                raise _LZFError("corrupt LZF data: literal run overflows")
            out += data[ip:ip + n]
            ip += n
            continue
        n = ctrl >> 5                                # back-reference
        op = len(out)
        ref = op - ((ctrl & 0x1F) << 8) - 1
        if ip >= stop:
            raise _LZFError("corrupt LZF data: truncated back-reference")
        if n == 7:
            n += data[ip]
            ip += 1
            if ip >= stop:
                raise _LZFError("corrupt LZF data: truncated back-reference")
        ref -= data[ip]
        ip += 1
        n += 2
        if op + n > size or ref < 0:
            raise _LZFError("corrupt LZF data: back-reference out of range")
        distance = op - ref
        if distance >= n:
            out += out[ref:ref + n]
        else:
            # An overlapping copy repeats the last `distance` bytes.
            out += (out[ref:op] * (n // distance + 1))[:n]
    if len(out) != size:
        raise _LZFError(f"corrupt LZF data: decompressed {len(out)} bytes, header says {size}")
    return out


def _lzf_claim_impossible(clen, ulen):
    # An LZF back-reference expands 3 bytes into at most 264: ulen may not
    # exceed clen * LZF_MAX_RATIO + LZF_SLACK.
    return ulen < 0 or ulen > clen * LZF_MAX_RATIO + LZF_SLACK


def _is_canonical_int(text):
    # Redis string2ll: optional '-', no leading zero, no '+', fits in int64.
    if text == b"0":
        return True
    negative = text[:1] == b"-"
    digits = text[1:] if negative else text
    if not digits or not digits.isdigit() or digits[0] == 0x30:
        return False
    return int(digits) <= (INT64_MAX + 1 if negative else INT64_MAX)


# --- what the loader would build: listpack / ziplist / intset sizes -------
MAX_X = 7                 # what-if sizing slots besides the scan's own (set_slots)
SCORE_EXACT_MAX = 1024    # zsets up to this size get their scores' text lengths exactly (printf is slow)
SCORE_TEXT_GUESS = 18     # for bigger ones: a fractional score's text, typically 17 digits and a dot


def _lp_with_backlen(size):
    # A listpack entry of `size` bytes plus its back-length (lpEncodeBacklen).
    return size + _lp_backlen(size)


def _lp_int_entry(v):
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


def _lp_str_entry(n):
    # A listpack string entry with its back-length (lpEncodeString).
    if n < 64:
        return _lp_with_backlen(1 + n)
    if n < 4096:
        return _lp_with_backlen(2 + n)
    return _lp_with_backlen(5 + n)


def _zl_int_body(v):
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


def _zl_str_body(n):
    # A ziplist string entry without its prevlen field (zipStoreEntryEncoding).
    if n <= 63:
        return 1 + n
    if n <= 16383:
        return 2 + n
    return 5 + n


def _intset_width(v):
    if -32768 <= v <= 32767:
        return 2
    if -2147483648 <= v <= 2147483647:
        return 4
    return 8


def _double_to_ll(d):
    # Redis double2ll: the integer when d is integral and within +-LLONG_MAX/2, else None.
    if d != d or d < -4611686018427387903.0 or d > 4611686018427387903.0:
        return None
    ll = int(d)
    return ll if float(ll) == d else None


def _shortest_text_len(d):
    # Length of 7.2+ d2string's fpconv_dtoa text: the shortest digits that
    # read back as d, laid out as fpconv's emit_digits does.
    # The shortest digits that read back: a 15-digit rounding stripped of
    # its trailing zeros is the shortest whenever one of 15 digits or fewer
    # reads back (it is that decimal); else 16, else 17 digits.
    for p in range(14, 17):
        text = "%.*e" % (p, d)
        if float(text) == d:
            break
    mantissa, exponent = text.split("e")
    E = int(exponent)
    digits = mantissa.replace("-", "").replace(".", "")
    nd = len(digits)
    while nd > 1 and digits[nd - 1] == "0":
        nd -= 1
    neg = 1 if d < 0 else 0
    K = E - (nd - 1)
    ex = abs(E)
    if K >= 0 and ex < nd + 7:
        return neg + nd + K
    if K < 0 and (K > -7 or ex < 4):
        off = nd + K
        return neg + (nd + 2 - off if off <= 0 else nd + 1)
    nd = min(nd, 18 - neg)
    return neg + 1 + (nd if nd > 1 else 0) + 2 + (3 if ex > 99 else (2 if ex > 9 else 1))


def float_text_len(d):
    """Length of the text Redis reads an array's float element back as (8.8 ``ARRAY_TAG_FLOAT``).

    Redis inlines a float only when its shortest round-trip digits, written
    as a plain decimal (``.0`` added to whole numbers), give back the string
    it was set to; this is that text's length.  Found as the compiled twin
    does: the fewest ``%e`` digits that read back as the same double.
    """
    if d != d:
        return 3                                       # "nan"
    if d in (float("inf"), float("-inf")):
        return 3 + (d < 0)                             # "inf", "-inf"
    for p in range(1, 18):
        text = "%.*e" % (p - 1, d)
        if float(text) == d:
            break
    exp = int(text[text.index("e") + 1:])
    sign = 1 if text[0] == "-" else 0
    if exp >= 0:
        return sign + (exp + 3 if p <= exp + 1 else p + 1)
    return sign + 1 - exp + p                          # "0." + zeros + digits


_Sizing = namedtuple("_Sizing", "lut big rounded alloc as_lp pair extra stream vset")
"""One sizing (set_sizing's or a what-if slot's): per-role tables, headers past them, rounding and
extra bytes; the allocator code; ziplists as listpacks; the hash pair table; the stream mode; the
Valkey 9.0+ volatile set's table struct (0: none)."""


def _sizing(tables, big_headers, rounded, quantum16=0, stream_alloc=STREAM_NODES, big_extra=None,
            vset_table=0, listpacks=False):
    """A :data:`_Sizing` from ``set_sizing``'s arguments."""
    pair = [int(v) for v in tables[ROLES][:2 * PAIR_FIELDS * 129]] \
        if len(tables) > ROLES and tables[ROLES] is not None else None
    return _Sizing(tuple([int(v) for v in tables[role][:SIZING_LUT]] for role in range(ROLES)),
                   tuple(big_headers[:ROLES]),
                   tuple(bool(r) for r in rounded[:ROLES]) if isinstance(rounded, (tuple, list))
                   else (bool(rounded),) * ROLES,
                   int(quantum16), bool(listpacks), pair,
                   tuple(big_extra[:ROLES]) if big_extra is not None else (0,) * ROLES, int(stream_alloc),
                   int(vset_table))


_WS = b" \t\n\r"


def sniff_format(head):
    """The format code of a string value from its first bytes (at most SNIFF_BYTES of them)."""
    if not head:
        return FORMAT_EMPTY
    if head.startswith(b"\x1f\x8b"):
        return FORMAT_GZIP
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return FORMAT_ZSTD
    if head.startswith(b"\x04\x22\x4d\x18"):
        return FORMAT_LZ4
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x9C, 0xDA):
        return FORMAT_ZLIB
    if head.startswith(b"\xff\x06\x00\x00sNaPpY"):
        return FORMAT_SNAPPY
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return FORMAT_PICKLE
    if head.startswith(b"\xac\xed\x00\x05"):
        return FORMAT_JAVA
    i, n = 0, len(head)
    while i < n and head[i] in _WS:
        i += 1
    if i < n:
        j = i + 1
        while j < n and head[j] in _WS:
            j += 1
        nxt = head[j] if j < n else None
        c = head[i]
        if c == 0x7B and (nxt is None or nxt in b'"}'):
            return FORMAT_JSON
        if c == 0x5B and (nxt is None or nxt in b'{["-0123456789]tfn'):
            return FORMAT_JSON
        if c == 0x3C:
            low = head[i:].lower()
            if low.startswith(b"<?xml"):
                return FORMAT_XML
            if low.startswith((b"<!doctype html", b"<html")):
                return FORMAT_HTML
    for b in head:
        if (b < 0x20 and b not in _WS) or b == 0x7F:
            return FORMAT_BINARY
    return FORMAT_TEXT


def _is_utf8(raw):
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _key_slot(key):
    # Redis Cluster: hash only the part between the first '{' and the next '}'
    # when it is not empty (cluster.c keyHashSlot).  binascii.crc_hqx is the
    # CRC16-CCITT (XMODEM) Redis uses.
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            return binascii.crc_hqx(key[s + 1:e], 0) & SLOT_MASK
    return binascii.crc_hqx(key, 0) & SLOT_MASK


def _wrap_int64(v):
    # C parity: the compiled twin's int64 sums wrap around.
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v > INT64_MAX else v


def _bitmap(valid):
    # Pack one-byte-per-row flags (0 or 1) into an Arrow validity bitmap,
    # LSB first; None when every row is valid, False when none is.
    flags = valid.tobytes()
    if 0 not in flags:
        return None
    if 1 not in flags:
        return False
    bits = int(flags.translate(_BIT_CHARS)[::-1], 2)
    return bits.to_bytes((len(flags) + 7) // 8, "little")


def sds_alloc_size(n, quantum16=False):
    """What Redis 8.4+'s ``sdsAllocSize`` says of a new sds of ``n`` bytes.

    Type 5 strings (1 to 31 bytes) report header + length + terminator
    exactly; the others their allocation, since ``sdsnewlen`` records the
    usable size (an empty one is type 8).
    """
    if 0 < n < 32:
        return n + 2
    hdr = 3 if n < 256 else 5 if n < 65536 else 9 if n < 2 ** 32 else 17
    return jemalloc_size(hdr + n + 1, quantum16)


def _lp_first(data, start, n):
    """A listpack's first entry: (is it an integer, its value, its bytes with back-length).

    Only read when the listpack has a first entry that lies inside it; the
    walker validates the rest.
    """
    e = start + LISTPACK_HEADER
    if n < LISTPACK_HEADER + 2 or data[e] == LISTPACK_END:
        return False, 0, 0
    c = data[e]
    value, is_int = 0, True
    if c < 0x80:
        value, entry = c, 1
    elif (c & 0xC0) == 0x80:
        entry, is_int = 1 + (c & 0x3F), False
    elif (c & 0xE0) == 0xC0:
        value = ((c & 0x1F) << 8) | data[e + 1]
        value, entry = (value - 8192 if value >= 4096 else value), 2
    elif (c & 0xF0) == 0xE0:
        entry, is_int = 2 + (((c & 0x0F) << 8) | data[e + 1]), False
    elif c == 0xF0:
        entry, is_int = 5 + _U32_LE.unpack_from(data, e + 1)[0], False
    elif 0xF1 <= c <= 0xF4:
        entry = (3, 4, 5, 9)[c - 0xF1]
        value = int.from_bytes(data[e + 1:e + entry], "little", signed=True)
    else:
        return False, 0, 0
    return is_int, value, entry + _lp_backlen(entry)


def _lp_backlen(entry):
    """Bytes of a listpack entry's back-length for an entry (encoding and data) of ``entry`` bytes."""
    return 1 if entry <= 127 else 2 if entry < 16383 else 3 if entry < 2097151 else \
        4 if entry < 268435455 else 5


class _Columns:
    """The rows of one batch, column by column, as the compiled twin's C arrays."""

    __slots__ = ("db", "kind", "rdb_type", "length", "length_valid", "max", "serialized",
                 "offset", "expire", "expire_valid", "idle", "idle_valid", "freq",
                 "freq_valid", "slot", "groups", "consumers", "pending", "stream_valid",
                 "hfe", "hfe_valid", "expired", "expired_bytes", "expired_valid", "flags",
                 "nodes", "blob", "elem", "mem_elements",
                 "mem_values", "mem_blobs", "lp", "lp70", "zl", "intset", "slots", "conv", "key_offsets",
                 "key_data", "raw_offsets", "raw_valid", "raw_keys")

    def __init__(self, nx=0, nconv=0):
        for name, code in (("db", "H"), ("kind", "B"), ("rdb_type", "B"), ("length", "q"),
                           ("length_valid", "B"), ("max", "q"), ("serialized", "q"),
                           ("offset", "q"), ("expire", "q"), ("expire_valid", "B"),
                           ("idle", "q"), ("idle_valid", "B"), ("freq", "B"),
                           ("freq_valid", "B"), ("slot", "H"), ("groups", "q"),
                           ("consumers", "q"), ("pending", "q"), ("stream_valid", "B"),
                           ("hfe", "q"), ("hfe_valid", "B"), ("expired", "q"),
                           ("expired_bytes", "q"), ("expired_valid", "B"), ("flags", "B"),
                           ("nodes", "q"),
                           ("blob", "q"), ("elem", "q"), ("mem_elements", "q"),
                           ("mem_values", "q"), ("mem_blobs", "q"), ("lp", "q"), ("lp70", "q"),
                           ("zl", "q"), ("intset", "q"), ("raw_valid", "B")):
            setattr(self, name, array(code))
        self.slots = [(array("q"), array("q"), array("q")) for _ in range(nx)]
        self.conv = [array("q") for _ in range(nconv)]
        self.key_offsets = array("i", [0])
        self.raw_offsets = array("i", [0])
        self.key_data = bytearray()
        self.raw_keys = []

    def buffers(self):
        """The batch as the compiled twin's ``columns`` dict (same keys, same order)."""
        cols = {
            "db": self.db.tobytes(),
            "key_offsets": self.key_offsets.tobytes(),
            "key_data": bytes(self.key_data),
            "kind": self.kind.tobytes(),
            "rdb_type": self.rdb_type.tobytes(),
            "length": self.length.tobytes(),
            "length_valid": _bitmap(self.length_valid),
            "max_element_bytes": self.max.tobytes(),
            "serialized_bytes": self.serialized.tobytes(),
            "offset": self.offset.tobytes(),
            "slot": self.slot.tobytes(),
            "flags": self.flags.tobytes(),
            "nodes": self.nodes.tobytes(),
            "blob_bytes": self.blob.tobytes(),
            "element_bytes": self.elem.tobytes(),
            "mem_elements": self.mem_elements.tobytes(),
            "mem_values": self.mem_values.tobytes(),
            "mem_blobs": self.mem_blobs.tobytes(),
            "lp_bytes": self.lp.tobytes(),
            "lp_bytes_70": self.lp70.tobytes(),
            "zl_bytes": self.zl.tobytes(),
            "intset_bytes": self.intset.tobytes(),
        }
        for s, conv in enumerate(self.conv):
            cols[f"conv_at_{s}"] = conv.tobytes()
        for s, (elements, values, blobs) in enumerate(self.slots, 1):
            cols[f"mem_elements_{s}"] = elements.tobytes()
            cols[f"mem_values_{s}"] = values.tobytes()
            cols[f"mem_blobs_{s}"] = blobs.tobytes()
        # Nullable groups: the bitmap, and values only when some row has them.
        v = cols["key_raw_valid"] = _bitmap(self.raw_valid)
        cols["key_raw_offsets"] = None if v is False else self.raw_offsets.tobytes()
        cols["key_raw_data"] = None if v is False else b"".join(self.raw_keys)
        v = cols["expire_valid"] = _bitmap(self.expire_valid)
        cols["expire_at"] = None if v is False else self.expire.tobytes()
        v = cols["idle_valid"] = _bitmap(self.idle_valid)
        cols["idle"] = None if v is False else self.idle.tobytes()
        v = cols["freq_valid"] = _bitmap(self.freq_valid)
        cols["freq"] = None if v is False else self.freq.tobytes()
        v = cols["stream_valid"] = _bitmap(self.stream_valid)
        cols["stream_groups"] = None if v is False else self.groups.tobytes()
        cols["stream_consumers"] = None if v is False else self.consumers.tobytes()
        cols["stream_pending"] = None if v is False else self.pending.tobytes()
        v = cols["hfe_valid"] = _bitmap(self.hfe_valid)
        cols["hash_fields_with_ttl"] = None if v is False else self.hfe.tobytes()
        v = cols["expired_valid"] = _bitmap(self.expired_valid)
        cols["hash_fields_expired"] = None if v is False else self.expired.tobytes()
        cols["hash_expired_bytes"] = None if v is False else self.expired_bytes.tobytes()
        return cols


# --------------------------------------------------------------- scanner

class Scanner:
    """Scan an RDB stream into column buffers, one row per key.

    ``source`` is a binary file object with ``readinto``; ``batch_size`` rows
    are gathered per :meth:`next_batch`; ``verify`` checks the CRC64.
    File-level facts accumulate in :attr:`meta`; module type names (``type``
    codes 6+) in :attr:`module_names`.
    """

    __slots__ = (
        # input window
        "_src", "_buf", "_cap", "_pos", "_end", "_base", "_src_eof", "_verify", "_crc",
        "_crc_pos", "_blob_len",
        # file state
        "meta", "module_names", "_module_codes", "flavor", "version", "done", "_db",
        "_value_readers", "_opcode_handlers", "_db_counts", "_templates",
        # record state: pending expiry/LRU/LFU and key metadata, the key whose value is being read
        "_rec_start", "_expire", "_idle", "_freq", "_meta_bytes", "_key",
        # resumed scanners (parallel decode): start inside a dump, stop at an offset
        "_stop_at", "_start_offset", "_resumed", "_db_known", "_flushed", "_unknown_db",
        "_batch_limit", "_new_templates",
        # per-value facts
        "_v_kind", "_v_len", "_v_len_valid", "_v_max", "_v_elem", "_v_blob", "_v_nodes",
        "_v_flags", "_v_stream", "_v_hfe", "_v_expired", "_v_mem", "_v_mem_blobs",
        # what the loader would build of the elements: a listpack (7.2+ / 7.0
        # score text), a ziplist (before 7.0), an intset (widest member; -1:
        # not all integers); the last ziplist entry's size (the next prevlen)
        "_v_lp", "_v_lp70", "_v_zl", "_v_intw", "_zl_prev",
        # the last blob walked, as a listpack / ziplist; its members' intset width (-1: not all ints)
        "_w_lp", "_w_zl", "_w_intw",
        # sizing tables (set_sizing): allocation size by element length
        "_lut", "_big_hdr", "_big_rounded", "_big_extra", "_q16", "_pair", "_last_field", "_stream_alloc",
        "_as_lp", "_want_zl", "_vset_table",
        # Valkey: field TTLs before this (the snapshot's ctime, ms) are expired
        "_expired_before",
        # what-if slots (set_slots): (lut, big_hdr, rounded, alloc, as_lp, pair, big_extra,
        # stream_alloc, vset_table); their sums
        "_x", "_x_mem", "_x_blobs",
        # the stream sizings the scan and its slots need (_stream_modes)
        "_st_modes",
        # conversion points (set_conversions): value limits, per-key indexes, the running longest
        "_conv_limits", "_v_conv", "_v_runmax",
        # the batch
        "_batch_size", "_rows", "_cols",
    )

    def __init__(self, source, batch_size=65536, verify=True, resume=None):
        batch_size = index(batch_size)
        if batch_size < 0:
            raise MemoryError()     # C parity: the twin's column arrays cannot be allocated
        self._src = source
        self._cap = WINDOW
        self._buf = bytearray(WINDOW)
        self._pos = self._end = self._base = 0
        self._src_eof = False
        self._verify = bool(verify)
        self._crc = 0
        self._crc_pos = 0
        self._blob_len = 0
        self._batch_size = batch_size
        self._batch_limit = batch_size
        self._rows = 0
        self._cols = _Columns()
        self._stop_at = INT64_MAX_OFFSET
        self._start_offset = 0
        self._resumed = False
        self._db_known = True
        self._flushed = 0
        self._unknown_db = (0, 0, 0)
        self.meta = {"aux": {}, "functions": [], "module_aux": [], "dbs": {},
                     "resizedb": {}, "slot_info": [], "crc": None, "notes": []}
        self.module_names = []
        self._module_codes = {}
        self.flavor = FLAVOR_REDIS
        self.version = 0
        self._db = 0
        self._db_counts = {}        # db -> [keys, expires], in order of first appearance
        self._templates = {}        # hash template id -> (fields, longest field, field bytes)
        self._new_templates = []    # the ones this scanner read (handoff)
        self.done = False
        self._key = None
        self._lut = ([0] * SIZING_LUT,) * ROLES
        self._big_hdr = (0,) * ROLES
        self._big_rounded = (False,) * ROLES
        self._big_extra = (0,) * ROLES
        self._pair = None
        self._stream_alloc = STREAM_NODES
        self._last_field = 2 * PAIR_FIELDS
        self._vset_table = 0
        self._expired_before = -(1 << 63)
        self._q16 = 0
        self._as_lp = False
        self._want_zl = False
        self._x = []
        self._x_mem = []
        self._x_blobs = []
        self._st_modes = self._stream_modes()
        self._conv_limits = []
        self._v_conv = []
        self._v_runmax = -1
        self._v_mem = [0] * ROLES
        self._v_mem_blobs = 0
        self._v_lp = self._v_lp70 = self._v_zl = self._v_intw = self._zl_prev = 0
        self._w_lp = self._w_zl = self._w_intw = 0
        self._v_kind = 0
        self._clear_pending()
        if resume is None:
            self._read_header()
        else:
            self._resume(resume)

    def _resume(self, resume):
        # Start at a record boundary inside a dump (rdbscan.scanner._common.Resume):
        # no header; the db and the expiry/LRU/LFU opcodes read before this
        # offset are given, or left for the caller to resolve (db None:
        # rows before the first SELECTDB are counted under db 0).
        self.flavor, self.version = resume.flavor, resume.version
        self._expired_before = resume.expired_before
        self._value_readers = self._readers_for(self.flavor)
        self._opcode_handlers = self._handlers_for(self.flavor)
        self._base = self._start_offset = resume.offset
        self._resumed = True
        if resume.stop_at is not None:
            self._stop_at = resume.stop_at
        if resume.db is None:
            self._db_known = False
        else:
            self._db = resume.db
        if resume.pending is not None:
            self._expire, self._idle, self._freq, self._rec_start, self._meta_bytes = resume.pending
        for name in resume.module_names:
            self._module_codes[name] = KIND_MODULE_BASE + len(self.module_names)
            self.module_names.append(name)
        if resume.first_batch is not None:
            self._batch_limit = resume.first_batch
        for tid, fields, longest, total in resume.templates:
            self._templates[tid] = (fields, longest, total)

    def handoff(self):
        """Where a resumed scanner stopped and the state a scanner continuing there needs.

        Same contract as the compiled twin: ``offset``, ``db``, ``pending``,
        ``unknown_db``, ``crc`` up to ``crc_end``, ``module_names``, ``templates``.
        """
        if self._verify and not self.done and self._pos > self._crc_pos:
            self._crc = _crc64_update(self._crc, self._buf, self._crc_pos, self._pos)
            self._crc_pos = self._pos
        counts = self._db_counts.get(0, (0, 0))
        unknown = self._unknown_db if self._db_known else (self._flushed + self._rows, counts[0], counts[1])
        return {
            "offset": self._base + self._pos,
            "db": self._db if self._db_known else None,
            "pending": (self._expire, self._idle, self._freq, self._rec_start, self._meta_bytes),
            "unknown_db": unknown,
            "crc": self._crc if self._verify else None,
            "crc_end": self.meta["eof_offset"] + 1 if self.done else self._base + self._pos,
            "module_names": list(self.module_names),
            "templates": list(self._new_templates),
        }

    @property
    def stopped(self):
        """True once a resumed scanner reached its stop offset (or the end of the dump)."""
        return self.done or self._base + self._pos >= self._stop_at

    # ------------------------------------------------------------ input
    @property
    def offset(self):
        """Byte offset of the next unread byte in the (decompressed) stream."""
        return self._base + self._pos

    def _fail(self, message, at=-1):
        if at < 0:
            at = self._base + self._pos
        raise RDBFormatError(message, at, self._current_key())

    def _current_key(self):
        # The key whose value is being read (first 256 bytes), for error messages.
        return None if self._key is None else self._key[:KEY_IN_ERRORS]

    def _fill(self, n):
        # Make n bytes available at pos: hash and drop what was consumed,
        # grow the window only when one structure needs more than it holds.
        buf, pos, end = self._buf, self._pos, self._end
        if self._verify and pos > self._crc_pos:
            self._crc = _crc64_update(self._crc, buf, self._crc_pos, pos)
        if pos > 0:
            buf[:end - pos] = buf[pos:end]
            self._base += pos
            self._pos = 0
            self._end = end = end - pos
        self._crc_pos = 0
        # A structure longer than the window grows it step by step, as its
        # bytes actually arrive: a corrupt length never allocates what it claims.
        while end < n and not self._src_eof:
            if end == self._cap:
                grow = min(n, self._cap * 2) - self._cap
                buf.extend(bytes(grow))
                self._cap += grow
            got = self._src.readinto(memoryview(buf)[end:self._cap])
            if not got:
                self._src_eof = True
            else:
                self._end = end = end + got
        if end < n:
            raise RDBTruncatedError(
                f"unexpected end of data: {n} bytes needed from byte {self._base + self._pos}, "
                f"only {end - self._pos} there",
                self._base + end, self._current_key())

    def _need(self, n):
        if self._end - self._pos < n:
            self._fill(n)

    def _advance(self, n):
        # Consume n bytes that must all be in the window at once.
        if self._end - self._pos < n:
            self._fill(n)
        self._pos += n

    def _skip(self, n):
        # Consume n bytes without holding them (large strings stream past).
        while n > 0:
            if self._end == self._pos:
                self._fill(1)
            take = min(self._end - self._pos, n)
            self._pos += take
            n -= take

    def _take(self, n):
        # The next n bytes, as bytes.
        if self._end - self._pos < n:
            self._fill(n)
        pos = self._pos
        self._pos = pos + n
        return bytes(self._buf[pos:pos + n])

    def _u8(self):
        pos = self._pos
        if pos >= self._end:
            self._fill(1)
            pos = 0
        self._pos = pos + 1
        return self._buf[pos]

    def _unpack(self, fmt):
        if self._end - self._pos < fmt.size:
            self._fill(fmt.size)
        pos = self._pos
        self._pos = pos + fmt.size
        return fmt.unpack_from(self._buf, pos)[0]

    def _fixed(self, n):
        # Little-endian signed integer of n bytes (1, 2, 4 or 8).
        return self._unpack(_SIGNED_LE[n])

    # ------------------------------------------------------- lengths
    def _read_len_raw(self):
        # RDB length encoding: (value, encoded).  ``encoded`` marks a special
        # string encoding instead of a length, its 6-bit code in ``value``.
        at = self._base + self._pos
        c = self._u8()
        t = c >> 6
        if t == LEN_6BIT:
            return c & 0x3F, False
        if t == LEN_14BIT:
            return ((c & 0x3F) << 8) | self._u8(), False
        if c == LEN_32BIT:
            return self._unpack(_U32_BE), False
        if c == LEN_64BIT:
            return self._unpack(_U64_BE), False
        if t == LEN_ENCVAL:
            return c & 0x3F, True
        self._fail(f"invalid length encoding byte 0x{c:02x}", at)

    def _read_len(self):
        # A length or string header, at most int64: (value, encoded).
        at = self._base + self._pos
        v, encoded = self._read_len_raw()
        if v > INT64_MAX:
            self._fail(f"length {v} is out of range", at)
        return v, encoded

    def _read_u64_len(self):
        # A full-range unsigned number (module IDs, stream ID parts).
        pos = self._pos
        if pos < self._end and self._buf[pos] < 0x40:      # the common 6-bit case
            self._pos = pos + 1
            return self._buf[pos]
        at = self._base + pos
        v, encoded = self._read_len_raw()
        if encoded:
            self._fail("expected a number, found a string encoding marker", at)
        return v

    def _read_plain_len(self):
        pos = self._pos
        if pos < self._end and self._buf[pos] < 0x40:      # the common 6-bit case
            self._pos = pos + 1
            return self._buf[pos]
        at = self._base + pos
        v, encoded = self._read_len()
        if encoded:
            self._fail("expected a length, found a string encoding marker", at)
        return v

    def _count(self):
        # A collection length; each element takes at least one byte, so a
        # count beyond what a 64-bit file could hold is corruption.
        at = self._base + self._pos
        n = self._read_plain_len()
        if n > MAX_COUNT:
            self._fail(f"element count {n} is implausibly large", at)
        return n

    # ------------------------------------------------------- strings
    def _string_header(self):
        # (kind, value, length): _RAW, None, length (data next); _INT, the
        # integer, its decimal length (data consumed); _LZF, compressed
        # length, uncompressed length (data next).
        at = self._base + self._pos
        n, encoded = self._read_len()
        if not encoded:
            return _RAW, None, n
        if n == ENC_INT8:
            v = self._fixed(1)
        elif n == ENC_INT16:
            v = self._fixed(2)
        elif n == ENC_INT32:
            v = self._fixed(4)
        elif n == ENC_LZF:
            clen = self._read_plain_len()
            ulen = self._read_plain_len()
            # Checked here too, so that string values (never decompressed)
            # cannot claim more than their compressed bytes could expand to.
            if _lzf_claim_impossible(clen, ulen):
                self._fail(f"LZF header claims {ulen} bytes from {clen} compressed bytes")
            return _LZF, clen, ulen
        else:
            self._fail(f"unknown string encoding {n}", at)
        return _INT, v, len(str(v))

    def _skip_string(self):
        # Consume a string without holding it; returns its length.
        pos = self._pos
        if pos < self._end:
            n = self._buf[pos]
            if n < 0x40 and pos + 1 + n <= self._end:     # short raw string in the window
                self._pos = pos + 1 + n
                return n
        kind, value, n = self._string_header()
        if kind == _LZF:
            self._skip(value)
        elif kind == _RAW:
            # Short strings must be whole in the window (as the twin's need()).
            if n <= SMALL_INT_LEN:
                self._advance(n)
            else:
                self._skip(n)
        return n

    def _packed(self, n, all_int):
        # The listpack (or intset, for integer sets) the loader builds from
        # elements stored one by one, should it keep the value compact (_pack
        # and _finish_built summed it), in the scan's own and every slot's allocator.
        size = INTSET_HEADER + n * max(self._v_intw, 2) if all_int else self._v_lp
        self._v_blob = _wrap_int64(size)
        self._v_mem_blobs = jemalloc_size(self._v_blob, self._q16)
        for s, x in enumerate(self._x):
            self._x_blobs[s] = jemalloc_size(self._v_blob, x.alloc)

    def _skip_string_int(self):
        # Like _skip_string; (length, is it a canonical integer).
        kind, value, n = self._string_header()
        if kind == _INT:
            return n, True
        if kind == _LZF:
            self._skip(value)
        elif n <= SMALL_INT_LEN:
            return n, _is_canonical_int(self._take(n))
        else:
            self._skip(n)
        return n, False

    def _skip_element(self):
        # Like _skip_string_int; (length, its value when it is a canonical integer, else None).
        kind, value, n = self._string_header()
        if kind == _INT:
            return n, value
        if kind == _LZF:
            self._skip(value)
        elif n <= SMALL_INT_LEN:
            text = self._take(n)
            return n, int(text) if _is_canonical_int(text) else None
        else:
            self._skip(n)
        return n, None

    def _read_bytes(self, limit=None):
        # A whole string as bytes (keys, aux fields, names); longer than
        # ``limit`` is refused before it is read (keys: KEY_TEXT_MAX).
        pos = self._pos
        if pos < self._end:
            n = self._buf[pos]
            if n < 0x40 and pos + 1 + n <= self._end:     # short raw string in the window
                self._pos = pos + 1 + n
                return bytes(self._buf[pos + 1:pos + 1 + n])
        kind, value, n = self._string_header()
        if kind == _INT:
            return str(value).encode()
        if limit is not None and n > limit:
            self._fail(f"key of {n} bytes: longer than the 1 GiB rdbscan supports")
        if kind == _LZF:
            return bytes(self._lzf(value, n))
        return self._take(n)

    def _load_blob(self):
        # A whole string (a listpack, ziplist, intset or zipmap) to walk:
        # (data, start, length); raw ones are used in place in the window.
        at = self._base + self._pos
        kind, value, n = self._string_header()
        if kind == _INT:
            self._fail("expected an encoded blob, found an integer", at)
        if kind == _LZF:
            data = self._lzf(value, n)
            self._blob_len = n
            return data, 0, n
        self._need(n)
        start = self._pos
        self._pos = start + n
        self._blob_len = n
        return self._buf, start, n

    def _lzf(self, clen, ulen):
        at = self._base + self._pos
        if _lzf_claim_impossible(clen, ulen):
            self._fail(f"LZF header claims {ulen} bytes from {clen} compressed bytes", at)
        self._need(clen)
        start = self._pos
        try:
            out = lzf_decompress(self._buf, start, start + clen, ulen)
        except _LZFError as e:
            self._fail(str(e), at)
        self._pos = start + clen
        return out

    # ------------------------------------------------------------ header
    def _read_header(self):
        self._need(MAGIC_LEN)
        magic = bytes(self._buf[:MAGIC_LEN])
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
        self._pos = MAGIC_LEN
        self._value_readers = self._readers_for(self.flavor)
        self._opcode_handlers = self._handlers_for(self.flavor)

    def _readers_for(self, flavor):
        # Value type -> reader, for the types this magic and version may hold
        # (_common.value_types: Redis and Valkey give 22 different meanings,
        # only Redis knows 23-33, and 26-33 only in the RDB versions that
        # introduced them).
        readers = {
            TYPE_STRING: self._string, TYPE_LIST: self._list, TYPE_SET: self._set,
            TYPE_ZSET: self._zset, TYPE_ZSET_2: self._zset, TYPE_HASH: self._hash,
            TYPE_MODULE_PRE_GA: self._module_pre_ga, TYPE_MODULE_2: self._module_value,
            TYPE_HASH_ZIPMAP: self._zipmap, TYPE_LIST_ZIPLIST: self._ziplist,
            TYPE_SET_INTSET: self._intset, TYPE_ZSET_ZIPLIST: self._ziplist,
            TYPE_HASH_ZIPLIST: self._ziplist, TYPE_LIST_QUICKLIST: self._quicklist,
            TYPE_STREAM_LISTPACKS: self._stream, TYPE_HASH_LISTPACK: self._listpack,
            TYPE_ZSET_LISTPACK: self._listpack, TYPE_LIST_QUICKLIST_2: self._quicklist,
            TYPE_STREAM_LISTPACKS_2: self._stream, TYPE_SET_LISTPACK: self._listpack,
            TYPE_STREAM_LISTPACKS_3: self._stream,
        }
        if flavor == FLAVOR_VALKEY:
            readers[VALKEY_TYPE_HASH_2] = self._valkey_hash_2
            readers[VALKEY_TYPE_PATH_HASH] = self._path_hash      # RDB 81 on (value_types)
        else:
            readers[TYPE_HASH_METADATA_PRE_GA] = self._hash_metadata
            readers[TYPE_HASH_LISTPACK_EX_PRE_GA] = self._hash_listpack_ex
            readers[TYPE_HASH_METADATA] = self._hash_metadata
            readers[TYPE_HASH_LISTPACK_EX] = self._hash_listpack_ex
            readers[TYPE_STREAM_LISTPACKS_4] = self._stream
            readers[TYPE_STREAM_LISTPACKS_5] = self._stream
            readers[TYPE_ARRAY] = self._array
            readers[TYPE_HASH_TMPL_LP] = self._hash_tmpl_lp
            readers[TYPE_HASH_TMPL_LP_REF] = self._hash_tmpl_lp
            readers[TYPE_HASH_TMPL_ARRAY] = self._hash_tmpl_array
            readers[TYPE_HASH_TMPL_ARRAY_REF] = self._hash_tmpl_array
            readers[TYPE_GCRA] = self._gcra
        allowed = value_types(flavor, self.version)
        return {t: reader for t, reader in readers.items() if allowed[t]}

    def _handlers_for(self, flavor):
        handlers = {
            OP_EXPIRETIME_MS: self._expiretime_ms, OP_EXPIRETIME: self._expiretime,
            OP_IDLE: self._idle_op, OP_FREQ: self._freq_op, OP_SELECTDB: self._select_db,
            OP_RESIZEDB: self._resize_db, OP_AUX: self._aux,
            OP_SLOT_INFO: self._slot_info if flavor == FLAVOR_REDIS else self._foreign_slot_info,
            OP_FUNCTION2: self._function, OP_MODULE_AUX: self._module_aux, OP_EOF: self._eof,
            OP_FUNCTION_PRE_GA: self._function_pre_ga,
        }
        if flavor == FLAVOR_REDIS:
            # 243 and 242 mean other things in Valkey files (SLOT_IMPORT, UPDATE).
            if self.version >= RDB_VERSION_KEY_META:
                handlers[OP_KEY_META] = self._key_meta
            if self.version >= RDB_VERSION_ARRAY:
                handlers[OP_HASH_TEMPLATE] = self._hash_template
        else:
            handlers[OP_SLOT_IMPORT] = self._slot_import
            if self.version >= VALKEY_RDB_VERSION_PATH_HASH:
                handlers[OP_UPDATE] = self._update
        return handlers

    def _clear_pending(self):
        self._expire = self._idle = self._freq = None
        self._meta_bytes = 0
        self._rec_start = -1

    # --------------------------------------------------------- main loop
    def set_sizing(self, tables, big_headers, rounded, quantum16=0, stream_alloc=STREAM_NODES, big_extra=None,
                   vset_table=0, listpacks=False, ziplists=False):
        """Allocation size by element length, for five roles of hashtable elements.

        Same contract as the compiled twin: ``tables`` are five sequences of
        4,096 ints (hash fields, hash values, hash fields with TTL metadata,
        set members, sorted-set members), ``big_headers`` the bytes added to
        longer elements, ``rounded`` whether they are measured in the
        allocator's size classes.  An optional sixth table (2 x
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
        ``vset_table`` (Valkey 9.0+: the hashtable struct's size) adds to the
        sized fields of a hash with more than 127 fields with TTLs its
        volatile set (:func:`rdbscan.model.valkey.vset_bytes`).  Where a
        plain hash would leave the listpack its loader starts are the
        conversion points (:meth:`set_conversions`).  ``listpacks``: size ziplist blobs as the listpacks
        a 7.0+ loader converts them to; ``ziplists``: also work out what
        listpack blobs would be as ziplists (``zl_bytes``).
        """
        x = _sizing(tables, big_headers, rounded, quantum16, stream_alloc, big_extra, vset_table, listpacks)
        self._lut, self._big_hdr, self._big_rounded, self._big_extra = x.lut, x.big, x.rounded, x.extra
        self._pair, self._q16, self._stream_alloc, self._as_lp = x.pair, x.alloc, x.stream, x.as_lp
        self._vset_table = x.vset
        self._want_zl = bool(ziplists)
        self._st_modes = self._stream_modes()

    def set_slots(self, slots):
        """What-if sizing slots: the element and blob sums again under other rules.

        Same contract as the compiled twin: at most 7 tuples of
        ``(tables, big_headers, rounded, quantum16, stream_alloc, big_extra,
        vset_table, listpacks)``, each adding the columns ``mem_elements_N``,
        ``mem_values_N``, ``mem_blobs_N``.
        """
        if len(slots) > MAX_X:
            raise ValueError(f"at most {MAX_X} what-if sizing slots")
        self._x = [_sizing(*slot) for slot in slots]
        self._x_mem = [[0] * ROLES for _ in self._x]
        self._x_blobs = [0] * len(self._x)
        self._st_modes = self._stream_modes()
        self._cols = _Columns(len(self._x), len(self._conv_limits))

    def _stream_modes(self):
        """The stream sizings the scan and its slots need, kept in one pass by
        :meth:`_stream`: ``(counted, alloc, tables, by_time, allocator codes)``
        (tables: Redis 8.4+'s name trees and PEL index)."""
        sizings = [(self._stream_alloc, self._q16)] + [(x.stream, x.alloc) for x in self._x]
        codes = tuple(sorted({a for mode, a in sizings if mode != STREAM_NODES}))
        return (any(mode == STREAM_NODES for mode, _ in sizings), bool(codes),
                any(mode not in (STREAM_NODES, STREAM_TREES) for mode, _ in sizings),
                any(mode == STREAM_ALLOC_PEL_TIME for mode, _ in sizings), codes)

    def set_conversions(self, limits):
        """Value limits (at most 8) whose conversion points each key records.

        Same contract as the compiled twin: a column ``conv_at_N`` per limit,
        the index of the first hash pair with a field or value longer than
        it (for sets: of the first non-integer member), -1 when none.
        """
        if len(limits) > 8:
            raise ValueError("at most 8 conversion limits")
        self._conv_limits = [int(v) for v in limits]
        self._cols = _Columns(len(self._x), len(self._conv_limits))

    def _sized(self, n, role):
        # What one hashtable/skiplist element's own allocation costs.
        last = self._last_field
        if self._pair is not None and role == 1 and last < 2 * PAIR_FIELDS:
            self._v_mem[1] += self._pair[last * 129 + min(n, PAIR_FIELDS)]
        if n < SIZING_LUT:
            self._v_mem[role] += self._lut[role][n]
        else:
            # C parity: an int64 sum (a corrupt LZF length can wrap it negative).
            size = _wrap_int64(n + self._big_hdr[role] + (4 if n >= 65536 else 0))
            size = jemalloc_size(size, self._q16) if self._big_rounded[role] else size
            self._v_mem[role] += size + self._big_extra[role]
        for x, mem in zip(self._x, self._x_mem):
            if x.pair is not None and role == 1 and last < 2 * PAIR_FIELDS:
                mem[1] += x.pair[last * 129 + min(n, PAIR_FIELDS)]
            if n < SIZING_LUT:
                mem[role] += x.lut[role][n]
            else:
                size = _wrap_int64(n + x.big[role] + (4 if n >= 65536 else 0))
                mem[role] += (jemalloc_size(size, x.alloc) if x.rounded[role] else size) + x.extra[role]
        if role != 1:
            # The pair table's row for the value that follows: the field's
            # length, in the second half for a field with TTL metadata; none
            # past PAIR_FIELDS.
            self._last_field = n + (PAIR_FIELDS if role == 2 else 0) if n < PAIR_FIELDS else 2 * PAIR_FIELDS

    def _built(self, n, ival, role):
        # A hashtable element as _sized, plus what it would take in the
        # listpack, ziplist or intset the loader may build instead (_pack).
        self._sized(n, role)
        self._pack(n, ival)

    def _pack(self, n, ival):
        # What an n-byte element (ival: its integer value when it is a
        # canonical integer, else None) takes in a listpack, ziplist or intset.
        if ival is not None:
            self._v_lp += _lp_int_entry(ival)
            self._v_lp70 += _lp_int_entry(ival)
            self._zl_add(_zl_int_body(ival))
            if self._v_intw >= 0 and _intset_width(ival) > self._v_intw:
                self._v_intw = _intset_width(ival)
        else:
            self._v_lp += _lp_str_entry(n)
            self._v_lp70 += _lp_str_entry(n)
            self._zl_add(_zl_str_body(n))
            self._v_intw = -1

    def _zl_add(self, body):
        # One more ziplist entry: its prevlen field holds the previous entry's size.
        entry = body + (1 if self._zl_prev < 254 else 5)
        self._zl_prev = entry
        self._v_zl += entry

    def _zscore(self, d, exact):
        # A sorted-set score as the loader would store it in a listpack (7.2+
        # and 7.0 text) or a ziplist (before 7.0: d2string, then the ziplist
        # tries the text as an integer).  exact: work out 7.2's shortest text.
        ll = _double_to_ll(d)
        if ll is not None:
            self._v_lp += _lp_int_entry(ll)
            self._v_lp70 += _lp_int_entry(ll)
            if d == 0 and str(d).startswith("-"):
                self._zl_add(_zl_str_body(2))           # "-0"
                return
            if -4503599627370495.0 < d < 4503599627370496.0:
                self._zl_add(_zl_int_body(ll))
                return
        elif d != d or d - d != d - d:                  # inf (nan cannot be a score)
            ns = 3 if d > 0 else 4
            self._v_lp += _lp_str_entry(ns)
            self._v_lp70 += _lp_str_entry(ns)
            self._zl_add(_zl_str_body(ns))
            return
        if not exact:
            # a zset this big converts only under limits far beyond the
            # defaults: its fractional scores' text is estimated
            if ll is None:
                self._v_lp += _lp_str_entry(SCORE_TEXT_GUESS)
                self._v_lp70 += _lp_str_entry(SCORE_TEXT_GUESS)
            self._zl_add(_zl_str_body(SCORE_TEXT_GUESS))
            return
        text = ("%.17g" % d).encode()
        if _is_canonical_int(text):
            self._zl_add(_zl_int_body(int(text)))
        else:
            self._zl_add(_zl_str_body(len(text)))
        if ll is not None:
            return
        ns = _shortest_text_len(d)
        self._v_lp += _lp_str_entry(ns)
        self._v_lp70 += _lp_str_entry(len(text))

    def _finish_built(self):
        # The elements were streamed: the listpack / ziplist the loader would
        # build of them has a header and an end byte.
        self._v_lp += LISTPACK_HEADER + 1
        self._v_lp70 += LISTPACK_HEADER + 1
        self._v_zl += ZIPLIST_HEADER + 1

    def _blob_mem(self, raw, lp):
        # A blob the loader keeps: its allocation in every slot (a ziplist
        # becomes a listpack of lp bytes in slots of 7.0 and later).
        self._v_mem_blobs += jemalloc_size(lp if self._as_lp else raw, self._q16)
        for s, x in enumerate(self._x):
            self._x_blobs[s] += jemalloc_size(lp if x.as_lp else raw, x.alloc)

    def preamble(self):
        """Read the file-level records that precede the keys (AUX, module aux, functions).

        Stops before the first database selector or key, so that the caller
        can look at ``meta`` (the writing server) before keys are read.
        """
        while not self.done:
            self._need(1)
            if self._buf[self._pos] not in (OP_AUX, OP_MODULE_AUX, OP_FUNCTION2, OP_FUNCTION_PRE_GA):
                return
            self._step()

    def next_batch(self):
        """Scan until ``batch_size`` rows are gathered or the stream ends.

        Returns ``(rows, columns)`` with raw little-endian buffers, or None
        when nothing is left.  Raises RDBFormatError on malformed input; the
        rows completed before the fault stay available through :meth:`flush`.
        """
        step = self._step
        stop_at = self._stop_at
        while self._rows < self._batch_limit and not self.done and self._base + self._pos < stop_at:
            step()
        if self._rows == 0:
            return None
        return self.flush()

    def _step(self):
        at = self._base + self._pos
        op = self._u8()
        reader = self._value_readers.get(op)
        if reader is not None:
            self._key_value(at, op, reader)
            return
        handler = self._opcode_handlers.get(op)
        if handler is None:
            self._unknown(op, at)
        handler(at)

    def _unknown(self, op, at):
        self._fail(unknown_message(op, self.flavor, self.version), at)

    def _start(self, at):
        # A record starts at its first expiry/LRU/LFU opcode, else at its type byte.
        if self._rec_start < 0:
            self._rec_start = at

    # --------------------------------------------------------- opcodes
    def _expiretime_ms(self, at):
        self._start(at)
        self._expire = self._fixed(8)

    def _expiretime(self, at):
        self._start(at)
        self._expire = self._fixed(4) * 1000

    def _idle_op(self, at):
        self._start(at)
        self._idle = self._read_plain_len()

    def _freq_op(self, at):
        self._start(at)
        self._freq = self._u8()

    def _key_meta(self, at):
        # Redis 8.6 KEY_META: module metadata classes attached to the next
        # key, each a 4-byte class spec and module-style typed fields up to
        # their EOF (keymeta.c rdbLoadKeyMetadata).  DUMP carries them with
        # the value, so their bytes count into the key's serialized_bytes.
        self._start(at)
        n = self._read_plain_len()
        if n > KEY_META_MAX_CLASSES:
            self._fail(f"key metadata with {n} classes (at most {KEY_META_MAX_CLASSES})", at)
        classes = self.meta.setdefault("key_meta", {})
        for _ in range(n):
            spec = _U32_LE.unpack(self._take(KEY_META_SPEC_BYTES))[0]
            self._module_ops()
            name = key_meta_class_name(spec)
            classes[name] = classes.get(name, 0) + 1
        self._meta_bytes += self._base + self._pos - at

    def _hash_template(self, at):
        # Redis 8.10 HASH_TEMPLATE: a template id and its field names, which
        # later template hashes (types 30, 32) refer to by id.
        tid = self._read_u64_len()
        n = self._count()
        if n == 0:
            self._fail(f"hash template {tid} has zero fields", at)
        longest = total = 0
        for _ in range(n):
            size = self._skip_string()
            longest = max(longest, size)
            total += size
        if tid > TEMPLATE_ID_MAX:
            self._fail(f"hash template id {tid} is out of range (at most {TEMPLATE_ID_MAX})", at)
        if tid in self._templates:
            self._fail(f"hash template {tid} is defined twice", at)
        self._templates[tid] = (n, longest, total)
        self._new_templates.append((tid, n, longest, total))
        self.meta["hash_templates"] = self.meta.get("hash_templates", 0) + 1

    def _template(self, tid, at):
        # The (fields, longest, bytes) of a template a key refers to.
        found = self._templates.get(tid)
        if found is None:
            self._fail(f"hash template {tid} is not defined (no HASH_TEMPLATE record before this key)", at)
        return found

    def _select_db(self, at):
        db = self._read_plain_len()
        if db > MAX_DB:
            self._fail(f"database number {db} is out of range", at)
        if not self._db_known:
            counts = self._db_counts.get(0, (0, 0))
            self._unknown_db = (self._flushed + self._rows, counts[0], counts[1])
            self._db_known = True
        self._db = db

    def _resize_db(self, at):
        keys = self._read_plain_len()
        expires = self._read_plain_len()
        self.meta["resizedb"][self._db if self._db_known else None] = {"keys": keys, "expires": expires}

    def _aux(self, at):
        key = self._read_bytes()
        value = self._read_bytes()
        record_aux(self.meta, key, value)
        if key == b"ctime" and self.flavor == FLAVOR_VALKEY:
            self._expired_before = snapshot_ms(self.meta["aux"]["ctime"])

    def _slot_info(self, at):
        slot = self._read_plain_len()
        size = self._read_plain_len()
        expires = self._read_plain_len()
        self.meta["slot_info"].append([slot, size, expires])

    def _foreign_slot_info(self, at):
        # Valkey 9 reserves 244 for slot info from foreign RDBs and ignores it.
        self._read_plain_len()
        self._read_plain_len()
        self._read_plain_len()

    def _slot_import(self, at):
        # Valkey 9 SLOT_IMPORT: a slot migration under way (job name, slot ranges).
        job = self._read_bytes()
        ranges = [[self._read_plain_len(), self._read_plain_len()] for _ in range(self._count())]
        self.meta.setdefault("slot_imports", []).append(
            {"job": job.decode("utf-8", "backslashreplace"), "ranges": ranges})

    def _update(self, at):
        # Valkey 9.2 UPDATE: a replication command (RESP multi-bulk) inlined by a
        # forkless save; the loader replays it, a scan can only skip it.
        argc = self._resp_number(b"*", at)
        for _ in range(argc):
            self._skip(self._resp_number(b"$", at) + 2)
        self.meta["update_commands"] = self.meta.get("update_commands", 0) + 1

    def _resp_number(self, marker, at):
        # "<marker><digits>\r\n" of a RESP header, at most RESP_DIGITS_MAX digits.
        digits = bytearray()
        if self._u8() != marker[0]:
            self._fail(f"UPDATE opcode: expected a RESP '{marker.decode()}' header", at)
        while True:
            c = self._u8()
            if c == 13:
                break
            if not 48 <= c <= 57 or len(digits) >= RESP_DIGITS_MAX:
                self._fail("UPDATE opcode: malformed RESP length", at)
            digits.append(c)
        if not digits or self._u8() != 10:
            self._fail("UPDATE opcode: malformed RESP length", at)
        return int(digits)

    def _function(self, at):
        code = self._read_bytes()
        self.meta["functions"].append(code.decode("utf-8", "backslashreplace"))

    def _function_pre_ga(self, at):
        # Redis 7.0 RC1/RC2: name, engine, optional description, code.
        name = self._read_bytes()
        engine = self._read_bytes()
        if self._read_plain_len():
            self._read_bytes()                         # description
        code = self._read_bytes()
        self.meta["functions"].append(pre_ga_library(name, engine, code))

    def _eof(self, at):
        if self._verify:
            # The checksum covers everything up to and including the EOF byte.
            self._crc = _crc64_update(self._crc, self._buf, self._crc_pos, self._pos)
            self._crc_pos = self._pos
        if self.version >= RDB_VERSION_CRC:
            stored = self._unpack(_U64_LE)
            self._crc_pos = self._pos
            if self._resumed:
                self.meta["crc_stored"] = stored       # judged by the caller, over the whole dump
            elif stored == 0:
                self.meta["crc"] = "absent"
            elif not self._verify:
                self.meta["crc"] = "not verified"
            elif stored == self._crc:
                self.meta["crc"] = "ok"
            else:
                self.meta["crc"] = "mismatch"
                raise RDBChecksumError(
                    f"CRC64 mismatch: the dump says {stored:016x}, its contents give {self._crc:016x}",
                    self._base + self._pos - 8)
        elif not self._resumed:
            self.meta["crc"] = "none before RDB 5"
        self.meta["eof_offset"] = at
        self.done = True

    def trailing(self):
        """Bytes after the EOF record that are already in the window."""
        return bytes(self._buf[self._pos:self._end])

    def _module_aux(self, at):
        module_id = self._read_u64_len()
        when_op = self._read_plain_len()
        when = self._read_plain_len()
        start = self._base + self._pos
        if when_op != MODULE_OP_UINT:
            self._fail(f"module aux data: expected the 'when' opcode {MODULE_OP_UINT}, "
                       f"found {when_op}", at)
        self._module_ops()
        self.meta["module_aux"].append({
            "module": module_type_name(module_id), "encver": module_encver(module_id),
            "when": when, "bytes": self._base + self._pos - start})

    def _module_ops(self):
        # Module values describe themselves: typed fields until EOF (module.c).
        while True:
            at = self._base + self._pos
            op = self._read_plain_len()
            if op == MODULE_OP_EOF:
                return
            if op == MODULE_OP_SINT or op == MODULE_OP_UINT:
                self._read_u64_len()
            elif op == MODULE_OP_FLOAT:
                self._advance(4)
            elif op == MODULE_OP_DOUBLE:
                self._advance(8)
            elif op == MODULE_OP_STRING:
                self._skip_string()
            else:
                self._fail(f"unknown module value opcode {op}", at)

    # ------------------------------------------------------- key/value
    def _key_value(self, at, rdb_type, reader):
        self._start(at)
        key = self._read_bytes(KEY_TEXT_MAX)
        self._key = key
        value_start = self._base + self._pos - 1
        self._v_len_valid = 1
        self._v_max = self._v_elem = self._v_blob = self._v_nodes = self._v_flags = 0
        self._v_stream = self._v_hfe = self._v_expired = None
        self._v_mem = [0] * ROLES
        self._v_mem_blobs = 0
        self._v_lp = self._v_lp70 = self._v_zl = self._v_intw = self._zl_prev = 0
        self._v_conv = [-1] * len(self._conv_limits)
        self._v_runmax = -1
        if self._x:
            self._x_mem = [[0] * ROLES for _ in self._x]
            self._x_blobs = [0] * len(self._x)
        reader(rdb_type)
        # Only now is the row complete: commit it.
        self._commit(key, rdb_type, self._base + self._pos - value_start + self._meta_bytes)

    def _commit(self, key, rdb_type, serialized):
        cols = self._cols
        raw = not key.isascii() and not _is_utf8(key)
        text = key
        if raw:
            text = escape_key(key).encode("utf-8")
            if len(text) > KEY_TEXT_MAX:
                self._fail(f"key of {len(text)} bytes as text: longer than the 1 GiB rdbscan supports")
        db = self._db & MAX_DB                         # C parity: a uint16 cast
        cols.key_data += text
        cols.key_offsets.append(len(cols.key_data))
        cols.raw_valid.append(raw)
        cols.raw_offsets.append(cols.raw_offsets[-1] + (len(key) if raw else 0))
        if raw:
            cols.raw_keys.append(key)
        cols.slot.append(_key_slot(key))
        cols.db.append(db)
        cols.kind.append(self._v_kind)
        cols.rdb_type.append(rdb_type)
        cols.length.append(self._v_len)
        cols.length_valid.append(self._v_len_valid)
        cols.max.append(self._v_max)
        cols.serialized.append(serialized)
        cols.offset.append(self._rec_start)
        expire, idle, freq = self._expire, self._idle, self._freq
        cols.expire.append(0 if expire is None else expire)
        cols.expire_valid.append(expire is not None)
        cols.idle.append(0 if idle is None else idle)
        cols.idle_valid.append(idle is not None)
        cols.freq.append(0 if freq is None else freq)
        cols.freq_valid.append(freq is not None)
        stream = self._v_stream
        groups, consumers, pending = (0, 0, 0) if stream is None else stream
        cols.stream_valid.append(stream is not None)
        cols.groups.append(groups)
        cols.consumers.append(consumers)
        cols.pending.append(pending)
        hfe = self._v_hfe
        cols.hfe_valid.append(hfe is not None)
        cols.hfe.append(0 if hfe is None else hfe)
        expired = self._v_expired
        cols.expired_valid.append(expired is not None)
        cols.expired.append(0 if expired is None else expired[0])
        cols.expired_bytes.append(0 if expired is None else _wrap_int64(expired[1]))
        cols.flags.append(self._v_flags)
        cols.nodes.append(self._v_nodes)
        cols.blob.append(_wrap_int64(self._v_blob))
        cols.elem.append(_wrap_int64(self._v_elem))
        mem = self._v_mem
        cols.mem_elements.append(_wrap_int64(mem[0] + mem[2] + mem[3] + mem[4]))
        cols.mem_values.append(_wrap_int64(mem[1]))
        cols.mem_blobs.append(_wrap_int64(self._v_mem_blobs))
        cols.lp.append(_wrap_int64(self._v_lp))
        cols.lp70.append(_wrap_int64(self._v_lp70))
        cols.zl.append(_wrap_int64(self._v_zl))
        cols.intset.append(_wrap_int64(INTSET_HEADER + self._v_len * self._v_intw)
                           if self._v_kind == KIND_SET and self._v_intw > 0 else 0)
        for conv, at in zip(cols.conv, self._v_conv):
            conv.append(at)
        for (elements, values, blobs), m, b in zip(cols.slots, self._x_mem, self._x_blobs):
            elements.append(_wrap_int64(m[0] + m[2] + m[3] + m[4]))
            values.append(_wrap_int64(m[1]))
            blobs.append(_wrap_int64(b))
        self._rows += 1
        if len(cols.key_data) >= KEY_TEXT_MAX:
            self._batch_limit = self._rows         # a batch's keys stay within int32 offsets
        counts = self._db_counts.get(db)
        if counts is None:
            counts = self._db_counts[db] = [0, 0]
        counts[0] += 1
        counts[1] += expire is not None
        self._key = None
        self._clear_pending()

    def _absorb(self, longest, total, blob_len):
        # Fold a walked blob into the value's facts (with what the walk found
        # it would be as a listpack / ziplist).
        if longest > self._v_max:
            self._v_max = longest
        self._v_elem += total
        self._v_blob += blob_len
        self._v_lp += self._w_lp
        self._v_lp70 += self._w_lp
        self._v_zl += self._w_zl
        self._blob_mem(blob_len, self._w_lp)

    # ----------------------------------------------------------- values
    def _skip_value_string(self):
        # Like _skip_string_int, for a string value: (length, format code
        # sniffed from its first bytes; an LZF one from its first literal run).
        kind, value, n = self._string_header()
        if kind == _INT:
            return n, FORMAT_INT
        if kind == _LZF:
            self._need(min(value, SNIFF_BYTES + 1))
            ctrl = self._buf[self._pos] if value else 0xFF
            if ctrl < 32:
                k = min(ctrl + 1, SNIFF_BYTES, value - 1)
                fmt = sniff_format(bytes(self._buf[self._pos + 1:self._pos + 1 + k]))
            else:
                fmt = FORMAT_BINARY
            self._skip(value)
            return n, fmt
        k = min(n, SNIFF_BYTES)
        self._need(k)
        fmt = sniff_format(bytes(self._buf[self._pos:self._pos + k]))
        if n <= SMALL_INT_LEN:
            if _is_canonical_int(self._take(n)):
                fmt = FORMAT_INT
        else:
            self._skip(n)
        return n, fmt

    def _string(self, t):
        n, fmt = self._skip_value_string()
        self._v_kind = KIND_STRING
        self._v_len = self._v_max = self._v_elem = n
        if fmt == FORMAT_INT:
            self._v_flags |= FLAG_INTEGER
        self._v_flags |= fmt << FORMAT_SHIFT

    def _list(self, t):
        n = self._count()
        skip = self._skip_element
        longest = total = 0
        for _ in range(n):
            size, ival = skip()
            if size > longest:
                longest = size
            total += size
            self._pack(size, ival)
        self._finish_built()
        self._v_kind = KIND_LIST
        self._v_len, self._v_max, self._v_elem = n, longest, total
        self._packed(n, False)

    def _set(self, t):
        n = self._count()
        longest = total = 0
        all_int = True
        for i in range(n):
            size, ival = self._skip_element()
            if size > longest:
                longest = size
            total += size
            if all_int and ival is None:
                self._v_conv = [i] * len(self._conv_limits)
            all_int = all_int and ival is not None
            self._built(size, ival, ROLE_SET)
        self._finish_built()
        self._v_kind = KIND_SET
        self._v_len, self._v_max, self._v_elem = n, longest, total
        if all_int:
            self._v_flags |= FLAG_INTEGER
        self._packed(n, all_int)

    def _zset(self, t):
        n = self._count()
        longest = total = 0
        exact = n <= SCORE_EXACT_MAX
        for _ in range(n):
            size, ival = self._skip_element()
            if size > longest:
                longest = size
            total += size
            self._built(size, ival, ROLE_ZSET)
            if t == TYPE_ZSET_2:
                self._zscore(_F64_LE.unpack(self._take(8))[0], exact)   # binary double score
            else:
                m = self._u8()                         # text score, or NaN/inf marker
                if m < ZSET_SCORE_NAN:
                    # Taken as written (RDB 1-7): an integer text or a string.
                    text = self._take(m)
                    self._v_lp += _lp_int_entry(int(text)) if _is_canonical_int(text) else _lp_str_entry(m)
                    self._v_lp70 = self._v_lp
                    self._zl_add(_zl_int_body(int(text)) if _is_canonical_int(text) else _zl_str_body(m))
                else:
                    self._zscore(float("inf") if m == ZSET_SCORE_NAN + 1 else float("-inf"), exact)
        self._finish_built()
        self._v_kind = KIND_ZSET
        self._v_len, self._v_max, self._v_elem = n, longest, total

    def _hash(self, t):
        n = self._count()
        skip = self._skip_element
        longest = total = 0
        conv, limits = self._v_conv, self._conv_limits
        runmax = -1
        for i in range(n):
            field, fval = skip()
            value, vval = skip()
            total += field + value
            self._built(field, fval, 0)
            self._built(value, vval, 1)
            m = max(field, value)
            if m > longest:
                longest = m
            if m > runmax:
                runmax = m
                for j, limit in enumerate(limits):
                    if conv[j] < 0 and m > limit:
                        conv[j] = i
        self._finish_built()
        self._v_kind = KIND_HASH
        self._v_len, self._v_max, self._v_elem = n, longest, total
        self._packed(n, False)

    def _valkey_hash_2(self, t):
        # Valkey 9 reuses 22 for [field][value][absolute ms or -1] triples.  The
        # loader drops the fields whose time passed before the snapshot's:
        # they are counted apart, with what their entries held.
        n = self._count()
        skip = self._skip_element
        longest = total = with_ttl = expired = expired_bytes = 0
        keep = self._vset_table or any(x.vset for x in self._x)
        volatile = [] if keep else None
        for _ in range(n):
            packed = (self._v_lp, self._v_lp70, self._v_zl, self._zl_prev, self._v_intw)
            field, fval = skip()
            self._pack(field, fval)
            value, vval = skip()
            self._pack(value, vval)
            expiry = self._fixed(8)
            if expiry != -1 and expiry < self._expired_before:
                self._v_lp, self._v_lp70, self._v_zl, self._zl_prev, self._v_intw = packed
                expired += 1
                expired_bytes += self._entry_cost(field, value)
                continue
            longest = max(longest, field, value)
            total += field + value
            if expiry != -1:
                with_ttl += 1
                self._sized(field, 2)
                if volatile is not None:
                    volatile.append(expiry)
            else:
                self._sized(field, 0)
            self._sized(value, 1)
        if with_ttl > VSET_VECTOR_MAX and volatile is not None:
            # Past one vector the volatile set depends on the expiries themselves.
            if self._vset_table:
                self._v_mem[2] = _wrap_int64(self._v_mem[2] + vset_bytes(volatile, self._q16, self._vset_table))
            for x, mem in zip(self._x, self._x_mem):
                if x.vset:
                    mem[2] = _wrap_int64(mem[2] + vset_bytes(volatile, x.alloc, x.vset))
        self._finish_built()
        self._set_hash_with_ttls(n - expired, longest, total, with_ttl)
        self._v_expired = (expired, expired_bytes)
        self._packed(n - expired, False)

    def _entry_cost(self, field, value):
        # What an expired field's entry held on the server that wrote the
        # dump (sized as a field with a TTL and its value in the scan's own
        # sizing, then taken back).
        mem, last, slots = list(self._v_mem), self._last_field, self._x
        self._x = []
        self._sized(field, 2)
        self._sized(value, 1)
        cost = _wrap_int64(self._v_mem[2] + self._v_mem[1] - mem[2] - mem[1])
        self._v_mem, self._last_field, self._x = mem, last, slots
        return cost

    def _path_hash(self, t):
        # Valkey 9.2 path hash: [paths], then per path [path][fields] and its
        # field/value pairs (rdb.c as of RDB 81; no real dump has checked it).
        paths = self._count()
        skip = self._skip_string
        longest = total = 0
        for _ in range(paths):
            size = skip()
            longest = max(longest, size)
            total += size
            at = self._base + self._pos
            fields = self._count()
            if fields == 0:
                self._fail("path hash: a path with no fields (the loader rejects it)", at)
            for _ in range(fields):
                field = skip()
                value = skip()
                longest = max(longest, field, value)
                total += field + value
        self._v_kind = KIND_PATH_HASH
        self._v_len, self._v_max, self._v_elem = paths, longest, total

    def _hash_metadata(self, t):
        # Both Redis hash-with-field-TTL layouts: [ttl][field][value]...
        if t == TYPE_HASH_METADATA:
            self._advance(8)        # minimum field expiry, relative base of the TTLs
        n = self._count()
        skip = self._skip_element
        longest = total = with_ttl = 0
        for _ in range(n):
            role = 0
            if self._read_plain_len() != 0:
                with_ttl += 1
                role = 2
            field, fval = skip()
            value, vval = skip()
            longest = max(longest, field, value)
            total += field + value
            self._built(field, fval, role)
            self._built(value, vval, 1)
            # listpackEx keeps a TTL entry per field: 0, or a millisecond time
            self._v_lp += 10 if role == 2 else 2
            self._v_lp70 += 10 if role == 2 else 2
        self._finish_built()
        self._set_hash_with_ttls(n, longest, total, with_ttl)

    def _set_hash_with_ttls(self, n, longest, total, with_ttl):
        self._v_kind = KIND_HASH
        self._v_len, self._v_max, self._v_elem = n, longest, total
        self._v_hfe = with_ttl
        self._v_flags |= FLAG_HFE

    def _quicklist(self, t):
        nodes = self._count()
        length = 0
        for _ in range(nodes):
            container = QUICKLIST_NODE_PACKED
            if t == TYPE_LIST_QUICKLIST_2:
                container = self._read_plain_len()
                if container != QUICKLIST_NODE_PACKED and container != QUICKLIST_NODE_PLAIN:
                    self._fail(f"quicklist node container {container} is neither plain (1) "
                               "nor packed (2)")
            if container == QUICKLIST_NODE_PLAIN:
                # A plain node holds one big element as a string.
                n = self._skip_string()
                length += 1
                self._w_lp = self._w_zl = n
                self._absorb(n, n, n)
                self._v_flags |= FLAG_PLAIN_NODE
                continue
            data, start, size = self._load_blob()
            if t == TYPE_LIST_QUICKLIST:
                count, longest, total = self._walk_ziplist(data, start, size, 1, 1)
            else:
                count, longest, total, _, _ = self._walk_listpack(data, start, size, 1, 1, -1)
            self._absorb(longest, total, size)
            length += count
        self._v_kind = KIND_LIST
        self._v_len = length
        self._v_nodes = nodes

    def _ziplist(self, t):
        data, start, size = self._load_blob()
        if t == TYPE_LIST_ZIPLIST:
            self._v_kind = KIND_LIST
            count, longest, total = self._walk_ziplist(data, start, size, 1, 1)
            self._v_len = count
        elif t == TYPE_ZSET_ZIPLIST:
            self._v_kind = KIND_ZSET
            count, longest, total = self._walk_ziplist(data, start, size, 2, 1, role=ROLE_ZSET)
            self._v_len = count // 2
        else:
            self._v_kind = KIND_HASH
            count, longest, total = self._walk_ziplist(data, start, size, 2, 3, role=0)
            self._v_len = count // 2
        self._absorb(longest, total, size)

    def _listpack(self, t):
        data, start, size = self._load_blob()
        if t == TYPE_SET_LISTPACK:
            self._v_kind = KIND_SET
            count, longest, total, _, all_int = self._walk_listpack(data, start, size, 1, 1, -1, ROLE_SET)
            self._v_len = count
            self._v_intw = self._w_intw
            if all_int:
                self._v_flags |= FLAG_INTEGER
        elif t == TYPE_ZSET_LISTPACK:
            self._v_kind = KIND_ZSET
            count, longest, total, _, _ = self._walk_listpack(data, start, size, 2, 1, -1, ROLE_ZSET)
            self._v_len = count // 2
        else:
            self._v_kind = KIND_HASH
            count, longest, total, _, _ = self._walk_listpack(data, start, size, 2, 3, -1, 0)
            self._v_len = count // 2
        self._absorb(longest, total, size)

    def _hash_listpack_ex(self, t):
        # [field, value, ttl] triples in one listpack; a ttl of 0 means none.
        if t == TYPE_HASH_LISTPACK_EX:
            self._advance(8)        # minimum field expiry
        data, start, size = self._load_blob()
        count, longest, total, with_ttl, _ = self._walk_listpack(data, start, size, 3, 3, 2, 0)
        self._v_kind = KIND_HASH
        self._v_len = count // 3
        self._v_hfe = with_ttl
        self._v_flags |= FLAG_HFE
        self._absorb(longest, total, size)

    def _intset(self, t):
        data, start, size = self._load_blob()
        count, longest, total = self._walk_intset(data, start, size)
        self._v_intw = self._w_intw
        self._v_kind = KIND_SET
        self._v_len = count
        self._v_flags |= FLAG_INTEGER
        self._absorb(longest, total, size)

    def _zipmap(self, t):
        data, start, size = self._load_blob()
        count, longest, total = self._walk_zipmap(data, start, size)
        self._v_kind = KIND_HASH
        self._v_len = count // 2
        self._absorb(longest, total, size)

    def _module_pre_ga(self, t):
        self._fail("module value in the Redis 4.0 release-candidate format (type 6) cannot be "
                   "skipped without its module")

    def _module_value(self, t):
        name = module_type_name(self._read_u64_len())
        code = self._module_codes.get(name)
        if code is None:
            code = KIND_MODULE_BASE + len(self.module_names)
            if code > MAX_KIND:
                self._fail(f"more than {MAX_KIND - KIND_MODULE_BASE + 1} module types in one dump")
            self.module_names.append(name)
            self._module_codes[name] = code
        self._v_kind = code
        self._module_ops()
        self._v_len = 0
        self._v_len_valid = 0

    def _stream(self, t):
        # For streams the sized sums carry what MEMORY USAGE needs of the
        # radix trees.  Counting mode (up to Redis 8.2, STREAM_NODES): their
        # nodes (main tree and every PEL) and the bytes of consumer names.
        # Allocation mode (Redis 8.4+, STREAM_ALLOC): the bytes every tree
        # allocates (main, groups, each PEL and consumer table, each
        # consumer PEL, the PEL-ID index), and the allocations of consumer
        # names and IDMP producers and entries; Redis 8.4
        # (STREAM_ALLOC_PEL_TIME) also keeps each group's PEL by delivery
        # time.  Valkey 8.1+ (STREAM_TREES): the bytes of the main tree, each
        # PEL and each consumer PEL, and the bytes of consumer names.
        # What-if slots may want another mode or allocator than the scan's
        # own: every sum any of them needs is kept in this one pass, then
        # each takes its own (pick).
        counted, alloc, tables, by_time, codes = self._st_modes
        nodes_sum = [0, 0]                             # counting mode: tree nodes, name bytes
        trees = dict.fromkeys(codes, 0)                # allocation modes, per allocator: own trees,
        tables_sum = dict.fromkeys(codes, 0)           # 8.4+'s name trees and PEL index,
        names_sum = dict.fromkeys(codes, 0)            # consumer names,
        idmp_sum = dict.fromkeys(codes, 0)             # IDMP producers and entries,
        time_trees = dict.fromkeys(codes, 0)           # and 8.4's per-group PEL-by-time trees

        def sized(tree, into):
            for code in codes:
                into[code] += tree.bytes(code)

        def new_trees():
            return RaxCounter() if counted else None, RaxSizer(codes=codes) if alloc else None

        def add(pair, key):
            for tree in pair:
                if tree is not None:
                    tree.add(key)

        ids = new_trees()
        nodes = self._count()
        for _ in range(nodes):
            data, start, _ = self._load_blob()         # master ID of the node
            if self._blob_len != STREAM_ID_BYTES:
                self._fail(f"stream node key must be {STREAM_ID_BYTES} bytes, "
                           f"found {self._blob_len}")
            add(ids, bytes(data[start:start + STREAM_ID_BYTES]))
            data, start, size = self._load_blob()
            _, longest, total, _, _ = self._walk_listpack(data, start, size, 1, 1, -1)
            self._absorb(longest, total, size)
        if counted:
            nodes_sum[0] = ids[0].nodes
        if alloc:
            sized(ids[1], trees)
        length = self._read_plain_len()
        number = self._read_u64_len
        number(); number()                             # last ID
        if t >= TYPE_STREAM_LISTPACKS_2:
            number(); number()                         # first ID
            number(); number()                         # max deleted ID
            number()                                   # entries added
        groups = self._count()
        consumers = pending = 0
        names = RaxSizer(codes=codes) if tables else None  # the groups table
        all_pel, pel_groups, pel_bytes = [], 0, {}         # the PEL-ID index (8.6 cgroups_ref)
        for _ in range(groups):
            if tables:
                names.add(self._read_bytes())          # group name
            else:
                self._skip_string()
            number(); number()                         # last delivered ID
            if t >= TYPE_STREAM_LISTPACKS_2:
                number()                               # entries read
            pel = self._count()
            pending += pel
            ids = new_trees()
            times = []
            for _ in range(pel):
                self._need(STREAM_ID_BYTES + 8)
                nack = self._take(STREAM_ID_BYTES)     # ID
                add(ids, nack)
                if tables:
                    all_pel.append(nack)
                if by_time:                            # delivery time, big-endian, then the ID
                    times.append(bytes(reversed(self._buf[self._pos:self._pos + 8])) + nack)
                self._advance(8)                       # delivery time
                number()                               # delivery count
            if counted:
                nodes_sum[0] += ids[0].nodes
            if alloc:
                sized(ids[1], trees)
                if pel and tables:
                    pel_groups += 1
                    pel_bytes = {code: ids[1].bytes(code) for code in codes}
            if by_time:
                # Redis 8.4 pel_by_time: the same entries keyed by delivery
                # time, no values; built in time order.
                tree = RaxSizer(null_values=True, codes=codes)
                for key in sorted(times):
                    tree.add(key)
                sized(tree, time_trees)
            n = self._count()
            consumers += n
            table = RaxSizer(codes=codes) if tables else None  # the group's consumers
            for _ in range(n):
                if tables:
                    name = self._read_bytes()          # consumer name
                    table.add(name)
                    size = len(name)
                    for code in codes:
                        names_sum[code] += sds_alloc_size(size, code)
                else:
                    size = self._skip_string()
                nodes_sum[1] += size
                self._advance(8)                       # seen time
                if t >= TYPE_STREAM_LISTPACKS_3:
                    self._advance(8)                   # active time
                ids = new_trees()
                for _ in range(self._count()):
                    add(ids, self._take(STREAM_ID_BYTES))   # consumer PEL IDs
                if counted:
                    nodes_sum[0] += ids[0].nodes
                if alloc:
                    sized(ids[1], trees)
            if tables:
                sized(table, tables_sum)
            if t >= TYPE_STREAM_LISTPACKS_5:
                # The group's NACK zone (8.8 XNACK): IDs of PEL entries no
                # consumer owns.  They are in the group PEL above already.
                self._skip(self._count() * STREAM_ID_BYTES)
        if tables and groups:
            sized(names, tables_sum)
        if tables and pel_groups:
            # The index of PEL IDs across groups: one group's PEL tree again,
            # or the tree of their union.
            if pel_groups > 1:
                union = RaxSizer(codes=codes)
                for nack in sorted(set(all_pel)):
                    union.add(nack)
                pel_bytes = {code: union.bytes(code) for code in codes}
            for code in codes:
                tables_sum[code] += pel_bytes[code]
        if t >= TYPE_STREAM_LISTPACKS_4:
            self._stream_idmp(alloc, codes, idmp_sum)

        def pick(mode, code, mem):
            # The stream sums of one sizing (mode and allocator).
            if mode == STREAM_NODES:
                mem[0], mem[1] = nodes_sum
            elif mode == STREAM_TREES:
                mem[0] = trees[code]
                mem[1] = nodes_sum[1] + idmp_sum[code]
            else:
                mem[0] = trees[code] + tables_sum[code] + (time_trees[code] if mode == STREAM_ALLOC_PEL_TIME else 0)
                mem[1] = names_sum[code] + idmp_sum[code]

        pick(self._stream_alloc, self._q16, self._v_mem)
        for x, mem in zip(self._x, self._x_mem):
            pick(x.stream, x.alloc, mem)
        self._v_kind = KIND_STREAM
        self._v_len = length
        self._v_nodes = nodes
        self._v_stream = (groups, consumers, pending)

    def _stream_idmp(self, alloc, codes, idmp_sum):
        # Redis 8.6 IDMP tail: duration, max entries, then per producer its
        # id and (IID, stream ID) pairs; all-time IID counters last.  In
        # allocation mode each producer and each entry (its IID inline)
        # is counted, under each allocator of codes (into idmp_sum); the
        # producers' own table is not tracked by Redis.
        number = self._read_u64_len
        number(); number()                             # IDMP duration, max entries
        for _ in range(self._count()):
            self._skip_string()                        # producer id
            if alloc:
                for code in codes:
                    idmp_sum[code] += jemalloc_size(IDMP_PRODUCER, code)
            for _ in range(self._count()):
                size = self._skip_string()             # IID
                if alloc:
                    for code in codes:
                        idmp_sum[code] += jemalloc_size(IDMP_ENTRY + size, code)
                number(); number()                     # stream ID it maps to
        number(); number()                             # IIDs added, duplicates

    def _array(self, t):
        # Redis 8.8 sparse array: count, optional insert cursor, then
        # (index, tag, element) triples; length is ARCOUNT (elements set),
        # since ARLEN (highest index + 1) may not fit an int64.
        n = self._count()
        at = self._base + self._pos
        has_cursor = self._read_plain_len()
        if has_cursor == 1:
            self._read_u64_len()                       # ARINSERT cursor
        elif has_cursor != 0:
            self._fail(f"array insert cursor marker {has_cursor} is neither 0 nor 1", at)
        longest = total = 0
        for _ in range(n):
            self._read_u64_len()                       # index
            at = self._base + self._pos
            tag = self._read_plain_len()
            if tag == ARRAY_TAG_SDS or tag == ARRAY_TAG_SMALL_STR:
                size = self._skip_string()
                if tag == ARRAY_TAG_SMALL_STR and size > ARRAY_SMALL_STR_MAX:
                    self._fail(f"array small string of {size} bytes (at most {ARRAY_SMALL_STR_MAX})", at)
            elif tag == ARRAY_TAG_INT:
                size = len(str(self._unpack(_I64_LE)))
            elif tag == ARRAY_TAG_FLOAT:
                size = float_text_len(self._unpack(_F64_LE))
            else:
                self._fail(f"unknown array element tag {tag}", at)
            longest = max(longest, size)
            total += size
        self._v_kind = KIND_ARRAY
        self._v_len, self._v_max, self._v_elem = n, longest, total

    def _hash_tmpl_lp(self, t):
        # Redis 8.10 template hash as a listpack [template id][v0]...[vN-1];
        # the self-contained DUMP form (29) first carries its source template
        # id and a listpack of the field names.
        at = self._base + self._pos
        if t == TYPE_HASH_TMPL_LP:
            self._read_u64_len()                       # the writer's template id
            data, start, size = self._load_blob()
            fields, f_longest, f_total, _, _ = self._walk_listpack(data, start, size, 1, 1, -1)
            if fields == 0:
                self._fail("hash template with zero fields", at)
            at = self._base + self._pos
        data, start, size = self._load_blob()
        count, longest, total, _, _ = self._walk_listpack(data, start, size, 1, 1, -1)
        if count == 0:
            self._blob_fail("template listpack is empty")
        is_int, tid, first = _lp_first(data, start, size)
        if not is_int:
            self._blob_fail("template listpack: its first entry (the template id) is not an integer")
        if t == TYPE_HASH_TMPL_LP_REF:
            fields, f_longest, f_total = self._template(tid, at)
        digits = len(str(tid))
        if count - 1 != fields:
            self._blob_fail(f"template listpack holds {count - 1} values for {fields} fields")
        if longest <= digits:
            # The id may be the longest entry: measure the values without it.
            rest = bytearray(data[start:start + size])
            del rest[LISTPACK_HEADER:LISTPACK_HEADER + first]
            rest[0:4] = _U32_LE.pack(len(rest))
            _, longest, _, _, _ = self._walk_listpack(rest, 0, len(rest), 1, 1, -1)
        self._v_kind = KIND_HASH
        self._v_len = fields
        self._v_max = max(longest, f_longest)
        self._v_elem = total - digits + f_total
        self._v_blob = size
        self._v_lp = self._v_lp70 = self._v_zl = size
        self._blob_mem(size, size)

    def _hash_tmpl_array(self, t):
        # Redis 8.10 template hash with values as separate strings:
        # [template id][v0]...[vN-1], the DUMP form (31) with [count][f0]...
        # [fN-1] after the id.
        at = self._base + self._pos
        tid = self._read_u64_len()
        if t == TYPE_HASH_TMPL_ARRAY:
            fields = self._count()
            if fields == 0:
                self._fail("hash template with zero fields", at)
            f_longest = f_total = 0
            for _ in range(fields):
                size = self._skip_string()
                f_longest = max(f_longest, size)
                f_total += size
        else:
            fields, f_longest, f_total = self._template(tid, at)
        longest = total = 0
        for _ in range(fields):
            size = self._skip_string()
            longest = max(longest, size)
            total += size
        self._v_kind = KIND_HASH
        self._v_len = fields
        self._v_max = max(longest, f_longest)
        self._v_elem = total + f_total

    def _gcra(self, t):
        # A GCRA rate limiter: its theoretical arrival time, one number.
        self._read_u64_len()
        self._v_kind = KIND_GCRA
        self._v_len = 0
        self._v_len_valid = 0

    # ------------------------------------------------------- blob walks
    def _blob_fail(self, what):
        self._fail(f"corrupt blob ({self._blob_len} bytes): {what}",
                   self._base + self._pos - self._blob_len)

    def _walk_listpack(self, data, start, n, stride, mask, ttl_at, role=-1):
        # Walk a listpack: (count, longest, total, ttls, all_int).  Entries
        # at positions i % stride whose bit is set in mask feed longest and
        # total (and, when role >= 0, the hashtable sizing in that role:
        # position 1 is a value, role + 1); when ttl_at >= 0 count the
        # nonzero integers at that position (listpackEx field TTLs).
        if n < LISTPACK_HEADER + 1:
            self._blob_fail("shorter than a listpack header")
        declared = _U32_LE.unpack_from(data, start)[0]
        if declared != n:
            self._blob_fail(f"listpack header says {declared} bytes")
        end = start + n
        e = start + LISTPACK_HEADER
        count = longest = total = ttls = 0
        all_int = True
        at = 0                                  # position within the entry group
        want_zl = self._want_zl
        want_intw = stride == 1 and self._v_kind == KIND_SET
        zl, zprev, intw = ZIPLIST_HEADER + 1, 0, 0
        while True:
            if e >= end:
                self._blob_fail("listpack has no end marker")
            c = data[e]
            if c == LISTPACK_END:
                break
            is_int = True
            value = 0
            if c < 0x80:                                # 7-bit unsigned integer
                value = c
                entry = 1
            elif (c & 0xC0) == 0x80:                    # string, 6-bit length
                size = c & 0x3F
                entry = 1 + size
                is_int = False
            elif (c & 0xE0) == 0xC0:                    # 13-bit signed integer
                if e + 2 > end:
                    self._blob_fail("truncated listpack entry")
                value = ((c & 0x1F) << 8) | data[e + 1]
                if value >= 4096:
                    value -= 8192
                entry = 2
            elif (c & 0xF0) == 0xE0:                    # string, 12-bit length
                if e + 2 > end:
                    self._blob_fail("truncated listpack entry")
                size = ((c & 0x0F) << 8) | data[e + 1]
                entry = 2 + size
                is_int = False
            elif c == 0xF0:                             # string, 32-bit length
                if e + 5 > end:
                    self._blob_fail("truncated listpack entry")
                size = _U32_LE.unpack_from(data, e + 1)[0]
                entry = 5 + size
                is_int = False
            elif c == 0xF1:                             # 16/24/32/64-bit integers
                entry = 3
            elif c == 0xF2:
                entry = 4
            elif c == 0xF3:
                entry = 5
            elif c == 0xF4:
                entry = 9
            else:
                self._blob_fail(f"listpack entry encoding 0x{c:02x}")
            if e + entry > end:
                self._blob_fail("listpack entry runs past the end")
            if is_int:
                if c >= 0xF1:
                    value = int.from_bytes(data[e + 1:e + entry], "little", signed=True)
                size = len(str(value))
                if want_intw and _intset_width(value) > intw:
                    intw = _intset_width(value)
            else:
                all_int = False
            if want_zl:
                # the entry in the ziplist a release before 7.0 would hold
                zprev = (_zl_int_body(value) if is_int else _zl_str_body(size)) + (1 if zprev < 254 else 5)
                zl += zprev
            if (mask >> at) & 1:
                if size > longest:
                    longest = size
                total += size
                if role >= 0:
                    self._sized(size, role + (at & 1))
            if at == ttl_at and value != 0:
                ttls += 1
            count += 1
            at += 1
            if at == stride:
                at = 0
            # back-length: 1 byte per 7 bits of the entry length
            if entry <= 127:
                e += entry + 1
            elif entry < 16383:
                e += entry + 2
            elif entry < 2097151:
                e += entry + 3
            elif entry < 268435455:
                e += entry + 4
            else:
                e += entry + 5
        if e + 1 != end:
            self._blob_fail("bytes after the listpack end marker")
        self._w_lp = n
        self._w_zl = zl if want_zl else n
        self._w_intw = intw if all_int and want_intw else -1
        return count, longest, total, ttls, all_int

    def _walk_ziplist(self, data, start, n, stride, mask, role=-1):
        # Walk a ziplist: (count, longest, total), as _walk_listpack.
        if n < ZIPLIST_HEADER + 1:
            self._blob_fail("shorter than a ziplist header")
        declared = _U32_LE.unpack_from(data, start)[0]
        if declared != n:
            self._blob_fail(f"ziplist header says {declared} bytes")
        end = start + n
        e = start + ZIPLIST_HEADER
        count = longest = total = 0
        at = 0
        lp = LISTPACK_HEADER + 1
        while True:
            if e >= end:
                self._blob_fail("ziplist has no end marker")
            if data[e] == ZIPLIST_END:
                break
            # previous entry length: 1 byte, or 0xFE and 4 bytes
            e += 5 if data[e] == ZIPLIST_BIGLEN else 1
            if e >= end:
                self._blob_fail("truncated ziplist entry")
            c = data[e]
            is_int = False
            if (c >> 6) == 0:                           # string, 6-bit length
                size = c & 0x3F
                e += 1 + size
            elif (c >> 6) == 1:                         # string, 14-bit length
                if e + 2 > end:
                    self._blob_fail("truncated ziplist entry")
                size = ((c & 0x3F) << 8) | data[e + 1]
                e += 2 + size
            elif c == 0x80:                             # string, 32-bit big-endian length
                if e + 5 > end:
                    self._blob_fail("truncated ziplist entry")
                size = _U32_BE.unpack_from(data, e + 1)[0]
                e += 5 + size
            else:
                width = _ZIPLIST_INT_WIDTH.get(c)
                if width is not None:
                    if e + 1 + width > end:
                        self._blob_fail("truncated ziplist entry")
                    value = int.from_bytes(data[e + 1:e + 1 + width], "little", signed=True)
                    e += 1 + width
                elif 0xF1 <= c <= 0xFD:                 # 4-bit immediate 0..12
                    value = (c & 0x0F) - 1
                    e += 1
                else:
                    self._blob_fail(f"ziplist entry encoding 0x{c:02x}")
                size = len(str(value))
                is_int = True
            if e > end:
                self._blob_fail("ziplist entry runs past the end")
            # the entry in the listpack a 7.0+ loader converts the ziplist to
            lp += _lp_int_entry(value) if is_int else _lp_str_entry(size)
            if (mask >> at) & 1:
                if size > longest:
                    longest = size
                total += size
                if role >= 0:
                    self._sized(size, role + (at & 1))
            count += 1
            at += 1
            if at == stride:
                at = 0
        if e + 1 != end:
            self._blob_fail("bytes after the ziplist end marker")
        self._w_lp, self._w_zl, self._w_intw = lp, n, -1
        return count, longest, total

    def _walk_intset(self, data, start, n):
        # (count, longest, total) of an intset's members as decimal text.
        if n < INTSET_HEADER:
            self._blob_fail("shorter than an intset header")
        width, count = _INTSET_HEADER.unpack_from(data, start)
        if width not in _INTSET_MEMBER:
            self._blob_fail(f"intset encoding {width}")
        if INTSET_HEADER + width * count != n:
            self._blob_fail(f"intset of {count} x {width}-byte members")
        members = array(_INTSET_MEMBER[width], data[start + INTSET_HEADER:start + n])
        sizes = [len(str(m)) for m in members]
        for size in sizes:                  # as hashtable members, should the loader convert
            self._sized(size, ROLE_SET)
        self._w_lp = self._w_zl = n
        self._w_intw = width
        return count, max(sizes, default=0), sum(sizes)

    def _walk_zipmap(self, data, start, n):
        # (count, longest, total) of a zipmap's fields and values.
        if n < 2:
            self._blob_fail("shorter than a zipmap")
        end = start + n
        e = start + 1                                   # after the entry-count byte
        count = longest = total = 0
        while True:
            if e >= end:
                self._blob_fail("zipmap has no end marker")
            c = data[e]
            if c == ZIPMAP_END:
                break
            if c < ZIPMAP_BIGLEN:
                size = c
                e += 1
            else:                                       # ZIPMAP_BIGLEN and 4 bytes
                if e + 5 > end:
                    self._blob_fail("truncated zipmap length")
                size = _U32_LE.unpack_from(data, e + 1)[0]
                e += 5
            free = 0
            if count % 2 == 1:                          # a value: its free-space byte
                if e >= end:
                    self._blob_fail("truncated zipmap entry")
                free = data[e]
                e += 1
            e += size + free
            if e > end:
                self._blob_fail("zipmap entry runs past the end")
            if size > longest:
                longest = size
            total += size
            self._sized(size, count & 1)
            count += 1
        if count % 2:
            self._blob_fail("zipmap has a field without a value")
        self._w_lp = self._w_zl = n
        self._w_intw = -1
        return count, longest, total

    # ------------------------------------------------------------ flush
    def flush(self):
        """Hand over the rows gathered so far and start a new batch.

        Returns ``(rows, columns)``: raw little-endian buffers, validity as
        Arrow bitmaps (``*_valid``; None when every row is valid), and None
        for a nullable column no row of the batch has.
        """
        n = self._rows
        if n == 0:
            return None
        dbs = self.meta["dbs"]
        for db, (keys, expires) in self._db_counts.items():
            dbs[db] = [keys, expires]
        cols = self._cols.buffers()
        self._cols = _Columns(len(self._x), len(self._conv_limits))
        self._rows = 0
        self._flushed += n
        self._batch_limit = self._batch_size
        return n, cols
