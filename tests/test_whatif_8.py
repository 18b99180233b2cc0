"""What-if targets for the releases that moved the key into the value object.

Redis 8.0 keeps 7.4's layout (a real 8.0.2 answers as the 7.4 model says:
tests/test_loaded_by_redis8.py).

Redis 8.2 (object.c ``kvobjCreate`` / ``kvobjSet`` / ``kvobjComputeSize``):
MEMORY USAGE is ``zmalloc_size(kv)`` -- robj, a header-size byte and the
key's sds in one allocation -- plus the value; no dictEntry and no separate
key sds; an embstr value shares that allocation when
``16 + (keylen + 3) + (3 + len + 1) <= 64``; the sorted-set element dict
counts ``dictEntryMemUsage(1)`` = 16 bytes an element instead of 24.

Valkey 8.1 (object.c ``objectComputeSize``, memoryCommand, hashtable.c
``hashtableMemUsage``, t_hash.c ``hashTypeCreateEntry``): MEMORY USAGE is
``objectComputeSize`` alone, which starts from ``zmalloc_size(o)``: the
robj with the key (and an expiry, for keys with a TTL) embedded after it;
sets, hashes and sorted sets are hashtables of 64-byte buckets (7 slots),
``72 + 64 * (buckets + child buckets)``, with no entries.  (Valkey 9 and the
hash entries: ``tests/test_valkey9.py``.)

The expected numbers below are worked out by hand from those formulas, with
J() the jemalloc 5.3 size classes of the bundled build (8-byte quantum).
"""

import io
import math

import pytest

import rdbscan
from rdbscan.model.alloc import jemalloc_size as J
from rdbscan.model.encoding import parse_server, profile_from_meta, ServerProfile
from rdbscan.model.memory import (KEY_IN_ENTRY, KEY_IN_KVOBJ, KEY_IN_ROBJ, KEY_SDS, PAIR_FIELDS,
                                  ht_bucket_exp, layout_for, sizing_tables)
from conftest import FIXTURE_NAMES, dump_path


def _layout(server, cluster=False):
    flavor, version = parse_server(server)
    return layout_for(ServerProfile(flavor, version, "given", cluster=cluster))


def test_target_names_map_to_the_new_layouts():
    for name in ("8.2", "8.2.1", "redis-8.2.0"):
        assert _layout(name).embedded_key == KEY_IN_KVOBJ, name
    for name in ("8.0", "8.0.2"):
        assert _layout(name) == _layout("7.4"), name
    for name in ("valkey-8.1", "valkey-8.1.1"):
        assert _layout(name).embedded_key == KEY_IN_ROBJ, name
    assert _layout("7.4").embedded_key == KEY_SDS
    assert _layout("valkey-8.0").embedded_key == KEY_IN_ENTRY
    assert _layout("valkey-7.2", cluster=True).key_entry_extra == 16


def test_dumps_pick_their_layout_from_redis_ver():
    ga = profile_from_meta({"aux": {"redis-ver": "8.2.1"}, "rdb_version": 12})
    assert layout_for(ga).embedded_key == KEY_IN_KVOBJ
    assert layout_for(profile_from_meta({"aux": {"redis-ver": "8.0.2"}, "rdb_version": 12})).embedded_key == KEY_SDS
    # The "redis-unstable" fixtures come from an older unstable build
    # (255.255.255, RDB 12): they keep the 7.4 layout they are exact with.
    meta = rdbscan.info(dump_path("redis-unstable"))
    assert meta["aux"]["redis-ver"] == "255.255.255"
    assert layout_for(profile_from_meta(meta)).embedded_key == KEY_SDS


def _rows(fixture, target):
    return {r["key"]: r for r in rdbscan.read_table(dump_path(fixture), target=target).to_pylist()}


def test_kvobj_counted_by_release():
    # kvobjAllocSize: 8.4 sums the kvobj's parts (robj 16, expiry 8, key
    # header byte 1, key sds), 8.6 asks the allocator for the whole
    # allocation, 8.8 (redis/redis#14704) sums the parts again.
    rows = {t: _rows("redis-7.4.1", t) for t in ("8.4", "8.6", "8.8")}
    # "int:edge:10000": 14-byte key, an int, no TTL: 16 + 1 + (1 + 14 + 1) = 33.
    assert [rows[t]["int:edge:10000"]["memory_bytes"] for t in ("8.4", "8.6", "8.8")] == [33, 40, 33]
    # A 30-byte key with a TTL: 8 more, 57 or J(57) = 64.
    key = "rate:203.0.113.46:202402071731"
    assert rows["8.4"][key]["expire_at"] is not None and rows["8.4"][key]["encoding"] == "int"
    assert [rows[t][key]["memory_bytes"] for t in ("8.4", "8.6", "8.8")] == [57, 64, 57]
    # With 16-byte size classes the 8.4 allocation (J(33) = 48) has room for
    # the expiry slot, which kvobjCreate then reserves and counts.
    q16 = {r["key"]: r for r in rdbscan.read_table(dump_path("redis-7.4.1"), target="8.4",
                                                    allocator="jemalloc-16").to_pylist()}
    assert q16["int:edge:10000"]["memory_bytes"] == 41


def test_redis_84_embeds_by_key_value_and_ttl():
    # 8.4 kvobjSet: 16 + (keylen + 3) + 8 if the key has a TTL + (len + 4) <= 64;
    # 8.6 leaves the expiry (now metadata before the object) out.
    rows84, rows86 = _rows("redis-7.4.1", "8.4"), _rows("redis-7.4.1", "8.6")
    job = [k for k, r in rows84.items() if k.startswith("job:") and r["length"] == 30 and r["expire_at"]]
    assert job
    for key in job:
        assert len(key) + 30 + 8 > 41 >= len(key) + 30
        assert rows84[key]["encoding"] == "raw" and rows86[key]["encoding"] == "embstr"


def test_redis_80_is_74():
    a, b = _rows("redis-7.4.1", "7.4"), _rows("redis-7.4.1", "8.0")
    assert {k: (r["encoding"], r["memory_bytes"]) for k, r in a.items()} == \
        {k: (r["encoding"], r["memory_bytes"]) for k, r in b.items()}


def test_redis_82_against_74_by_hand():
    old, new = _rows("redis-7.4.1", "7.4"), _rows("redis-7.4.1", "8.2")

    def delta(key):
        return new[key]["memory_bytes"] - old[key]["memory_bytes"]

    # "greeting" = "hello": 8-byte key, embstr of 5.
    #   7.4: J(16+3+5+1)=32 embstr + J(1+8+1)=16 key sds + 24 dictEntry = 72
    #   8.2: 16 + (8+3) + (3+5+1) = 36 <= 64, one kvobj: J(16+1+(1+8+1)+(3+5+1)) = J(36) = 40
    assert (old["greeting"]["memory_bytes"], new["greeting"]["memory_bytes"]) == (72, 40)
    # int:edge:10000 (14-byte key, int value):
    #   7.4: 16 + J(16)=16 + 24 = 56;  8.2: J(16+1+(1+14+1)) = J(33) = 40
    assert (old["int:edge:10000"]["memory_bytes"], new["int:edge:10000"]["memory_bytes"]) == (56, 40)
    # Collections change by the key part only: 16 + J(hdr+k+1) + 24 -> J(16+1+hdr+k+1).
    #   set:ids:big (k=11): 16+16+24 = 56 -> J(30) = 32: -24
    #   hash:longvalue (k=14): 16+16+24 = 56 -> J(33) = 40: -16
    assert delta("set:ids:big") == -24
    assert delta("hash:longvalue") == -16
    # leaderboard:global, 300-element skiplist (k=18): key 16+24+24 = 64 -> J(37) = 40,
    # and each element's dict entry 24 -> 16: -24 - 300*8 = -2424
    assert old["leaderboard:global"]["length"] == 300
    assert delta("leaderboard:global") == -2424


def _expected_children(n, buckets):
    # Bucket chains holding x > 7 entries need ceil((x-7)/6) child buckets;
    # entries per bucket ~ Binomial(n, 1/buckets).  Exact sum, independent
    # of the model's recurrence.
    p = 1.0 / buckets
    e = sum(math.comb(n, x) * p ** x * (1 - p) ** (n - x) * math.ceil((x - 7) / 6)
            for x in range(8, min(n, 80) + 1))
    return buckets * e


def test_valkey_81_against_80_by_hand():
    old, new = _rows("valkey-8.0.1", "valkey-8.0"), _rows("valkey-8.0.1", "valkey-8.1")

    # str:len44 (9-byte key, 44-byte string):
    #   8.0: J(1+9+1+17)=32 key entry + J(16+3+44+1)=64 embstr = 96
    #   8.1: 16+(9+3)+(4+44) = 76 > 64: the value becomes a raw sds,
    #        J(16+1+(1+9+1)) = 32 robj with the key + J(3+44+1) = 48
    assert (old["str:len44"]["memory_bytes"], new["str:len44"]["memory_bytes"]) == (96, 80)
    assert (old["str:len44"]["encoding"], new["str:len44"]["encoding"]) == ("embstr", "raw")
    # An int value with a TTL, 30-byte key: 8.0 J(1+30+1+17)=56 + 16 = 72;
    # 8.1 robj, expiry and key: J(16+8+1+(1+30+1)) = J(57) = 64.
    rate = next(k for k, r in new.items() if k.startswith("rate:") and r["encoding"] == "int"
                and len(k) == 30)
    assert (old[rate]["memory_bytes"], new[rate]["memory_bytes"]) == (72, 64)

    # set:ids:big, 600 members (11-byte key), members sized alike in both:
    #   8.0: J(1+11+1+17)=32 + 16 + 56 + 8*1024 + 16 per colliding member
    #        (1024 buckets; colliding = n - m(1-(1-1/m)^n))
    #   8.1: J(16+1+(1+11+1)) = 32 + 72 + 64 * (buckets + children);
    #        nextBucketExp(600): ceil(600*5/32) = 94 -> 128 buckets
    n, m = 600, 1024
    assert 1 << ht_bucket_exp(n) == 128
    colliding = round(n - m * (1 - (1 - 1 / m) ** n))
    before_overhead = 32 + 16 + 56 + 8 * m + 16 * colliding
    after_overhead = 32 + 72 + 64 * (128 + _expected_children(n, 128))
    got = new["set:ids:big"]["memory_bytes"] - old["set:ids:big"]["memory_bytes"]
    assert abs(got - (after_overhead - before_overhead)) <= 64     # child count rounded to a bucket
    assert got < 0

    # hash:big, 700 fields: 8.0 pays 8*1024 bucket pointers and a 24-byte
    # entry a field; 8.1 ceil(700*5/32) = 110 -> 128 buckets of 64 bytes.
    assert 1 << ht_bucket_exp(700) == 128
    assert new["hash:big"]["memory_bytes"] < old["hash:big"]["memory_bytes"] - 700 * 16


def test_valkey_81_hash_pair_table():
    # entry.c entryReqSize (8.1: t_hash.c hashTypeCreateEntry): field (own sds
    # type) + value (sds type 8) in one allocation when they fit 128 bytes;
    # else a value pointer + the field as sds type 8, and the value its own
    # sds.  The field table prices the second form, the value table the
    # value's sds, the pair table what embedding changes.
    tables = sizing_tables(profile_from_meta({}, server="valkey-8.1"))[0]
    field, value, pair = tables[0], tables[1], tables[5]
    assert len(pair) == 2 * PAIR_FIELDS * 129
    assert pair[:PAIR_FIELDS * 129] == pair[PAIR_FIELDS * 129:]   # no field TTLs in 8.1

    def entry(f, v):
        return field[f] + value[v] + (pair[f * 129 + min(v, PAIR_FIELDS)] if f < PAIR_FIELDS else 0)

    # "name" -> "alice": J((1+4+1)+(3+5+1)) = J(15) = 16
    assert entry(4, 5) == 16
    # 20-byte field, 100-byte value: 22 + 104 = 126 <= 128: J(126) = 128
    assert entry(20, 100) == 128
    # 30-byte field, 100-byte value: 32 + 104 > 128: pointer entry J(8+3+30+1) = 48 + value J(104) = 112
    assert entry(30, 100) == 48 + 112
    # Values of 128 bytes and more are never embedded
    assert entry(10, 3000) == J(22) + J(3 + 3000 + 1)
    # Other releases carry no pair table.
    assert len(sizing_tables(profile_from_meta({}, server="valkey-8.0"))[0]) == 5


pytest.importorskip("rdbscan.scanner._scanner", reason="compiled scanner not built")
from rdbscan.scanner._scanner import Scanner as CScanner  # noqa: E402
from rdbscan.scanner.pyscanner import Scanner as PyScanner  # noqa: E402

TARGETS = ["8.2", "8.4", "8.6", "8.8", "valkey-8.1"]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@pytest.mark.parametrize("target", TARGETS)
def test_twins_agree_with_new_sizing(name, target):
    # Hash entries (Valkey) are priced the same way by both scanners.
    results = []
    for cls in (CScanner, PyScanner):
        sc = cls(io.BytesIO(dump_path(name).read_bytes()), 1 << 20, True)
        sc.preamble()
        sc.set_sizing(*sizing_tables(profile_from_meta(sc.meta, server=target)))
        n, cols = sc.next_batch()
        results.append((n, cols["mem_elements"], cols["mem_values"], cols["mem_blobs"]))
    assert results[0] == results[1]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("allocator", ["jemalloc", "jemalloc-16"])
def test_compiled_model_equals_reference_new_layouts(name, target, allocator):
    pytest.importorskip("rdbscan.model._model", reason="compiled model not built")
    from rdbscan.scanner.records import build_batch
    sc = CScanner(io.BytesIO(dump_path(name).read_bytes()), 1 << 20, True)
    sc.preamble()
    profile = profile_from_meta(sc.meta, server=target, allocator=allocator)
    sc.set_sizing(*sizing_tables(profile))
    n, cols = sc.next_batch()
    compiled = build_batch(n, cols, sc.module_names, profile)
    reference = build_batch(n, cols, sc.module_names, profile, compiled_model=False)
    assert compiled.equals(reference)

