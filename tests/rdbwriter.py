"""A small RDB writer for hand-built test dumps (what no real server of ours can write).

Written from the format (``rdb.c``: ``rdbSaveLen``, ``rdbSaveRawString``,
``rdbSaveMillisecondTime``), independently of rdbscan's reader, with its own
bitwise CRC64 (Jones polynomial, reflected), so that a dump built here tests
the scanners rather than mirroring them.
"""

import struct

_POLY = 0x95AC9329AC4BC9B5


def crc64(data, crc=0):
    """Redis/Valkey CRC64 (Jones), bit by bit: slow and obviously right."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (_POLY if crc & 1 else 0)
    return crc


def length(n):
    """An RDB length (6-bit, 14-bit, 32-bit or 64-bit form)."""
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def string(s):
    """A raw RDB string (no integer or LZF encoding)."""
    s = s.encode() if isinstance(s, str) else s
    return length(len(s)) + s


def ms(t):
    """An 8-byte little-endian millisecond time (-1: none)."""
    return struct.pack("<q", t)


class Dump:
    """Records appended in order; :meth:`bytes` adds EOF and the CRC64."""

    def __init__(self, magic="VALKEY080"):
        self.parts = [magic.encode()]

    def aux(self, key, value):
        self.parts.append(b"\xfa" + string(key) + string(str(value)))
        return self

    def select(self, db):
        self.parts.append(b"\xfe" + length(db))
        return self

    def raw(self, data):
        self.parts.append(data)
        return self

    def key(self, rdb_type, key, payload, expire_ms=None):
        if expire_ms is not None:
            self.parts.append(b"\xfc" + ms(expire_ms))
        self.parts.append(bytes([rdb_type]) + string(key) + payload)
        return self

    def string_key(self, key, value, expire_ms=None):
        return self.key(0, key, string(value), expire_ms)

    def hash(self, key, pairs, expire_ms=None):
        """Type 4: a plain hash."""
        body = length(len(pairs)) + b"".join(string(f) + string(v) for f, v in pairs)
        return self.key(4, key, body, expire_ms)

    def hash_2(self, key, triples, expire_ms=None):
        """Valkey type 22: (field, value, expiry ms or -1) triples."""
        body = length(len(triples)) + b"".join(string(f) + string(v) + ms(e) for f, v, e in triples)
        return self.key(22, key, body, expire_ms)

    def path_hash(self, key, paths, expire_ms=None):
        """Valkey 9.2 type 23: [paths], then per path [path][fields] and field/value pairs."""
        body = length(len(paths))
        for path, pairs in paths:
            body += string(path) + length(len(pairs)) + b"".join(string(f) + string(v) for f, v in pairs)
        return self.key(23, key, body, expire_ms)

    def update(self, *args):
        """Valkey 9.2 opcode 242: an inline replication command as RESP."""
        resp = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            resp += b"$%d\r\n%s\r\n" % (len(a), a)
        self.parts.append(b"\xf2" + resp)
        return self

    def slot_import(self, job, ranges):
        """Valkey 9 opcode 243: a slot import under way (40-byte job name, slot ranges)."""
        body = string(job) + length(len(ranges)) + b"".join(length(a) + length(b) for a, b in ranges)
        self.parts.append(b"\xf3" + body)
        return self

    def bytes(self):
        data = b"".join(self.parts) + b"\xff"
        return data + struct.pack("<Q", crc64(data))


def valkey_hfe_dump(ctime):
    """A Valkey 9 dump of hashes with field TTLs, some already past at ``ctime`` (seconds)."""
    past, future = ctime * 1000 - 1, ctime * 1000 + 3_600_000
    return (Dump().aux("valkey-ver", "9.1.0").aux("ctime", ctime).select(0)
            .hash_2("h", [("a", "1", -1), ("b", "x", past), ("c", "y", future), ("d", "z" * 100, 500)])
            .hash_2("gone", [("e", "1", 1000), ("f", "2", past)])
            .hash_2("edge", [("g", "1", ctime * 1000)])
            .hash("persisted", [("f1", "v1"), ("f2", "12")])
            .bytes())


def valkey_grown_dump(ctime):
    """A Valkey 9.1 dump of tables not pre-sized for what they hold: volatile sets past one
    vector (fields with TTLs spread out, in one 16 ms window, 1 ms apart) and plain hashes
    whose long value comes after some short pairs (the loader starts a listpack)."""
    import random
    rng = random.Random(3)
    ahead = (ctime + 86400) * 1000
    d = Dump().aux("valkey-ver", "9.1.0").aux("ctime", ctime).select(0)
    d.hash_2("vs:spread", [(f"f{i}", "v", ahead + rng.randrange(30 * 86_400_000)) for i in range(200)])
    d.hash_2("vs:same", [(f"f{i}", "v", ahead) for i in range(200)])
    d.hash_2("vs:ms", [(f"f{i}", "v", ahead + i) for i in range(300)])
    d.hash_2("vs:week", [(f"field:{i}", "x" * 10, ahead + rng.randrange(7 * 86_400_000)) for i in range(1000)])
    d.hash_2("vs:130", [(f"f{i}", "v", ahead + i * 1000) for i in range(130)]
             + [("gone", "v", ctime * 1000 - 1), ("kept", "v", -1)])
    for n, k in ((7, 3), (40, 13), (121, 60), (200, 100)):
        d.hash(f"mid:{n}:{k}", [(f"f{i}", "L" * 100 if i == k else "v") for i in range(n)])
    return d.bytes()


def valkey_81_dump(ctime):
    """A Valkey 9.2 (RDB 81) dump: a slot import, a path hash, an inline UPDATE command, a string."""
    return (Dump("VALKEY081").aux("valkey-ver", "9.2.0").aux("ctime", ctime).select(0)
            .slot_import("j" * 40, [(0, 99), (500, 500)])
            .path_hash("ph", [("", [("w1", "gpu0")]), ("/a/b", [("w1", "x"), ("w2", "yy")])])
            .update("SET", "k", "v")
            .string_key("s", "hello")
            .bytes())
