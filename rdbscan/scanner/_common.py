"""Helpers shared by both scanner twins: header parsing, tables, key text.

Nothing here runs per element; the per-key work lives in the scanners.
"""

from typing import NamedTuple, Optional

from rdbscan.scanner.format import (
    FLAVOR_REDIS, FLAVOR_VALKEY, KEY_META_NAME_CHARSET, OPCODE_NAMES, RDB_TYPE_NAMES,
    RDB_VERSION_ARRAY, RDB_VERSION_KEY_META, REDIS_RDB_VERSION_MAX, TYPE_GCRA,
    TYPE_HASH_LISTPACK_EX, TYPE_MODULE_PRE_GA, TYPE_STREAM_LISTPACKS_3, TYPE_STREAM_LISTPACKS_4,
    TYPE_STREAM_LISTPACKS_5, VALKEY_RDB_TYPE_NAMES, VALKEY_RDB_VERSION_MIN, VALKEY_RDB_VERSION_MAX,
    VALKEY_RDB_VERSION_PATH_HASH, VALKEY_TYPE_HASH_2, VALKEY_TYPE_PATH_HASH,
)

CRC64_POLY_REFLECTED = 0x95AC9329AC4BC9B5   # Jones polynomial 0xad93d23594c935a9, reflected
CRC16_POLY = 0x1021                          # CCITT/XMODEM, as Redis Cluster uses


def header_info(magic):
    """Parse the 9-byte magic: ``(flavor, version, note)``, or None if it is not RDB.

    ``note`` explains when the version is newer than this scanner knows.
    """
    if magic[:5] == b"REDIS" and magic[5:9].isdigit():
        flavor, version = FLAVOR_REDIS, int(magic[5:9])
        newest = REDIS_RDB_VERSION_MAX
    elif magic[:6] == b"VALKEY" and magic[6:9].isdigit():
        flavor, version = FLAVOR_VALKEY, int(magic[6:9])
        newest = VALKEY_RDB_VERSION_MAX
        if version < VALKEY_RDB_VERSION_MIN:
            return None
    else:
        return None
    if version < 1:
        return None
    note = None
    if version > newest:
        note = (f"RDB version {version} is newer than the newest this rdbscan knows "
                f"({newest}); read with the version {newest} rules")
    return flavor, version, note


class Resume(NamedTuple):
    """Where and in what state a scanner starts inside a dump (parallel decode).

    Both twins take it as ``Scanner(source, batch_size, verify, resume=...)``
    with ``source`` positioned at ``offset``, a record boundary.  No header
    is read: ``flavor`` and ``version`` come from the dump's magic.
    ``db`` None means unknown: rows before the first SELECTDB are counted
    under db 0 and the caller resolves them (``handoff()["unknown_db"]``).
    ``pending`` is ``(expire, idle, freq, record_start)`` read before the
    offset for the next key (None values: not read), ``record_start`` (-1:
    none) and ``meta_bytes`` (its KEY_META records' bytes, 0: none); None
    means unknown, in which case the first key carries only what this
    scanner reads and the caller merges the rest.  ``module_names`` are the
    module types already met (their codes are kept), ``templates`` the hash
    templates already defined, ``(id, fields, longest field, field bytes)``.
    ``expired_before`` (Valkey): hash field expiries before it are past, as
    the dump's ``ctime`` aux says (:func:`snapshot_ms`).
    The scanner stops at the first record boundary at or after ``stop_at``;
    its first batch ends after ``first_batch`` rows.  The CRC64 is only
    computed (``handoff()``), never judged: it covers the bytes from
    ``offset`` on.
    """
    offset: int
    flavor: int
    version: int
    db: Optional[int] = None
    pending: Optional[tuple] = None
    module_names: tuple = ()
    stop_at: Optional[int] = None
    first_batch: Optional[int] = None
    templates: tuple = ()
    expired_before: int = -(1 << 63)


def value_types(flavor, version):
    """The value type bytes a dump of this magic and version may hold: 256 flags (bytes).

    Types 0-21 are common ground (8 was never assigned); Redis and Valkey give
    22 different meanings, Valkey 9.2 (RDB 81) has 23 (path hash), and only
    Redis has 23-25 (7.4), 26 (RDB 13: Redis 8.6) and 27-33 (RDB 14 on:
    Redis 8.8 and 8.10).
    """
    table = bytearray(256)
    for t in range(TYPE_STREAM_LISTPACKS_3 + 1):
        table[t] = t != 8
    if flavor == FLAVOR_VALKEY:
        table[VALKEY_TYPE_HASH_2] = 1
        table[VALKEY_TYPE_PATH_HASH] = version >= VALKEY_RDB_VERSION_PATH_HASH
        return bytes(table)
    for t in range(TYPE_STREAM_LISTPACKS_3 + 1, TYPE_HASH_LISTPACK_EX + 1):
        table[t] = 1
    if version >= RDB_VERSION_KEY_META:
        table[TYPE_STREAM_LISTPACKS_4] = 1
    if version >= RDB_VERSION_ARRAY:
        for t in range(TYPE_STREAM_LISTPACKS_5, TYPE_GCRA + 1):
            table[t] = 1
    assert table[TYPE_MODULE_PRE_GA]
    return bytes(table)


def unknown_message(op, flavor, version):
    """The error text for a byte that is neither a value type nor an opcode of this dump."""
    name = "Valkey" if flavor == FLAVOR_VALKEY else "Redis"
    types = VALKEY_RDB_TYPE_NAMES if flavor == FLAVOR_VALKEY else RDB_TYPE_NAMES
    if op in OPCODE_NAMES:
        what = f"opcode {op} ({OPCODE_NAMES[op]})"
    elif op in types:
        what = f"value type {op} ({types[op]})"
    else:
        what = f"value type or opcode {op}"
    return f"unknown {what} for {name} RDB version {version}"


def key_meta_class_name(spec):
    """``META-xxxx``: the name of a Redis 8.6 key metadata class from its 32-bit spec.

    The spec packs four 6-bit characters above a 5-bit version and 3 flag
    bits (keymeta.c ``keyMetaClassDecode``); the character set differs from
    the module one in its last two symbols.
    """
    chars = [KEY_META_NAME_CHARSET[(spec >> (8 + 6 * (3 - i))) & 63] for i in range(4)]
    return "META-" + "".join(chars)


def escape_key(raw):
    """Key bytes as text: UTF-8 where valid, other bytes written as ``\\xNN``."""
    return raw.decode("utf-8", "backslashreplace")


def crc64_table():
    """Eight 256-entry tables for slice-by-8 CRC64 (Redis crc64.c, Jones polynomial)."""
    t0 = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (CRC64_POLY_REFLECTED if c & 1 else 0)
        t0.append(c)
    tables = [t0]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)])
    return tables


def crc16_table():
    """The 256-entry CRC16-CCITT table Redis Cluster uses for key slots."""
    table = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ CRC16_POLY) if c & 0x8000 else (c << 1)
        table.append(c & 0xFFFF)
    return table


def aux_value(value):
    """An AUX field's value: int when it is a decimal integer, else text."""
    text = value.decode("utf-8", "backslashreplace")
    if text and (text.isdigit() or (text[0] == "-" and text[1:].isdigit())):
        return int(text)
    return text


def pre_ga_library(name, engine, code):
    """A Redis 7.0 release-candidate function library as the text FUNCTION2 would carry.

    The release candidates stored name and engine beside the code; GA
    releases keep them in the code's first line (``#!lua name=lib``), which
    is what ``meta["functions"]`` holds for both.
    """
    text = lambda b: b.decode("utf-8", "backslashreplace")  # noqa: E731
    return f"#!{text(engine).lower()} name={text(name)}\n{text(code)}"


def record_aux(meta, key, value):
    """Store one AUX field in ``meta``.

    Valkey 8+ writes cluster slot counts as repeated ``slot-info`` fields
    ("slot,keys,expires", and from 9.0 ",keys_with_volatile_items"); those
    join ``meta["slot_info"]`` (one list per slot) instead of overwriting
    each other.
    """
    name = key.decode("utf-8", "backslashreplace")
    if name == "slot-info":
        parts = value.decode("ascii", "replace").split(",")
        if len(parts) in (3, 4) and all(p.isdigit() for p in parts):
            meta["slot_info"].append([int(p) for p in parts])
            return
    meta["aux"][name] = aux_value(value)


def snapshot_ms(ctime):
    """The snapshot's time in ms from the ``ctime`` aux value (seconds); the minimum when unusable.

    Hash fields whose expiry is before it are dropped by a Valkey loader.
    """
    if isinstance(ctime, int) and 0 <= ctime < (1 << 53):
        return ctime * 1000
    return -(1 << 63)


class RaxCounter:
    """Nodes of a Redis radix tree built by inserting 16-byte stream IDs in ascending order.

    How the loader rebuilds a stream's tree and its PELs.  Only the rightmost
    path matters: each new key branches off it at its common prefix with the
    previous key, splitting a compressed node there or adding a child to a
    branch node (rax.c ``raxGenericInsert``).  The compiled scanner has the
    same walk in C.
    """

    WIDTH = 16

    def __init__(self):
        self.nodes = 1          # an empty tree still has its root
        self._path = []         # (start, end, compressed) segments of the rightmost path
        self._prev = None

    def add(self, key):
        """Insert the next (greater) key."""
        width = self.WIDTH
        if self._prev is None:
            self.nodes = 2      # the root becomes one compressed node, plus the leaf
            self._path = [(0, width, True)]
            self._prev = key
            return
        j = 0
        while j < width - 1 and key[j] == self._prev[j]:
            j += 1
        i = 0
        while i < len(self._path) - 1 and not (self._path[i][0] <= j < self._path[i][1]):
            i += 1
        start, end, compressed = self._path[i]
        path = self._path[:i]
        if compressed and end - start >= 2:
            if j > start:                   # trimmed prefix keeps the chars before j
                path.append((start, j, j - start >= 2))
                self.nodes += 1
            if end - j - 1 > 0:             # postfix after the split char
                self.nodes += 1
        path.append((j, j + 1, False))      # the branch node at j
        rest = width - j - 1
        if rest >= 1:                       # new child holding the rest, then the leaf
            path.append((j + 1, width, rest >= 2))
            self.nodes += 2
        else:
            self.nodes += 1
        self._path = path
        self._prev = key


RAX_STRUCT = 32        # sizeof(rax): head, numele, numnodes, alloc_size pointer
RAX_EMPTY_HEAD = 8     # the head node of an empty tree: a 4-byte header, padded


def rax_node_bytes(compressed, n, iskey):
    """Bytes of one radix-tree node (rax.c ``raxNodeCurrentLength``).

    A 4-byte header and ``n`` characters padded to pointer alignment, then
    one child pointer when compressed or ``n`` when not, and a value pointer
    when a key ends at the node (every value rdbscan sizes is non-NULL).
    """
    size = (4 + n + 7) & ~7
    size += 8 if compressed else 8 * n
    return size + (8 if iskey else 0)


class RaxSizer:
    """What a Redis 8.4+ radix tree allocates for keys inserted in ascending order.

    Redis 8.4+ counts a stream's trees by their allocations (``rax->alloc_size``):
    the rax struct and every node at its allocator size class.  Keys
    arriving sorted (how the loader rebuilds them: stream IDs, PEL IDs,
    group and consumer names; 8.4's PEL-by-time keys are sorted first, as
    a radix tree's shape does not depend on the order of its inserts) only
    ever change the rightmost path of the tree; a node that leaves it is
    final and is counted then.  Path entries
    are ``[depth, compressed, n, iskey]``: a compressed node holds ``n``
    characters and one child, a branch node ``n`` children (a one-character
    node is the same size either way).  The compiled scanner has the same
    walk in C.  ``codes``: the allocator codes (rdbscan.model.alloc) to
    count the bytes under, when more than ``quantum16``'s: the tree's shape
    does not depend on them.
    """

    def __init__(self, quantum16=False, null_values=False, codes=None):
        from rdbscan.model.alloc import jemalloc_size
        # Keys inserted with a NULL value (Redis 8.4 pel_by_time) keep no value pointer.
        self._raw = lambda node: rax_node_bytes(node[1], node[2], node[3] and not null_values)
        self._j = jemalloc_size
        self._codes = tuple(codes) if codes is not None else (quantum16,)
        self._q16 = self._codes[0] if codes is not None else quantum16
        self.done = dict.fromkeys(self._codes, 0)   # bytes of the nodes off the rightmost path
        self.path = []
        self._prev = None

    def _final(self, node):
        raw = self._raw(node)
        for code in self._codes:
            self.done[code] += self._j(raw, code)

    def bytes(self, code=None):
        """Bytes so far: the struct, the final nodes and the rightmost path (under allocator ``code``)."""
        code = self._q16 if code is None else code
        if self._prev is None:
            return self._j(RAX_STRUCT, code) + self._j(RAX_EMPTY_HEAD, code)
        return self._j(RAX_STRUCT, code) + self.done[code] + sum(self._j(self._raw(n), code) for n in self.path)

    def add(self, key):
        """Insert the next key, greater than the previous one."""
        prev, self._prev = self._prev, key
        if prev is None:
            self.path = [[0, True, len(key), False]] if key else []
            self.path.append([len(key), False, 0, True])
            return
        j = 0
        limit = min(len(prev), len(key))
        while j < limit and key[j] == prev[j]:
            j += 1
        path = self.path
        if j == len(prev):
            # The previous key is a prefix: its end node grows the rest.
            path[-1][1:3] = [True, len(key) - j]
            path.append([len(key), False, 0, True])
            return
        i = len(path) - 1
        while path[i][0] > j:
            i -= 1
        depth, compressed, n, iskey = path[i]
        for node in path[i + 1:]:                 # the old continuation is final
            self._final(node)
        del path[i + 1:]
        if not compressed or n == 1:
            path[i] = [depth, False, (n if not compressed else 1) + 1, iskey]
        else:
            if depth + n - j - 1 > 0:             # the old remainder, off the path
                self._final([j + 1, True, depth + n - j - 1, False])
            if j > depth:
                path[i] = [depth, True, j - depth, iskey]
                path.append([j, False, 2, False])
            else:
                path[i] = [depth, False, 2, iskey]
        if len(key) > j + 1:
            path.append([j + 1, True, len(key) - j - 1, False])
        path.append([len(key), False, 0, True])
