"""What ``OBJECT ENCODING`` answers once the server that wrote a dump loads it.

The RDB type byte says how a value was saved; the loading server may
convert it (Redis ``rdbLoadObject``): small collections stay compact
(ziplist/listpack/intset) under the ``*-max-*`` thresholds, old ziplists
become listpacks from 7.0, one-node quicklists become listpacks from 7.2,
strings become int/embstr/raw by ``tryObjectEncoding``.  The rules here are
vectorised over a batch with pyarrow.compute.
"""

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan.model.valkey import embstr_fits, valkey_layout
from rdbscan.scanner import format as F

ENCODINGS = ("raw", "int", "embstr", "linkedlist", "ziplist", "quicklist", "listpack",
             "listpackex", "intset", "hashtable", "skiplist", "zipmap", "stream", "unknown",
             "sliced-array", "template-listpack", "template-array")
_CODE = {name: i for i, name in enumerate(ENCODINGS)}
DICTIONARY = pa.array(ENCODINGS, pa.string())

# RDB version -> the oldest release that writes it, for dumps without a
# redis-ver aux field (RDB < 7) or with an unreadable one.
_RELEASE_OF_RDB = {1: (2, 0), 2: (2, 4), 3: (2, 6), 4: (2, 6), 5: (2, 6), 6: (2, 8), 7: (3, 2),
                   8: (4, 0), 9: (5, 0), 10: (7, 0), 11: (7, 2), 12: (7, 4), 13: (8, 6), 14: (8, 8),
                   15: (8, 10)}
KVOBJ_EMBED_LIMIT = 41     # Redis 8 kvobjSet: 16 + (keylen + 3) + (len + 4) <= 64 embeds the value
KVOBJ_EMBED_TTL = 8        # Redis 8.4 kvobjSet also counts the expiry of a key with a TTL


def embstr_ttl_bytes(profile):
    """What a key's TTL adds to kvobjSet's embed test: 8 in Redis 8.4 (the
    expiry sits inside the allocation), 0 in 8.6+ (metadata before the object,
    left out of the test) and in 8.2 as modelled (8.0 has no kvobj)."""
    return KVOBJ_EMBED_TTL if profile.flavor == "redis" and (8, 4) <= profile.version < (8, 6) else 0


@dataclass
class Thresholds:
    """The encoding limits in force (Redis defaults unless a config says otherwise)."""
    hash_max_entries: int = 512         # hash-max-listpack-entries / hash-max-ziplist-entries
    hash_max_value: int = 64
    zset_max_entries: int = 128
    zset_max_value: int = 64
    set_max_intset_entries: int = 512
    set_max_listpack_entries: int = 128  # 7.2+
    set_max_listpack_value: int = 64
    list_max_ziplist_entries: int = 512  # before 3.2 (linked lists)
    list_max_ziplist_value: int = 64
    list_max_listpack_bytes: int = 8192  # list-max-listpack-size -2 (7.2+ listpack lists)


@dataclass
class ServerProfile:
    """Which server wrote the dump, and the rules its loader applies."""
    flavor: str                 # "redis" or "valkey"
    version: tuple              # (major, minor, patch)
    source: str                 # where the version came from
    thresholds: Thresholds = field(default_factory=Thresholds)
    allocator: str = "jemalloc"  # "jemalloc" (bundled, 8-byte quantum) or "jemalloc-16" (distro builds)
    cluster: bool = False        # cluster mode (7.0-7.2 keep per-key slot links)

    @property
    def label(self):
        """Human-readable server name, e.g. ``redis 7.4.1``."""
        return f"{self.flavor} {'.'.join(str(v) for v in self.version)}"

    def redis_compat(self):
        """The Redis release whose data-structure rules this server follows."""
        if self.flavor == "valkey":
            # Valkey 7.2 and 8.x keep Redis 7.2's encodings.
            return (7, 2, 4)
        return self.version


def _parse_version(text):
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


# redis.conf settings that move the encoding thresholds; the ziplist names
# are the pre-7.0 aliases of the listpack ones.
CONFIG_THRESHOLDS = {
    "hash-max-listpack-entries": "hash_max_entries", "hash-max-ziplist-entries": "hash_max_entries",
    "hash-max-listpack-value": "hash_max_value", "hash-max-ziplist-value": "hash_max_value",
    "zset-max-listpack-entries": "zset_max_entries", "zset-max-ziplist-entries": "zset_max_entries",
    "zset-max-listpack-value": "zset_max_value", "zset-max-ziplist-value": "zset_max_value",
    "set-max-intset-entries": "set_max_intset_entries",
    "set-max-listpack-entries": "set_max_listpack_entries",
    "set-max-listpack-value": "set_max_listpack_value",
    "list-max-ziplist-entries": "list_max_ziplist_entries",
    "list-max-ziplist-value": "list_max_ziplist_value",
}
# list-max-listpack-size / list-max-ziplist-size: negative values name a node size.
LIST_SIZE_BYTES = {-1: 4096, -2: 8192, -3: 16384, -4: 32768, -5: 65536}


def thresholds_from_config(path):
    """The encoding thresholds a redis.conf / valkey.conf sets (defaults for the rest)."""
    t = Thresholds()
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        raise ValueError(f"{path}: cannot read: {e.strerror or e}") from None
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if len(parts) < 2 or parts[0].startswith("#"):
            continue
        name, value = parts[0].lower(), parts[1].strip("\"'")
        if name in CONFIG_THRESHOLDS or name in ("list-max-listpack-size", "list-max-ziplist-size"):
            try:
                number_value = int(value)
            except ValueError:
                raise ValueError(f"{path}:{number}: {name} expects an integer, found {value!r}") from None
            if name in CONFIG_THRESHOLDS:
                setattr(t, CONFIG_THRESHOLDS[name], number_value)
            else:
                # A positive size counts entries per node; 8 KiB stays the byte limit.
                t.list_max_listpack_bytes = LIST_SIZE_BYTES.get(number_value, 8192)
    return t


def profile_from_meta(meta, server=None, allocator=None, cluster=None, thresholds=None):
    """Work out the writing server from a scan's file-level facts.

    ``server`` overrides the version (``"7.0.15"``, ``"redis-7.2"``,
    ``"valkey-8.0"``); ``allocator`` and ``cluster`` override what the dump
    cannot tell (cluster mode is assumed when it carries slot info);
    ``thresholds`` replaces the default encoding limits.
    """
    profile = _profile_from_meta(meta, server)
    if allocator:
        profile.allocator = allocator
    if thresholds is not None:
        profile.thresholds = thresholds
    profile.cluster = bool(meta.get("slot_info")) if cluster is None else cluster
    return profile


def parse_server(text):
    """``"valkey-8.0.1"`` / ``"redis-7.2"`` / ``"7.4"`` -> (flavor, version tuple)."""
    text = str(text).strip().lower()
    flavor = "redis"
    for name in ("valkey", "redis"):
        if text.startswith(name):
            flavor, text = name, text[len(name):].lstrip("-_ ")
    if not text or not text[0].isdigit():
        raise ValueError(f"not a server version: {text!r} (examples: 7.4.1, redis-7.2, valkey-8.0)")
    return flavor, _parse_version(text)


def _profile_from_meta(meta, server):
    if server:
        flavor, version = parse_server(server)
        return ServerProfile(flavor, version, "given")
    aux = meta.get("aux", {})
    if "valkey-ver" in aux:
        return ServerProfile("valkey", _parse_version(aux["valkey-ver"]), "aux valkey-ver")
    if meta.get("flavor") == "valkey":
        return ServerProfile("valkey", (9, 0, 0), "VALKEY magic")
    if "redis-ver" in aux:
        version = _parse_version(aux["redis-ver"])
        if version == (255, 255, 255):
            # Development builds of Redis report 255.255.255: the RDB version tells the era.
            version = (7, 4, 0) if meta.get("rdb_version", 0) >= 12 else version
        return ServerProfile("redis", version, "aux redis-ver")
    rdb = meta.get("rdb_version", 0)
    release = _RELEASE_OF_RDB.get(rdb, (8, 10) if rdb > 15 else (2, 0))
    return ServerProfile("redis", release + (0,), f"RDB version {rdb}")


def valkey_embeds_key(profile):
    """True for Valkey 8.1+, whose loader embeds the key (and expiry) in the value's object."""
    return profile.flavor == "valkey" and profile.version >= (8, 1)


def encoding_column(profile, kind, rdb_type, length, max_elem, flags, nodes, blob, elem, key_len=None,
                    expires=None):
    """The ``encoding`` column (dictionary array) for one batch of rows.

    ``key_len`` (bytes of each key) matters from Redis 8.2 and Valkey 8.1 on,
    where a short string stays embstr only when it fits the key's allocation;
    ``expires`` (whether each key has a TTL) in Redis 8.4 and Valkey 8.1+,
    where the expiry counts too.
    """
    v = profile.redis_compat()
    t = profile.thresholds
    listpack_era = v >= (7, 0)
    compact_hash = "listpack" if listpack_era else "ziplist"
    is_int = pc.not_equal(pc.bit_wise_and(flags, F.FLAG_INTEGER), 0)
    has_plain = pc.not_equal(pc.bit_wise_and(flags, F.FLAG_PLAIN_NODE), 0)
    length0 = pc.fill_null(length, 0)

    def rt(*types):
        """Rows whose RDB type byte is one of ``types``."""
        return pc.is_in(rdb_type, value_set=pa.array(types, pa.uint8()))

    def small(max_entries, max_value, *compact_types):
        """Rows within a compact encoding's entry and value limits.

        A compact value in the file (one of ``compact_types``) stays compact
        unless it has too many elements: the loader does not look at their
        lengths.  One built from elements must fit both limits.
        """
        fits = pc.less_equal(max_elem, max_value)
        if compact_types:
            fits = pc.or_(fits, rt(*compact_types))
        return pc.and_(pc.less_equal(length0, max_entries), fits)

    cases = []   # (condition, encoding name), first match wins

    # strings: tryObjectEncoding after load
    is_string = pc.equal(kind, F.KIND_STRING)
    embstr_limit = 44 if v >= (3, 2) else 39
    cases.append((pc.and_(is_string, is_int), "int"))
    if valkey_embeds_key(profile):
        fits = embstr_fits(valkey_layout(profile.version), length0, key_len, expires)
        cases.append((pc.and_(is_string, fits), "embstr"))
    elif profile.flavor == "redis" and v >= (8, 2) and key_len is not None:
        # kvobjSet embeds a value of up to 44 bytes only with a short enough
        # key; otherwise it becomes a raw sds and OBJECT ENCODING says raw.
        need = pc.add(key_len, length0)
        if embstr_ttl_bytes(profile) and expires is not None:
            need = pc.add(need, pc.if_else(expires, embstr_ttl_bytes(profile), 0))
        fits = pc.less_equal(need, KVOBJ_EMBED_LIMIT)
        cases.append((pc.and_(is_string, pc.and_(pc.less_equal(length0, embstr_limit), fits)), "embstr"))
    elif v >= (3, 0):
        cases.append((pc.and_(is_string, pc.less_equal(length0, embstr_limit)), "embstr"))
    cases.append((is_string, "raw"))

    # lists
    if v < (3, 2):
        cases.append((pc.and_(rt(F.TYPE_LIST, F.TYPE_LIST_ZIPLIST),
                              small(t.list_max_ziplist_entries, t.list_max_ziplist_value)), "ziplist"))
        cases.append((pc.equal(kind, F.KIND_LIST), "linkedlist"))
    else:
        if v >= (7, 2):
            one_node = pc.and_(pc.less_equal(nodes, 1), pc.invert(has_plain))
            fits = pc.less_equal(blob, t.list_max_listpack_bytes)
            # Linked lists are pushed into a listpack element by element:
            # about two bytes of header and back-length per element.
            pushed = pc.less_equal(pc.add(elem, pc.add(pc.multiply(length0, 2), 7)),
                                   t.list_max_listpack_bytes)
            cases.append((pc.and_(rt(F.TYPE_LIST_QUICKLIST, F.TYPE_LIST_QUICKLIST_2),
                                  pc.and_(one_node, fits)), "listpack"))
            cases.append((pc.and_(rt(F.TYPE_LIST_ZIPLIST), fits), "listpack"))
            cases.append((pc.and_(rt(F.TYPE_LIST), pushed), "listpack"))
        cases.append((pc.equal(kind, F.KIND_LIST), "quicklist"))

    # sets
    is_set = pc.equal(kind, F.KIND_SET)
    cases.append((pc.and_(rt(F.TYPE_SET, F.TYPE_SET_INTSET),
                          pc.and_(is_int, pc.less_equal(length0, t.set_max_intset_entries))), "intset"))
    if v >= (7, 2):
        cases.append((pc.and_(rt(F.TYPE_SET, F.TYPE_SET_LISTPACK),
                              small(t.set_max_listpack_entries, t.set_max_listpack_value,
                                    F.TYPE_SET_LISTPACK)), "listpack"))
    cases.append((is_set, "hashtable"))

    # sorted sets: converted after load when within the compact limits
    is_zset = pc.equal(kind, F.KIND_ZSET)
    cases.append((pc.and_(is_zset, small(t.zset_max_entries, t.zset_max_value,
                                         F.TYPE_ZSET_ZIPLIST, F.TYPE_ZSET_LISTPACK)), compact_hash))
    cases.append((is_zset, "skiplist"))

    # hashes
    is_hash = pc.equal(kind, F.KIND_HASH)
    hash_small = small(t.hash_max_entries, t.hash_max_value, F.TYPE_HASH_ZIPLIST, F.TYPE_HASH_LISTPACK,
                       F.TYPE_HASH_LISTPACK_EX, F.TYPE_HASH_LISTPACK_EX_PRE_GA)
    if profile.flavor == "redis":
        # 8.10 template hashes load as they were saved (hash-rdb-load-* off)
        cases.append((rt(F.TYPE_HASH_TMPL_LP, F.TYPE_HASH_TMPL_LP_REF), "template-listpack"))
        cases.append((rt(F.TYPE_HASH_TMPL_ARRAY, F.TYPE_HASH_TMPL_ARRAY_REF), "template-array"))
    if profile.flavor == "valkey":
        # Valkey 9.0+ keeps a hash whose fields carry TTLs as a hashtable
        # (9.1.x at 9cd063ee too); Valkey has no listpackex.
        if profile.version >= (9, 0):
            has_hfe = pc.not_equal(pc.bit_wise_and(flags, F.FLAG_HFE), 0)
            cases.append((pc.and_(is_hash, has_hfe), "hashtable"))
    else:
        cases.append((pc.and_(pc.and_(is_hash, rt(F.TYPE_HASH_METADATA, F.TYPE_HASH_METADATA_PRE_GA,
                                                 F.TYPE_HASH_LISTPACK_EX, F.TYPE_HASH_LISTPACK_EX_PRE_GA)),
                              hash_small), "listpackex"))
    cases.append((pc.and_(is_hash, hash_small), compact_hash))
    cases.append((is_hash, "hashtable"))

    # streams: Redis 5.0 answered "unknown" for them
    cases.append((pc.equal(kind, F.KIND_STREAM), "stream" if v >= (6, 0) else "unknown"))
    # Valkey 9.2 path hashes: what OBJECT ENCODING says is not known from the sources read
    cases.append((pc.equal(kind, F.KIND_PATH_HASH), "unknown"))

    # Redis 8.8 arrays have one encoding; 8.10 template hashes keep theirs
    cases.append((pc.equal(kind, F.KIND_ARRAY), "sliced-array"))

    conds = [c for c, _ in cases]
    codes = [pa.scalar(_CODE[name], pa.int8()) for _, name in cases]
    struct = pc.make_struct(*conds, field_names=[str(i) for i in range(len(conds))])
    # Anything left (module values) is what OBJECT ENCODING says for them: raw.
    indices = pc.case_when(struct, *codes, pa.scalar(_CODE["raw"], pa.int8()))
    if indices.null_count:
        indices = pc.fill_null(indices, _CODE["raw"])
    return pa.DictionaryArray.from_arrays(indices, DICTIONARY)
