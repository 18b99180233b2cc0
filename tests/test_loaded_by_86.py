"""``--target-version 8.6`` against what a real Redis 8.6.3 answered after loading older dumps.

fixtures/loaded-by-redis-8.6.3/<fixture>/truth.jsonl holds, for the Redis 7.x
and Valkey 7.2/8.0 fixture dumps, what a Redis 8.6.3 server (built from the
release's own tree) answered for every key once it had loaded them: OBJECT
ENCODING, MEMORY USAGE ... SAMPLES 0, the length, the TTL
(tests/tools/redis86_truth.py wrote it; its README says how).  The what-if
estimate must equal it, to the tolerances of tests/test_memory.py.

With RDBSCAN_REDIS86 pointing at such a redis-server binary, the last tests
also run the real thing: they record one fixture's truth again and write,
save and reload the edge-case dump, and compare rdbscan with the live
answers.  They are opt-in (the build takes minutes; CI checks the committed
truth): skipped without the variable, failed when it names no binary.
"""

import hashlib
import json
import os
import pathlib

import pytest

import rdbscan
from conftest import FIXTURES, dump_path, key_bytes_of

LOADED = FIXTURES / "loaded-by-redis-8.6.3"
NAMES = sorted(p.name for p in LOADED.iterdir() if (p / "truth.jsonl").exists())
SKIPLIST_TOLERANCE = 0.08       # random node levels, as in tests/test_memory.py


def read_truth(path):
    """truth.jsonl rows keyed by (db, key bytes)."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            rows[(row["db"], bytes.fromhex(row["key_hex"]))] = row
    return rows


def reencoded_set(row, truth):
    """A plain set (RDB type 2, Redis 7.0 dumps) that 8.6 loads into a listpack it builds
    element by element: listpack re-encoding sizes are not modelled yet (README, Memory)."""
    return row["rdb_type"] == 2 and truth["encoding"] == "listpack"


def compare(name, truth):
    """(rows, keys off the memory truth beyond tolerance, keys whose encoding differs)."""
    rows = rdbscan.read_table(dump_path(name), target="8.6").to_pylist()
    off, wrong_encoding = [], []
    for r in rows:
        t = truth[(r["db"], key_bytes_of(r))]
        if r["encoding"] != t["encoding"]:
            wrong_encoding.append((r["key"], r["encoding"], t["encoding"]))
        if reencoded_set(r, t):
            continue
        limit = SKIPLIST_TOLERANCE if t["encoding"] == "skiplist" else 0.0
        if r["memory_bytes"] is None or abs(r["memory_bytes"] - t["memory_usage"]) > limit * t["memory_usage"]:
            off.append((r["key"], r["encoding"], r["memory_bytes"], t["memory_usage"]))
    return rows, off, wrong_encoding


def test_the_loaded_truth_covers_redis_7_and_valkey():
    assert {n.rsplit("-", 1)[0] if n.endswith(("-lfu", "-lru", "-cluster")) else n for n in NAMES} >= {
        "redis-7.0.15", "redis-7.2.6", "redis-7.4.1", "valkey-7.2.7", "valkey-8.0.1"}
    for name in NAMES:
        server = json.loads((LOADED / name / "server.json").read_text())
        assert server["redis_version"] == "8.6.3" and server["mem_allocator"] == "jemalloc-5.3.0"
        assert hashlib.sha256(dump_path(name).read_bytes()).hexdigest() == server["source_sha256"]


@pytest.mark.parametrize("name", NAMES)
def test_target_86_equals_a_real_86(name):
    truth = read_truth(LOADED / name / "truth.jsonl")
    rows, off, wrong_encoding = compare(name, truth)
    assert {(r["db"], key_bytes_of(r)) for r in rows} == set(truth)
    assert not wrong_encoding, wrong_encoding[:5]
    assert not off, f"{name}: {len(off)} keys off: {off[:5]}"
    # Most keys are exact, not merely within the skiplist tolerance.
    exact = sum(r["memory_bytes"] == truth[(r["db"], key_bytes_of(r))]["memory_usage"] for r in rows)
    gaps = sum(reencoded_set(r, truth[(r["db"], key_bytes_of(r))]) for r in rows)
    assert exact >= len(rows) - gaps - 3, (exact, len(rows), gaps)


def test_the_86_target_is_not_the_80_one():
    # The targets differ where the releases do: the 8.0 layout is off for most keys.
    name = "redis-7.4.1"
    truth = read_truth(LOADED / name / "truth.jsonl")
    as_80 = rdbscan.read_table(dump_path(name), target="8.0").to_pylist()
    exact_80 = sum(r["memory_bytes"] == truth[(r["db"], key_bytes_of(r))]["memory_usage"] for r in as_80)
    assert exact_80 < 0.6 * len(as_80)


# ---------------------------------------------------------------- the real server, opt-in

SERVER = os.environ.get("RDBSCAN_REDIS86")
live = pytest.mark.skipif(not SERVER, reason="set RDBSCAN_REDIS86 to a Redis 8.6.3 redis-server to run")


@pytest.fixture(scope="module")
def tool():
    if not os.path.isfile(SERVER or "") or not os.access(SERVER, os.X_OK):
        pytest.fail(f"RDBSCAN_REDIS86={SERVER!r} is not a redis-server binary (build it: "
                    "fixtures/loaded-by-redis-8.6.3/README.md)", pytrace=False)
    import sys
    sys.path.insert(0, str(pathlib.Path(__file__).parent / "tools"))
    import redis86_truth
    return redis86_truth


@live
def test_live_loaded_truth_matches_the_committed_one(tool, tmp_path):
    tool.record(SERVER, dump_path("redis-7.4.1"), tmp_path)
    again = read_truth(tmp_path / "truth.jsonl")
    committed = read_truth(LOADED / "redis-7.4.1" / "truth.jsonl")
    assert again.keys() == committed.keys()
    for k, row in again.items():
        if row["encoding"] != "skiplist":       # random levels
            assert row["memory_usage"] == committed[k]["memory_usage"], k


@live
def test_live_edge_dump(tool, tmp_path):
    out = tmp_path / "redis-8.6.3-edge"

    class Args:
        server = SERVER

    Args.out = str(out)
    tool.edge(Args)
    truth = read_truth(out / "truth.jsonl")
    rows = rdbscan.read_table(out / "dump.rdb").to_pylist()
    assert len(rows) == len(truth) > 50
    for r in rows:
        t = truth[(r["db"], key_bytes_of(r))]
        assert (r["type"], r["encoding"], r["length"]) == (t["type"], t["encoding"], t["length"]), r["key"]
        limit = SKIPLIST_TOLERANCE if t["encoding"] == "skiplist" else 0.0
        assert abs(r["memory_bytes"] - t["memory_usage"]) <= limit * t["memory_usage"], r["key"]
