"""Fresh dumps from a real redis-server: big values, many quicklist nodes, LZF, streams.

The bundled fixtures are small; here a local Debian redis-server builds keys
far past every listpack threshold and one value of tens of megabytes, saves,
and the scan is checked against what that server answers about each key.
"""

import os

import pytest

import rdbscan
from servers import running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server for the big-value dump."""
    d = tmp_path_factory.mktemp("redis")
    with running_server(d) as client:
        yield client, d


@pytest.fixture(scope="module")
def big_dump(server):
    client, d = server
    client.flushall()
    pipe = client.pipeline(transaction=False)
    pipe.set("big:string", os.urandom(8 << 20) + b"x" * (24 << 20))   # 32 MiB, partly compressible
    for i in range(0, 120_000, 2000):
        pipe.hset("big:hash", mapping={f"field:{j}": f"value-{j}" for j in range(i, i + 2000)})
        pipe.rpush("big:list", *[f"item-{j}" for j in range(i, i + 2000)])
        pipe.zadd("big:zset", {f"member-{j}": j * 0.5 for j in range(i, i + 2000)})
        pipe.sadd("big:set", *[f"m{j}" for j in range(i, i + 2000)])
        pipe.sadd("big:intset", *range(i, i + 2000))
    pipe.rpush("list:onelong", "a" * 100_000)
    pipe.set("small:int", 12345)
    pipe.set("lzf:key:" + "k" * 60, "v")
    pipe.execute()
    for i in range(5000):
        pipe.xadd("big:stream", {"user": i, "action": "click" * (i % 7)})
    pipe.execute()
    client.xgroup_create("big:stream", "g1", id="0")
    client.xreadgroup("g1", "c1", {"big:stream": ">"}, count=300)
    client.xreadgroup("g1", "c2", {"big:stream": ">"}, count=200)
    client.expire("big:hash", 3600)
    client.save()
    return client, d / "dump.rdb"


def _truth(client, key):
    t = client.type(key).decode()
    length = {"string": client.strlen, "list": client.llen, "set": client.scard, "zset": client.zcard,
              "hash": client.hlen, "stream": client.xlen}[t](key)
    return {"type": t, "encoding": client.object("encoding", key).decode(), "length": length,
            "serialized_bytes": len(client.dump(key)) - 10,
            "expire_ms": client.pexpiretime(key)}


def test_every_key_matches_the_live_server(big_dump):
    client, path = big_dump
    rows = rdbscan.read_table(path).to_pylist()
    assert {r["key"] for r in rows} == {k.decode() for k in client.keys("*")}
    for r in rows:
        t = _truth(client, r["key"])
        assert r["type"] == t["type"], r["key"]
        assert r["length"] == t["length"], r["key"]
        assert r["serialized_bytes"] == t["serialized_bytes"], r["key"]
        assert r["encoding"] == t["encoding"], r["key"]
        got_exp = -1 if r["expire_at"] is None else int(r["expire_at"].timestamp() * 1000)
        assert got_exp == t["expire_ms"], r["key"]


def test_big_value_facts(big_dump):
    client, path = big_dump
    rows = {r["key"]: r for r in rdbscan.read_table(path).to_pylist()}
    assert rows["big:string"]["max_element_bytes"] == 32 << 20
    assert rows["list:onelong"]["max_element_bytes"] == 100_000
    assert rows["big:hash"]["max_element_bytes"] == len("value-119999")
    assert rows["big:list"]["encoding"] == "quicklist"
    s = client.xinfo_stream("big:stream")
    groups = client.xinfo_groups("big:stream")
    assert rows["big:stream"]["stream_groups"] == len(groups)
    assert rows["big:stream"]["stream_pending"] == sum(g["pending"] for g in groups) == 500
    assert rows["big:stream"]["stream_consumers"] == 2
    assert rows["big:stream"]["length"] == s["length"]


def test_twins_agree_on_the_big_dump(big_dump):
    _, path = big_dump
    from rdbscan.scanner.pyscanner import Scanner as Py
    from rdbscan.scanner._scanner import Scanner as C
    results = []
    for cls in (C, Py):
        with open(path, "rb", buffering=0) as f:
            sc = cls(f, 4096, True)
            out = []
            while (b := sc.next_batch()) is not None:
                out.append(b)
            results.append((out, sc.meta))
    assert results[0] == results[1]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A dump of small listpack/intset collections, and what a server with zero
    listpack/intset limits answers after loading it (it converts them all)."""
    d = tmp_path_factory.mktemp("convert")
    limits = ["--hash-max-listpack-entries", "0", "--zset-max-listpack-entries", "0",
              "--set-max-intset-entries", "0"]
    with running_server(d) as client:
        for i in range(40):
            client.hset(f"h:{i}", mapping={f"field-{j}": "v" * (j * 7 % 50) for j in range(i % 9 + 1)})
            client.zadd(f"z:{i}", {f"member-{j}-" + "m" * (j * 5 % 40): j for j in range(i % 7 + 1)})
            client.sadd(f"s:{i}", *range(i * 10, i * 10 + i % 11 + 1))
        client.save()
    with running_server(d, *limits) as client:
        truth = {key.decode(): (client.object("encoding", key).decode(), client.memory_usage(key, samples=0))
                 for key in client.keys("*")}
    conf = d / "redis.conf"
    conf.write_text("hash-max-listpack-entries 0\nzset-max-listpack-entries 0\nset-max-intset-entries 0\n")
    return d / "dump.rdb", conf, truth


def test_config_conversions_match_a_converting_server(converted):
    # Listpacks and intsets that a lower threshold turns into hashtables and
    # skiplists on load: the scanner sizes their elements from the blobs.
    path, conf, truth = converted
    rows = rdbscan.read_table(path, config=conf, allocator="jemalloc-16").to_pylist()
    assert {r["key"] for r in rows} == set(truth)
    for r in rows:
        encoding, usage = truth[r["key"]]
        assert r["encoding"] == encoding, r["key"]
        if encoding == "skiplist":
            assert abs(r["memory_bytes"] - usage) <= 0.15 * usage, (r["key"], r["memory_bytes"], usage)
        else:
            assert r["memory_bytes"] == usage, (r["key"], r["memory_bytes"], usage)
