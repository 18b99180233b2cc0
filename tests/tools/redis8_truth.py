"""Record what a real Redis 8.x server answers, for the fixtures the tests compare against.

Two jobs, both driven by a redis-server binary built from a release's own
tree (Redis 8.6.3 and 8.4.0 so far; fixtures/loaded-by-redis-8.6.3/README.md
says how they were built):

``loaded``  loads older fixture dumps (Redis 7.x, Valkey 7.2/8.0) into that
            server and records, per key, what it answers: the truth behind
            ``--target-version 8.6`` (or 8.4).  Writes
            OUT/<fixture>/truth.jsonl and server.json; OUT defaults to
            fixtures/loaded-by-redis-<version>.

``edge``    writes a dump with what the generated fixtures lack (streams whose
            groups share pending entries, IDMP producers from 8.6 on, consumer
            names that are prefixes of each other or integers, keys of 128
            bytes and more, the embstr boundary on both sides, hash fields
            around the 128-byte entry limit, big members and values), saves it,
            reloads it and records the truth in the fixtures' truth.jsonl
            format.  OUT defaults to fixtures/redis-<version>-edge.

The server is loaded as a replica of 127.0.0.1:1 (nothing listens there), so
that keys whose TTL has passed since a fixture was made stay loaded, with
active expiry off and expired keys readable (DEBUG SET-ALLOW-ACCESS-EXPIRED):
the point is the memory of every key in the dump.  A server without that
DEBUG subcommand (8.0) runs under libfaketime (``apt-get install
libfaketime``) with its clock set before the dump's earliest TTL instead.  ``MEMORY USAGE ... SAMPLES
0`` is asked before any other command touches the key.

    python tests/tools/redis8_truth.py loaded --server PATH/redis-server [--out DIR] [FIXTURE ...]
    python tests/tools/redis8_truth.py edge --server PATH/redis-server [--out DIR]
"""

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "fixtures"
LOADED = [
    "redis-7.0.15", "redis-7.0.15-cluster", "redis-7.0.15-lfu", "redis-7.0.15-lru", "redis-7.2.6",
    "redis-7.4.1", "redis-7.4.1-cluster", "redis-7.4.1-lfu", "redis-7.4.1-lru", "redis-unstable",
    "valkey-7.2.7", "valkey-8.0.1", "valkey-8.0.1-cluster", "valkey-8.0.1-lfu", "valkey-8.0.1-lru",
]
LENGTH = {"string": "STRLEN", "list": "LLEN", "set": "SCARD", "zset": "ZCARD", "hash": "HLEN",
          "stream": "XLEN"}
FAR = 4102444800000          # 2100-01-01 in ms: TTLs that cannot run out while recording


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


class NoExpiredAccess(Exception):
    """The server cannot be told to read expired keys."""


class Server:
    """A redis-server on loopback in its own directory; a replica of nothing when ``frozen``.

    ``clock`` (ms since the epoch) starts the server's clock there, by libfaketime.
    """

    def __init__(self, binary, directory, frozen=False, clock=None):
        self.port = free_port()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(directory),
                "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
                "--enable-debug-command", "local", "--protected-mode", "no"]
        if frozen:
            args += ["--replicaof", "127.0.0.1", "1"]
        env = None
        if clock is not None:
            if not os.path.exists(FAKETIME):
                raise SystemExit(f"{FAKETIME} is missing: apt-get install libfaketime")
            env = dict(os.environ, LD_PRELOAD=FAKETIME, FAKETIME_DONT_FAKE_MONOTONIC="1",
                       FAKETIME="@" + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(clock / 1000)), TZ="UTC")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.client.ping() and not self.client.info("persistence")["loading"]:
                    break
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{binary} did not start (exit {self.proc.poll()})")
            time.sleep(0.05)
        if frozen:
            self.client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            if clock is None:
                try:
                    self.client.execute_command("DEBUG", "SET-ALLOW-ACCESS-EXPIRED", "1")
                except redis.ResponseError:
                    self.stop()
                    raise NoExpiredAccess() from None

    def stop(self):
        """Terminate the server and wait for it."""
        self.proc.terminate()
        self.proc.wait(30)


def keys_of(client):
    """(db, key) of every key, by SCAN in each database that has keys."""
    out = []
    for db in client.info("keyspace"):
        n = int(db[2:])
        client.execute_command("SELECT", n)
        for key in client.scan_iter(count=1000):
            out.append((n, key))
    return sorted(out)


def key_truth(client, db, key, full=False):
    """One truth.jsonl row: MEMORY USAGE first, then the rest."""
    client.execute_command("SELECT", db)
    memory = client.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0")
    typ = client.type(key).decode()
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    expire = client.execute_command("PEXPIRETIME", key)
    row = {"db": db, "key_hex": key.hex(), "key": text, "type": typ,
           "encoding": client.object("encoding", key).decode(), "memory_usage": memory,
           "length": client.execute_command(LENGTH[typ], key) if typ in LENGTH else None,
           "expire_at_ms": expire if expire >= 0 else None,
           "refcount": client.object("refcount", key)}
    if not full:
        return row
    payload = client.dump(key)
    row["rdb_type"] = payload[0]
    row["rdb_value_bytes"] = len(payload) - 10
    if typ == "stream":
        groups = client.xinfo_groups(key)
        row["stream"] = {"groups": len(groups), "consumers": sum(g["consumers"] for g in groups),
                         "pending": sum(g["pending"] for g in groups)}
    if typ == "hash" and row["rdb_type"] in (24, 25):
        fields = client.hkeys(key)
        ttls = client.execute_command("HPEXPIRETIME", key, "FIELDS", len(fields), *fields)
        row["hfe_fields_with_ttl"] = sum(1 for t in ttls if t >= 0)
    return row


def earliest_ttl(dump):
    """The dump's earliest key expiry, in ms since the epoch (None without TTLs)."""
    sys.path.insert(0, str(ROOT))
    import rdbscan
    import pyarrow.compute as pc
    expire = pc.min(rdbscan.read_table(dump)["expire_at"]).as_py()
    return None if expire is None else int(expire.timestamp() * 1000)


def record(binary, dump, out, full=False):
    """Load ``dump`` into a frozen server and write out/truth.jsonl; returns the server facts."""
    with tempfile.TemporaryDirectory(prefix="rdb13-") as tmp:
        shutil.copy(dump, pathlib.Path(tmp) / "dump.rdb")
        clock = None
        try:
            server = Server(binary, tmp, frozen=True)
        except NoExpiredAccess:
            first = earliest_ttl(dump)
            clock = min(first - 3600_000, int(time.time() * 1000)) if first else int(time.time() * 1000)
            server = Server(binary, tmp, frozen=True, clock=clock)
        try:
            client = server.client
            rows = [key_truth(client, db, key, full) for db, key in keys_of(client)]
            info = client.info("server")
            info.update(client.info("memory"))
            keyspace = client.info("keyspace")
        finally:
            server.stop()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "truth.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True) + "\n")
    return {"redis_version": info["redis_version"], "redis_build_id": info["redis_build_id"],
            "loaded_as": "replica of 127.0.0.1:1, active expiry off, " + (
                "expired keys readable" if clock is None else
                f"clock set by libfaketime to {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(clock / 1000))}, "
                "an hour before the dump's earliest TTL"),
            "mem_allocator": info["mem_allocator"], "keys": len(rows),
            "dbsize": {k[2:]: v["keys"] for k, v in keyspace.items()},
            "expires_count": {k[2:]: v["expires"] for k, v in keyspace.items()}}


def loaded(args):
    """The ``loaded`` job."""
    out = pathlib.Path(args.out)
    for name in args.fixtures or LOADED:
        dump = FIXTURES / name / "dump.rdb"
        facts = record(args.server, dump, out / name)
        facts.update({"source": f"fixtures/{name}/dump.rdb",
                      "source_sha256": hashlib.sha256(dump.read_bytes()).hexdigest()})
        (out / name / "server.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
        print(f"{name}: {facts['keys']} keys")


def server_version(binary):
    """(major, minor, patch) of a redis-server binary, from ``--version``."""
    text = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(x) for x in text.split("v=", 1)[1].split()[0].split("."))


def build_edge(c, version=(8, 6, 3)):
    """The edge-case dataset (see the module docstring)."""
    idmp = version >= (8, 6)
    if idmp:
        c.config_set("stream-idmp-duration", 86400)
    # Strings: the embstr boundary (key + value <= 41 bytes embeds), both sides,
    # type-5 and type-8 raw values, keys around 128 bytes, with and without TTL.
    for klen in (1, 8, 20, 31, 32, 40, 41):
        for i, vlen in enumerate(sorted({0, 1, 41 - klen, 42 - klen, 31, 32, 44, 45})):
            c.set(bytes([97 + i]) * klen, b"v" * vlen)
    for klen in (126, 127, 128, 129, 300):
        key = b"L" * klen
        c.set(key + b":int", 12345)
        c.set(key + b":str", b"x" * 10)
        c.set(key + b":ttl", b"y" * 50, pxat=FAR)
        c.set(b"t%d" % klen, b"z" * 20, pxat=FAR)
    c.set(b"", b"")
    c.set(b"int:ttl", 7, pxat=FAR)
    c.set(b"big:value", b"q" * 70000)
    # Hashes: fields and values around the 128-byte entry limit, long fields,
    # empty ones, a value past 4 KB, field TTLs on a big and a small hashtable.
    fields = {}
    for f in (0, 1, 30, 31, 32, 100, 127, 128, 200):
        for v in (0, 1, 31, 32, 60, 90, 95, 124, 130, 5000):
            fields[b"f" * f + b"%d:%d" % (f, v) if f else b"%d" % v] = b"v" * v
    c.hset(b"hash:edge", mapping=fields)
    for i in range(600):
        c.hset(b"hash:ttl:big", b"field:%d" % i, b"value:%d" % i)
    c.execute_command("HPEXPIREAT", b"hash:ttl:big", FAR, "FIELDS", 100,
                      *[b"field:%d" % i for i in range(0, 600, 6)])
    c.hset(b"hash:ttl:small", mapping={b"a": b"1", b"b" * 40: b"2" * 100, b"c": b"3"})
    c.execute_command("HPEXPIREAT", b"hash:ttl:small", FAR, "FIELDS", 2, b"a", b"b" * 40)
    # Sets and sorted sets with empty, 31/32-byte and past-4 KB members.
    c.sadd(b"set:edge", b"", b"a" * 31, b"b" * 32, b"c" * 5000, *[b"m%d" % i for i in range(200)])
    c.zadd(b"zset:edge", {b"": 1, b"a" * 31: 2, b"b" * 32: 3, b"c" * 5000: 4,
                          **{b"m%d" % i: i for i in range(200)}})
    # Lists with plain nodes.
    c.rpush(b"list:plain", b"head", b"P" * 20000, b"tail")
    # Streams: groups sharing pending entries, names that are prefixes of
    # each other and integers, IDMP producers.
    for i in range(250):
        c.xadd(b"stream:groups", {b"n": i}, id=b"%d-%d" % (1700000000000 + i // 3, i % 3))
    for group in (b"g1", b"g2", b"g3", b"group-long-name-" + b"x" * 40):
        c.xgroup_create(b"stream:groups", group, id="0")
    for group, consumers in ((b"g1", (b"bob", b"bobby", b"b", b"123")), (b"g2", (b"alice", b"al")),
                             (b"g3", (b"c" * 60,))):
        for j, consumer in enumerate(consumers):
            c.xreadgroup(group, consumer, {b"stream:groups": ">"}, count=20 + 7 * j)
    c.xack(b"stream:groups", b"g2", b"1700000000000-0", b"1700000000001-1")
    if not idmp:
        return
    for p in range(3):
        for i in range(5 + p):
            c.execute_command("XADD", b"stream:idmp", "IDMP", b"producer-%d" % p, b"iid-%d-%d" % (p, i),
                              "*", "f", i)
    c.execute_command("XADD", b"stream:idmp", "IDMPAUTO", b"auto", "*", "f", "auto")


def edge(args):
    """The ``edge`` job."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rdb13-") as tmp:
        server = Server(args.server, tmp)
        try:
            build_edge(server.client, server_version(args.server))
            server.client.save()
            info = server.client.info("server")
        finally:
            server.stop()
        shutil.copy(pathlib.Path(tmp) / "dump.rdb", out / "dump.rdb")
    facts = record(args.server, out / "dump.rdb", out, full=True)
    data = (out / "dump.rdb").read_bytes()
    facts.update({
        "name": out.name, "server_flavor": "redis", "server_version": info["redis_version"],
        "rdb_magic": data[:9].decode(), "rdb_version": int(data[5:9]), "dump_bytes": len(data),
        "dump_sha256": hashlib.sha256(data).hexdigest(), "cluster_enabled": False,
        "generator": "tests/tools/redis8_truth.py edge",
        "info_server": {"redis_build_id": info["redis_build_id"]}})
    (out / "server.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    print(f"{out}: {facts['keys']} keys")


def main():
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="job", required=True)
    one = sub.add_parser("loaded")
    one.add_argument("--server", required=True)
    one.add_argument("--out")
    one.add_argument("fixtures", nargs="*")
    two = sub.add_parser("edge")
    two.add_argument("--server", required=True)
    two.add_argument("--out")
    args = parser.parse_args()
    if not os.access(args.server, os.X_OK):
        sys.exit(f"{args.server}: not an executable redis-server")
    if args.out is None:
        release = ".".join(map(str, server_version(args.server)))
        args.out = str(FIXTURES / (f"loaded-by-redis-{release}" if args.job == "loaded"
                                   else f"redis-{release}-edge"))
    (loaded if args.job == "loaded" else edge)(args)


if __name__ == "__main__":
    main()
