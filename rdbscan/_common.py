"""Helpers shared by both scanner twins: header parsing, tables, key text.

Nothing here runs per element; the per-key work lives in the scanners.
"""

from rdbscan.format import (
    FLAVOR_REDIS, FLAVOR_VALKEY, REDIS_RDB_VERSION_MAX, VALKEY_RDB_VERSION_MIN,
    VALKEY_RDB_VERSION_MAX,
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


def record_aux(meta, key, value):
    """Store one AUX field in ``meta``.

    Valkey 8 writes cluster slot counts as repeated ``slot-info`` fields
    ("slot,keys,expires"); those join ``meta["slot_info"]`` instead of
    overwriting each other.
    """
    name = key.decode("utf-8", "backslashreplace")
    if name == "slot-info":
        parts = value.decode("ascii", "replace").split(",")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            meta["slot_info"].append([int(p) for p in parts])
            return
    meta["aux"][name] = aux_value(value)



def jemalloc_size(n, quantum16=False):
    """Usable size of a jemalloc allocation of ``n`` bytes (8- or 16-byte quantum).

    With the 8-byte quantum Redis bundles: multiples of 8 up to 64, then
    four classes per power of two; with the 16-byte quantum of distribution
    builds: multiples of 16 up to 128, then the same.
    """
    if n <= 8:
        return 8
    if quantum16:
        if n <= 128:
            return (n + 15) & ~15
    elif n <= 64:
        return (n + 7) & ~7
    delta = 1 << ((n - 1).bit_length() - 1 - 2)
    return (n + delta - 1) & ~(delta - 1)


def rax_nodes(keys):
    """Estimated nodes of a radix tree of ``keys`` stream IDs (fitted on real servers' trees)."""
    if keys == 0:
        return 1
    if keys == 1:
        return 2
    return 2 * keys + (keys - 2) // 2
