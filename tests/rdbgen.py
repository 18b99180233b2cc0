"""Small RDB 13-15 dumps written byte by byte (tests/test_formats.py, fuzzing seeds).

Layouts from Redis 8.6.3's rdb.c / keymeta.c and the 8.8/8.10 formats as
Redis' own test payloads and third-party readers write them (README, Formats).
"""

import struct


def length(n):
    """An RDB length: 6-bit, 14-bit, 32-bit or 64-bit big-endian."""
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | n >> 8, n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def string(b):
    """An RDB string: its length, then its bytes."""
    return length(len(b)) + b


def listpack(entries):
    """A listpack of small ints (0-127) and short strings (< 64 bytes)."""
    body = b""
    for e in entries:
        enc = bytes([e]) if isinstance(e, int) else bytes([0x80 | len(e)]) + e
        body += enc + bytes([len(enc)])
    return struct.pack("<IH", 6 + len(body) + 1, len(entries)) + body + b"\xff"


def dump(version, body, magic=b"REDIS"):
    """A whole dump around ``body``: magic, version, EOF and a zero (unchecked) CRC."""
    return magic + b"%04d" % version + body + b"\xff" + b"\x00" * 8


def meta_spec(name, version=1):
    """A KEY_META class spec: four 6-bit characters, a 5-bit version, 3 flag bits."""
    charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    spec = 0
    for c in name:
        spec = spec << 6 | charset.index(c)
    return struct.pack("<I", spec << 8 | version << 3)


def template(tid, fields):
    """A HASH_TEMPLATE record (opcode 242): the id, then the field names."""
    return b"\xf2" + length(tid) + length(len(fields)) + b"".join(string(f) for f in fields)


def stream_value(nack_zone, idmp=True):
    """An empty v4/v5 stream with one group: two pending entries, one owned by consumer "c"."""
    ids = [struct.pack(">QQ", 5, s) for s in (0, 1)]
    when = struct.pack("<q", 1_700_000_000_000)
    group = (string(b"g") + length(5) + length(1) + length(2)            # name, last delivered ID, entries read
             + length(2) + b"".join(i + when + length(1) for i in ids)      # the group PEL
             + length(1) + string(b"c") + when + when + length(1) + ids[0])  # consumer "c" owns the first
    if nack_zone is not None:
        group += length(len(nack_zone)) + b"".join(ids[i] for i in nack_zone)
    value = (length(0) + length(0) + length(5) + length(1) + length(0) * 4 + length(2)   # no nodes; counters
             + length(1) + group)
    if idmp:
        value += length(100) + length(1000) + length(0) + length(0) + length(0)        # IDMP settings, no producers
    return value



def synthetic_seeds():
    """One dump per new record kind, for the fuzzers: KEY_META, arrays, the four
    template hashes with their HASH_TEMPLATE, GCRA, v4/v5 streams."""
    fields = [b"name", b"email"]
    key_meta = (b"\xf3" + length(1) + meta_spec("ABCD") + b"\x02" + length(300) + b"\x05" + string(b"xy") + b"\x00"
                + b"\x00" + string(b"k") + string(b"value"))
    array = (b"\x1c" + string(b"arr") + length(3) + length(1) + length(99)
             + length(0) + length(0) + string(b"hello") + length(5) + length(1) + struct.pack("<q", -7)
             + length(6) + length(2) + struct.pack("<d", 0.25))
    hashes = (template(7, fields)
              + b"\x20" + string(b"u1") + length(7) + string(b"ann") + string(b"a@x")
              + b"\x1e" + string(b"u2") + string(listpack([7, b"bob", b"b@x"]))
              + b"\x1f" + string(b"u3") + length(3) + length(1) + string(b"f") + string(b"v")
              + b"\x1d" + string(b"u4") + length(3) + string(listpack([b"f"])) + string(listpack([3, b"v"])))
    gcra = b"\x21" + string(b"limiter") + length(1_700_000_000_000)
    return [dump(13, b"\xfe\x00" + key_meta + b"\x1a" + string(b"s") + stream_value(None)),
            dump(14, b"\xfe\x00" + array + b"\x1b" + string(b"s") + stream_value([1])),
            dump(15, b"\xfe\x00" + hashes + gcra)]
