"""memory_bytes against the server's own MEMORY USAGE ... SAMPLES 0, per type and encoding.

The tolerances are the model's current accuracy: a change that loosens it
fails here.  Exact groups must stay exact.
"""

import pytest

import rdbscan
from conftest import FIXTURE_NAMES, dump_path, key_bytes_of, load_truth, model_options

WITH_MEMORY = [n for n in FIXTURE_NAMES
               if any(t["memory_usage"] is not None for t in load_truth(n).values())]

# Largest |estimate - truth| / truth allowed per encoding.
TOLERANCE = {
    "int": 0.0, "embstr": 0.0, "raw": 0.0, "listpack": 0.0, "ziplist": 0.0, "intset": 0.0,
    "listpackex": 0.0, "quicklist": 0.0, "hashtable": 0.0,
    # Random skiplist levels: the model uses the expected node size.
    "skiplist": 0.08,
    "stream": 0.0, "unknown": 0.0,
}


@pytest.fixture(scope="module", params=WITH_MEMORY)
def compared(request):
    name = request.param
    truth = load_truth(name)
    rows = rdbscan.read_table(dump_path(name), **model_options(name)).to_pylist()
    return name, [(r, truth[(r["db"], key_bytes_of(r))]["memory_usage"]) for r in rows]


def test_per_encoding_tolerance(compared):
    name, pairs = compared
    for r, truth in pairs:
        limit = TOLERANCE[r["encoding"]]
        if name.startswith("valkey-8") and r["type"] == "set" and r["encoding"] == "hashtable":
            limit = 0.02    # Valkey 8 set members own an entry only on bucket collisions: expected count
        if name.startswith("valkey-unstable") and r["encoding"] == "hashtable":
            limit = 0.02    # Valkey 8.1+ hashtables: child buckets of overfull chains are an expectation
        if name == "valkey-unstable" and r["key"] == "zset:long-member":
            limit = 0.09    # 2 nodes; the 90-byte member's drew level 6 (p = 0.07 %): 224 bytes, not 128
        if name == "redis-4.0.14" and r["key"] == "set:mixed":
            limit = 0.09    # 4.0 grows this set from an intset: its bucket array is not modelled
        assert r["memory_bytes"] is not None, r["key"]
        assert abs(r["memory_bytes"] - truth) <= limit * truth, (name, r["key"], r["encoding"],
                                                                 r["memory_bytes"], truth)


def test_most_keys_exact(compared):
    name, pairs = compared
    exact = sum(1 for r, truth in pairs if r["memory_bytes"] == truth)
    assert len(pairs) - exact <= max(1, 0.05 * len(pairs)), f"{name}: {exact} of {len(pairs)} exact"


def test_allocator_matters():
    # The same dump, measured with the wrong allocator, is no longer exact:
    # the option is not decoration.
    name = "redis-7.0.15"
    truth = load_truth(name)
    rows = rdbscan.read_table(dump_path(name), allocator="jemalloc").to_pylist()
    exact = sum(1 for r in rows if r["memory_bytes"] == truth[(r["db"], key_bytes_of(r))]["memory_usage"])
    assert exact < 0.6 * len(rows)


def test_info_totals(tmp_path):
    name = "redis-7.4.1"
    meta = rdbscan.info(dump_path(name))
    total = sum(r["memory_bytes"] for r in rdbscan.read_table(dump_path(name)).to_pylist())
    assert meta["memory"]["keys_total"] == total
    assert meta["memory"]["estimated_total"] > total
    assert meta["memory"]["used_mem_aux"] == meta["aux"]["used-mem"]


def test_config_thresholds_change_encodings(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("hash-max-listpack-entries 2\nzset-max-ziplist-entries 0\n")
    rows = rdbscan.read_table(dump_path("redis-7.4.1"), config=conf).to_pylist()
    assert {r["encoding"] for r in rows if r["type"] == "zset"} == {"skiplist"}
    assert all(r["encoding"] == "hashtable" for r in rows if r["type"] == "hash" and r["length"] > 2)
    conf.write_text("hash-max-listpack-entries lots\n")
    with pytest.raises(rdbscan.RdbscanError, match="expects an integer"):
        rdbscan.read_table(dump_path("redis-7.4.1"), config=conf)


def test_what_if_another_release():
    # Valkey 8.0's dump estimated as Redis 7.2 would hold it equals what a
    # real Redis 7.2.6 answered for the same data (the fixtures share it):
    # keys are no longer embedded in the dict entry, set members own entries.
    as_72 = rdbscan.read_table(dump_path("valkey-8.0.1"), target="7.2.4").to_pylist()
    own = rdbscan.read_table(dump_path("valkey-8.0.1")).to_pylist()
    truth_72 = {(t["db"], bytes.fromhex(t["key_hex"])): t["memory_usage"]
                for t in load_truth("redis-7.2.6").values()}
    compared = [(r, truth_72[(r["db"], key_bytes_of(r))]) for r in as_72
                if (r["db"], key_bytes_of(r)) in truth_72 and r["encoding"] not in ("skiplist", "stream")]
    assert len(compared) > 300
    assert all(r["memory_bytes"] == truth for r, truth in compared)
    assert sum(a["memory_bytes"] != b["memory_bytes"] for a, b in zip(own, as_72)) > 100
