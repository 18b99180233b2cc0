"""RDB format constants: the one place both scanners take them from.

Values come from Redis ``src/rdb.h`` and Valkey ``src/rdb.h``.  The build
(``setup.py``) turns every ``UPPER_CASE = int`` line of this file into a C
enum for the compiled scanner, so keep these plain integer assignments.
Redis and Valkey reuse some numbers (types 22/23, opcodes 242-244): the
scanner picks a meaning from the magic string and the version.
"""

# --- magic and versions -------------------------------------------------------
MAGIC_LEN = 9                 # "REDIS" + 4 digits, or "VALKEY" + 3 digits
FLAVOR_REDIS = 0              # REDISnnnn: Redis, and Valkey up to RDB 11
FLAVOR_VALKEY = 1             # VALKEYnnn: Valkey 9.0+ (RDB 80+)
RDB_VERSION_CRC = 5           # from this version on, EOF is followed by a CRC64
REDIS_RDB_VERSION_MAX = 15    # newest Redis RDB version this scanner knows (Redis 8.10)
RDB_VERSION_KEY_META = 13     # Redis 8.6: KEY_META opcode, streams with IDMP (type 26)
RDB_VERSION_ARRAY = 14        # Redis 8.8+: types 27-33 and the HASH_TEMPLATE opcode are read
                              # from RDB 14 on (8.8 writes 27/28, 8.10 adds templates in RDB 15)
VALKEY_RDB_VERSION_MIN = 80   # first RDB version written with the VALKEY magic
VALKEY_RDB_VERSION_MAX = 81   # newest Valkey RDB version this scanner knows (9.2, from sources only)
VALKEY_RDB_VERSION_PATH_HASH = 81  # first Valkey RDB version with type 23 and opcode 242 UPDATE

# --- length encoding (first byte of a length, top two bits) --------------------
LEN_6BIT = 0
LEN_14BIT = 1
LEN_32BIT = 0x80
LEN_64BIT = 0x81
LEN_ENCVAL = 3
ENC_INT8 = 0
ENC_INT16 = 1
ENC_INT32 = 2
ENC_LZF = 3

# --- value types --------------------------------------------------------------
TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3
TYPE_HASH = 4
TYPE_ZSET_2 = 5
TYPE_MODULE_PRE_GA = 6
TYPE_MODULE_2 = 7
TYPE_HASH_ZIPMAP = 9
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_STREAM_LISTPACKS = 15
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18
TYPE_STREAM_LISTPACKS_2 = 19
TYPE_SET_LISTPACK = 20
TYPE_STREAM_LISTPACKS_3 = 21
TYPE_HASH_METADATA_PRE_GA = 22      # Redis 7.4 release candidates
TYPE_HASH_LISTPACK_EX_PRE_GA = 23   # Redis 7.4 release candidates
TYPE_HASH_METADATA = 24             # Redis 7.4+: hash with field TTLs
TYPE_HASH_LISTPACK_EX = 25          # Redis 7.4+: listpack hash with field TTLs
TYPE_STREAM_LISTPACKS_4 = 26        # Redis 8.6: stream v3 + IDMP settings and producers
TYPE_STREAM_LISTPACKS_5 = 27        # Redis 8.8: v4 + each group's NACK zone (XNACK)
TYPE_ARRAY = 28                     # Redis 8.8: sparse array of tagged elements
TYPE_HASH_TMPL_LP = 29              # Redis 8.10 hash templates: self-contained listpack (DUMP)
TYPE_HASH_TMPL_LP_REF = 30          # ... listpack of values referring to a HASH_TEMPLATE record
TYPE_HASH_TMPL_ARRAY = 31           # ... self-contained fields and values (DUMP)
TYPE_HASH_TMPL_ARRAY_REF = 32       # ... values referring to a HASH_TEMPLATE record
TYPE_GCRA = 33                      # GCRA rate limiter (builds with ENABLE_GCRA only)
VALKEY_TYPE_HASH_2 = 22             # Valkey 9.0: (field, value, ms) triples
VALKEY_TYPE_PATH_HASH = 23          # Valkey 9.2 (RDB 81): paths, each a field/value map

# --- opcodes --------------------------------------------------------------------
OP_HASH_TEMPLATE = 242              # Redis 8.10: a template's id and field names (Valkey 9.2: UPDATE)
OP_UPDATE = 242                     # Valkey 9.2 (RDB 81): an inline replication command (RESP)
OP_KEY_META = 243                   # Redis 8.6: module metadata classes before a key's type
OP_SLOT_IMPORT = 243                # Valkey 9.0 (Redis 8.6 uses 243 for KEY_META)
OP_SLOT_INFO = 244                  # Redis 7.4 cluster; Valkey: foreign, ignored
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

# --- module value sub-opcodes ---------------------------------------------------
MODULE_OP_EOF = 0
MODULE_OP_SINT = 1
MODULE_OP_UINT = 2
MODULE_OP_FLOAT = 3
MODULE_OP_DOUBLE = 4
MODULE_OP_STRING = 5

# --- Redis 8.6 key metadata (KEY_META): per class a 4-byte spec, then module-style fields
KEY_META_SPEC_BYTES = 4        # 24-bit name (4 x 6 bits), 5-bit version, 3-bit flags
KEY_META_MAX_CLASSES = 7       # KEY_META_MAX_NUM_MODULES
KEY_META_NAME_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

# --- Redis 8.8 array elements: a tag, then the element stored by it ------------
ARRAY_TAG_SDS = 0              # a string
ARRAY_TAG_INT = 1              # 8-byte little-endian signed integer
ARRAY_TAG_FLOAT = 2            # 8-byte IEEE-754 double, read back as its shortest decimal text
ARRAY_TAG_SMALL_STR = 3        # a string of at most 7 bytes
ARRAY_SMALL_STR_MAX = 7

# --- Redis 8.10 hash templates ------------------------------------------------
TEMPLATE_ID_MAX = 4194303      # ids are allocated lowest-free: beyond this a dump is corrupt

# --- quicklist 2 node containers ------------------------------------------------
QUICKLIST_NODE_PLAIN = 1
QUICKLIST_NODE_PACKED = 2

# --- zset text scores (TYPE_ZSET): the length byte doubles as a marker ---------
ZSET_SCORE_NAN = 253
ZSET_SCORE_POS_INF = 254
ZSET_SCORE_NEG_INF = 255

# --- in-memory blob formats -----------------------------------------------------
ZIPLIST_HEADER = 10            # zlbytes u32, zltail u32, zllen u16
ZIPLIST_END = 0xFF
ZIPLIST_BIGLEN = 254           # prevlen marker for a 4-byte previous length
ZIPLIST_COUNT_UNKNOWN = 0xFFFF
LISTPACK_HEADER = 6            # total bytes u32, count u16
LISTPACK_END = 0xFF
LISTPACK_COUNT_UNKNOWN = 0xFFFF
LISTPACK_STR6_MAX = 63         # string entries: 1-byte header up to 63 bytes, 2 bytes up to 4095, then 5
LISTPACK_STR12_MAX = 4095
INTSET_HEADER = 8              # encoding u32, length u32
ZIPMAP_BIGLEN = 254
ZIPMAP_END = 0xFF
STREAM_ID_BYTES = 16           # raw 128-bit stream IDs in the PELs
PEL_TIME_KEY_BYTES = 24        # Redis 8.4 pel_by_time key: delivery time, then the ID (big-endian)

# --- how the scanners size streams (set_sizing's stream_alloc) ----------------
STREAM_NODES = 0               # up to Redis 8.2: the radix trees' nodes are counted
STREAM_ALLOC = 1               # Redis 8.6+: the bytes every tree allocates (rax alloc_size)
STREAM_ALLOC_PEL_TIME = 2      # Redis 8.4: the same, plus each group's pel_by_time tree
STREAM_TREES = 3               # Valkey 8.1+: the bytes the stream's own trees allocate (main tree,
                               # each PEL and consumer PEL; no group/consumer tables), names by length

VSET_VECTOR_MAX = 127          # Valkey 9.0+ volatile set: one vector up to this many fields with TTLs

# --- row facts the scanners hand to the record layer (column "flags") ---------
FLAG_INTEGER = 1               # string: canonical integer; set: every member is one
FLAG_PLAIN_NODE = 2            # list: has a plain (unpacked) quicklist node
FLAG_HFE = 4                   # hash stored with field expiration metadata
FORMAT_SHIFT = 4               # strings: the value's sniffed format code, flags >> FORMAT_SHIFT

# --- string values: what their first bytes look like (column "value_format") --
FORMAT_NONE = 0                # not a string value
FORMAT_INT = 1
FORMAT_TEXT = 2
FORMAT_BINARY = 3
FORMAT_JSON = 4
FORMAT_XML = 5
FORMAT_HTML = 6
FORMAT_GZIP = 7
FORMAT_ZSTD = 8
FORMAT_LZ4 = 9
FORMAT_ZLIB = 10
FORMAT_SNAPPY = 11
FORMAT_PICKLE = 12
FORMAT_JAVA = 13
FORMAT_EMPTY = 14
FORMAT_NAMES = (None, "int", "text", "binary", "json", "xml", "html", "gzip", "zstd", "lz4", "zlib",
                "snappy", "pickle", "java-serialized", "empty")
SNIFF_BYTES = 16               # how many leading bytes of a string value are looked at

# --- the "type" column: codes the scanners write, names users see -------------
KIND_STRING = 0
KIND_LIST = 1
KIND_SET = 2
KIND_ZSET = 3
KIND_HASH = 4
KIND_STREAM = 5
KIND_ARRAY = 6                 # Redis 8.8
KIND_GCRA = 7                  # Redis builds with ENABLE_GCRA
KIND_PATH_HASH = 8             # Valkey 9.2 path hash (TYPE answers "path-hash")
KIND_MODULE_BASE = 9           # 9 + i: the i-th module type name met in the dump

KIND_NAMES = ("string", "list", "set", "zset", "hash", "stream", "array", "gcra", "path-hash")

# Module type IDs pack a 9-character name in 6-bit symbols above a 10-bit
# encoding version (Redis module.c, moduleTypeEncodeId).
MODULE_NAME_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

RDB_TYPE_NAMES = {
    0: "string", 1: "list", 2: "set", 3: "zset", 4: "hash", 5: "zset_2",
    6: "module_pre_ga", 7: "module_2", 9: "hash_zipmap", 10: "list_ziplist",
    11: "set_intset", 12: "zset_ziplist", 13: "hash_ziplist",
    14: "list_quicklist", 15: "stream_listpacks", 16: "hash_listpack",
    17: "zset_listpack", 18: "list_quicklist_2", 19: "stream_listpacks_2",
    20: "set_listpack", 21: "stream_listpacks_3", 22: "hash_metadata_pre_ga",
    23: "hash_listpack_ex_pre_ga", 24: "hash_metadata", 25: "hash_listpack_ex",
    26: "stream_listpacks_4", 27: "stream_listpacks_5", 28: "array", 29: "hash_tmpl_lp",
    30: "hash_tmpl_lp_ref", 31: "hash_tmpl_array", 32: "hash_tmpl_array_ref", 33: "gcra",
}

VALKEY_RDB_TYPE_NAMES = {**{t: n for t, n in RDB_TYPE_NAMES.items() if t < 22}, 22: "hash_2", 23: "path_hash"}
"""Type names in a VALKEY file: 0-21 as Redis, 22 and 23 Valkey's own, nothing beyond."""

OPCODE_NAMES = {
    242: "HASH_TEMPLATE/UPDATE", 243: "KEY_META/SLOT_IMPORT", 244: "SLOT_INFO",
    245: "FUNCTION2", 246: "FUNCTION_PRE_GA", 247: "MODULE_AUX", 248: "IDLE",
    249: "FREQ", 250: "AUX", 251: "RESIZEDB", 252: "EXPIRETIME_MS",
    253: "EXPIRETIME", 254: "SELECTDB", 255: "EOF",
}


def module_type_name(module_id):
    """Decode the 9-character module type name from a 64-bit module type ID."""
    name = []
    for i in range(9):
        shift = 64 - 6 * (i + 1)
        name.append(MODULE_NAME_CHARSET[(module_id >> shift) & 63])
    return "".join(name)


def module_encver(module_id):
    """The module's encoding version: the low 10 bits of its type ID."""
    return module_id & 1023
