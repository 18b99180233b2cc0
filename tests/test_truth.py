"""Every bundled fixture against the truth its own server recorded."""


import pytest

import rdbscan
from conftest import FIXTURE_NAMES, dump_path, key_bytes_of, load_server, load_truth, reference_slot

HFE_TYPES = {22, 23, 24, 25}


@pytest.fixture(scope="module", params=FIXTURE_NAMES)
def scanned(request):
    name = request.param
    table = rdbscan.read_table(dump_path(name))
    return name, table.to_pylist(), load_truth(name), load_server(name)


def test_every_truth_key_once_and_no_other(scanned):
    name, rows, truth, _ = scanned
    seen = [(r["db"], key_bytes_of(r)) for r in rows]
    assert len(seen) == len(set(seen)), "a key appears twice"
    assert set(seen) == set(truth)


def test_key_text_and_bytes(scanned):
    _, rows, truth, _ = scanned
    for r in rows:
        t = truth[(r["db"], key_bytes_of(r))]
        if t["key"] is not None:
            assert r["key"] == t["key"] and r["key_bytes"] is None
        else:
            assert r["key_bytes"] == bytes.fromhex(t["key_hex"])
            assert r["key"] == r["key_bytes"].decode("utf-8", "backslashreplace")


@pytest.mark.parametrize("column,truth_field", [
    ("type", "type"), ("rdb_type", "rdb_type"), ("length", "length"),
    ("serialized_bytes", "rdb_value_bytes"), ("encoding", "encoding"),
])
def test_column_equals_truth(scanned, column, truth_field):
    name, rows, truth, _ = scanned
    bad = [(r["key"], r[column], truth[(r["db"], key_bytes_of(r))][truth_field]) for r in rows
           if r[column] != truth[(r["db"], key_bytes_of(r))][truth_field]]
    assert not bad, f"{name}: {len(bad)} keys differ in {column}: {bad[:5]}"


def test_expire_at(scanned):
    _, rows, truth, _ = scanned
    for r in rows:
        t = truth[(r["db"], key_bytes_of(r))]
        got = None if r["expire_at"] is None else int(r["expire_at"].timestamp() * 1000)
        assert got == t["expire_at_ms"], r["key"]


def test_idle_and_freq(scanned):
    name, rows, truth, _ = scanned
    checked = 0
    for r in rows:
        t = truth[(r["db"], key_bytes_of(r))]
        if "idle_s_presave" in t:
            assert r["idle_seconds"] is not None, r["key"]
            assert abs(r["idle_seconds"] - t["idle_s_presave"]) <= 2, (r["key"], r["idle_seconds"], t)
            checked += 1
        else:
            assert r["idle_seconds"] is None
        if "freq_presave" in t:
            assert r["lfu_freq"] == t["freq_presave"], (r["key"], r["lfu_freq"], t["freq_presave"])
            checked += 1
        else:
            assert r["lfu_freq"] is None
    if name.endswith(("-lru", "-lfu")):
        assert checked == len(rows)


def test_slot(scanned):
    name, rows, truth, _ = scanned
    for r in rows:
        t = truth[(r["db"], key_bytes_of(r))]
        assert r["slot"] == reference_slot(key_bytes_of(r)), r["key"]
        if name.endswith("-cluster"):
            assert r["slot"] == t["slot"], r["key"]


def test_streams(scanned):
    name, rows, truth, _ = scanned
    streams = [r for r in rows if r["type"] == "stream"]
    for r in rows:
        if r["type"] != "stream":
            assert r["stream_groups"] is None and r["stream_pending"] is None
    for r in streams:
        s = truth[(r["db"], key_bytes_of(r))]["stream"]
        assert (r["stream_groups"], r["stream_consumers"], r["stream_pending"]) == \
            (s["groups"], s["consumers"], s["pending"]), r["key"]
    if load_server(name)["server_version"] >= "5":
        assert streams or name.startswith("redis-2") or name.startswith(("redis-3", "redis-4"))


def test_hash_fields_with_ttl(scanned):
    _, rows, truth, _ = scanned
    for r in rows:
        t = truth[(r["db"], key_bytes_of(r))]
        if r["rdb_type"] in HFE_TYPES:
            assert r["hash_fields_with_ttl"] == t["hfe_fields_with_ttl"], r["key"]
        else:
            assert r["hash_fields_with_ttl"] is None
            assert t.get("hfe_fields_with_ttl", 0) == 0, r["key"]


def test_max_element_bytes_bounds(scanned):
    _, rows, truth, _ = scanned
    for r in rows:
        if r["type"] == "string":
            assert r["max_element_bytes"] == r["length"]
        elif r["length"]:
            assert r["max_element_bytes"] >= 1 or r["key"] == "hash:emptyvalue"


def test_file_facts(scanned):
    name, rows, truth, server = scanned
    meta = rdbscan.info(dump_path(name))
    assert meta["crc"] == "ok"
    assert meta["rdb_version"] == server["rdb_version"]
    assert meta["magic"] == server["rdb_magic"]
    assert {int(db): c["keys"] for db, c in meta["dbs"].items()} == \
        {int(db): n for db, n in server["dbsize"].items()}
    assert {int(db): c["expires"] for db, c in meta["dbs"].items()} == \
        {int(db): n for db, n in server["expires_count"].items() if n or int(db) in map(int, server["dbsize"])}
    if server.get("functions"):
        assert [f["name"] for f in meta["functions"]] == [lib["library_name"] for lib in server["functions"]]
    if server.get("cluster_slots") and server["rdb_version"] >= 11 and name != "redis-7.0.15-cluster":
        got = {info[0]: (info[1], info[2]) for info in meta["slot_info"]}
        want = {int(s): (v["keys"], v["expires"]) for s, v in server["cluster_slots"].items()}
        assert got == want
        if server["server_flavor"] == "valkey" and server["rdb_version"] >= 80:
            # Valkey 9 adds keys_with_volatile_items: hashes with field TTLs in the slot.
            volatile = {}
            for t in truth.values():
                volatile[t["slot"]] = volatile.get(t["slot"], 0) + bool(t.get("hfe_fields_with_ttl"))
            assert {info[0]: info[3] for info in meta["slot_info"]} == {s: volatile.get(s, 0) for s in got}
        assert not meta.get("slot_info_mismatches")
    version = server["server_version"]
    if meta["server_from"].startswith("RDB version"):   # RDB < 7 has no redis-ver aux
        assert meta["server"].startswith(f"redis {'.'.join(version.split('.')[:2])}")
    elif "unstable" not in name:
        assert meta["server"] == f"{server['server_flavor']} {version}"
