"""Helpers shared by both scanner twins: header parsing, tables, key text.

Nothing here runs per element; the per-key work lives in the scanners.
"""

from rdbscan.scanner.format import (
    FLAVOR_REDIS, FLAVOR_VALKEY, RAX_LEAF_BYTES, RAX_STRUCT, REDIS_RDB_VERSION_MAX,
    VALKEY_RDB_VERSION_MIN, VALKEY_RDB_VERSION_MAX,
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


def rax_node_bytes(size, compressed):
    """Bytes of a radix-tree node holding ``size`` chars (rax.c ``raxNodeCurrentLength``, no value).

    A 4-byte header, the chars padded so the child pointers align, then one
    child pointer (compressed node) or one per char.
    """
    padding = (8 - (size + 4) % 8) & 7
    return 4 + size + padding + 8 * (1 if compressed else size)


class RaxCounter:
    """A Redis/Valkey radix tree built by inserting fixed-width keys (stream IDs) in ascending order.

    How the loader rebuilds a stream's tree and its PELs.  Only the rightmost
    path matters: each new key branches off it at its common prefix with the
    previous key, splitting a compressed node there or adding a child to a
    branch node (rax.c ``raxGenericInsert``).  Counts the nodes (Redis's
    MEMORY USAGE estimate) and, when ``alloc`` is a size-class function,
    what ``raxAllocSize`` reports (Valkey 8.1+: the tree struct and every
    node's allocation).  The compiled scanner has the same walk in C.
    """

    WIDTH = 16

    def __init__(self, alloc=None, width=WIDTH):
        self.WIDTH = width      # 8 for a Valkey volatile set's bucket keys
        self.nodes = 1          # an empty tree still has its root
        self._path = []         # [start, end, compressed, children] of the rightmost path's nodes
        self._prev = None
        self._J = alloc
        self.alloc = 0 if alloc is None else alloc(RAX_STRUCT) + alloc(rax_node_bytes(0, False))

    def _node(self, start, end, children):
        # Allocation of a path node: compressed when it spans 2+ chars.
        if end - start >= 2:
            return self._J(rax_node_bytes(end - start, True))
        return self._J(rax_node_bytes(children, False))

    def add(self, key):
        """Insert the next (greater) key."""
        width = self.WIDTH
        J = self._J
        if self._prev is None:
            self.nodes = 2      # the root becomes one compressed node of 16 chars, plus the leaf
            self._path = [[0, width, True, 1]]
            self._prev = key
            if J is not None:
                self.alloc += J(rax_node_bytes(width, True)) + J(RAX_LEAF_BYTES) - J(rax_node_bytes(0, False))
            return
        j = 0
        while j < width - 1 and key[j] == self._prev[j]:
            j += 1
        i = 0
        while i < len(self._path) - 1 and not (self._path[i][0] <= j < self._path[i][1]):
            i += 1
        start, end, compressed, children = self._path[i]
        path = self._path[:i]
        if compressed and end - start >= 2:
            # Split the compressed node at j: [trimmed prefix] + branch + [postfix].
            if J is not None:
                self.alloc -= self._node(start, end, 1)
            if j > start:                   # trimmed prefix keeps the chars before j
                path.append([start, j, j - start >= 2, 1])
                self.nodes += 1
                if J is not None:
                    self.alloc += self._node(start, j, 1)
            if end - j - 1 > 0:             # postfix after the split char (leaves the path)
                self.nodes += 1
                if J is not None:
                    self.alloc += self._node(j + 1, end, 1)
            children = 1
        elif J is not None:
            self.alloc -= self._node(j, j + 1, children)
        children += 1
        path.append([j, j + 1, False, children])    # the branch node at j, one more child
        if J is not None:
            self.alloc += self._node(j, j + 1, children)
        rest = width - j - 1
        if rest >= 1:                       # new child holding the rest, then the leaf
            path.append([j + 1, width, rest >= 2, 1])
            self.nodes += 2
            if J is not None:
                self.alloc += self._node(j + 1, width, 1)
        else:
            self.nodes += 1
        if J is not None:
            self.alloc += J(RAX_LEAF_BYTES)
        self._path = path
        self._prev = key
