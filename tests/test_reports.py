"""The reports against the fixtures' truth (what the servers said), computed independently in Python.

Every dump is scanned once into a temporary cache directory (never into
fixtures/).  Where a figure depends on the memory model, the test states
whether it compares with our memory_bytes (exact: the same SQL figure by
other means) or with the server's MEMORY USAGE (within the model's accuracy).
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from importlib import resources

import jsonschema
import pytest

from rdbscan.analysis import dataset, reports
from conftest import FIXTURE_NAMES, dump_path, key_bytes_of, load_server, load_truth, model_options

WITH_MEMORY = [n for n in FIXTURE_NAMES if any(t["memory_usage"] is not None for t in load_truth(n).values())]
LRU = [n for n in FIXTURE_NAMES if n.endswith("-lru")]
LFU = [n for n in FIXTURE_NAMES if n.endswith("-lfu")]
PLAIN = [n for n in FIXTURE_NAMES if n not in LRU + LFU]
TOP = 10
SCHEMA = json.loads(resources.files("rdbscan.analysis.reports").joinpath("report.schema.json").read_text())


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("rdbscan-cache"))


def open_ds(cache_dir, *names, **kw):
    options = model_options(names[0])
    return dataset.open_dataset([dump_path(n) for n in names], cache_dir=cache_dir, **options, **kw)


def run_all(cache_dir, *args, sections=None, top=TOP, **kw):
    """(sections as JSON-ready dicts, our per-key rows keyed by (db, key bytes)).

    ``args``: fixture names, then optionally the list of sections.
    """
    from rdbscan.render.formats import as_json_document
    names = [a for a in args if isinstance(a, str)]
    sections = next((a for a in args if isinstance(a, list)), sections)
    with open_ds(cache_dir, *names, **kw) as ds:
        result = reports.run(ds, sections, top=top)
        doc = as_json_document(result, ds.files)
        rows = ds.sql("SELECT db, key, key_bytes, memory_bytes, epoch_ms(expire_at) AS expire_ms, idle_seconds, "
                      "lfu_freq, type, pattern FROM keys").to_arrow_table().to_pylist()
    ours = {(r["db"], key_bytes_of(r)): r for r in rows}
    return doc["sections"], ours


def table(sections, section, name):
    return sections[section]["tables"][name]


def by_text(ours):
    return {(r["db"], r["key"]): k for k, r in ours.items()}


# ---- bigkeys ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", WITH_MEMORY)
def test_bigkeys_top_n_against_truth(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["bigkeys"])
    assert set(ours) == set(truth)
    index = by_text(ours)
    report = [index[(r["db"], r["key"])] for r in table(sections, "bigkeys", "by_memory")]
    assert len(report) == TOP
    # 1. exactly the top N by our memory_bytes, in order (ties broken by db, key text)
    mine = sorted(ours, key=lambda k: (-ours[k]["memory_bytes"], k[0], ours[k]["key"]))[:TOP]
    assert report == mine
    # 2. against the server's ranking: the top N by MEMORY USAGE, ties at the boundary allowed
    mem = {k: t["memory_usage"] for k, t in truth.items()}
    floor = sorted(mem.values(), reverse=True)[TOP - 1]
    above = {k for k, v in mem.items() if v > floor}
    at_least = {k for k, v in mem.items() if v >= floor}
    inexact = {k for k in above | set(report) if ours[k]["memory_bytes"] != mem[k]}
    if not inexact:
        # the model is exact for every key concerned: the rankings must agree
        assert above <= set(report) <= at_least, (name, sorted(above - set(report)), sorted(set(report) - at_least))
    else:
        # a key near the top is estimated (skiplist levels, ...): at most those keys may move
        assert len(set(report) & at_least) >= TOP - len(inexact), (name, sorted(inexact))


@pytest.mark.parametrize("name", ["redis-7.4.1", "valkey-8.0.1"])
def test_bigkeys_per_type_and_length(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["bigkeys"], top=3)
    index = by_text(ours)
    for kind, col in (("by_type_memory", "memory_bytes"), ("by_type_length", "length")):
        rows = table(sections, "bigkeys", kind)
        for typ in {t["type"] for t in truth.values()}:
            got = [index[(r["db"], r["key"])] for r in rows if r["type"] == typ]
            if col == "length":
                values = sorted((t["length"] for k, t in truth.items() if t["type"] == typ), reverse=True)
                assert [truth[k]["length"] for k in got] == values[:3], (typ, got)
            else:
                values = sorted((ours[k]["memory_bytes"] for k in ours if ours[k]["type"] == typ), reverse=True)
                assert [ours[k]["memory_bytes"] for k in got] == values[:3], (typ, got)
            assert [r["rank"] for r in rows if r["type"] == typ] == list(range(1, len(got) + 1))
    lengths = [r["length"] for r in table(sections, "bigkeys", "by_length")]
    assert lengths == sorted((t["length"] for t in truth.values()), reverse=True)[:3]


# ---- nottl ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_nottl_totals(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["nottl", "summary"])
    no_ttl = [k for k, t in truth.items() if t["expire_at_ms"] is None]
    totals = table(sections, "nottl", "totals")[0]
    assert totals["keys_no_ttl"] == len(no_ttl)
    assert totals["memory_no_ttl"] == sum(ours[k]["memory_bytes"] or 0 for k in no_ttl)
    assert totals["keys_no_ttl_share"] == pytest.approx(len(no_ttl) / len(truth), abs=1e-4)
    if name in WITH_MEMORY:
        server = sum(truth[k]["memory_usage"] for k in no_ttl)
        # the model's accuracy (tests/test_memory.py): exact but for skiplists (8 %) and a few hashtables
        assert totals["memory_no_ttl"] == pytest.approx(server, rel=0.01)
    # the per-pattern rows (all shown with a big --top) add up to the totals
    sections, _ = run_all(cache_dir, name, ["nottl"], top=10_000)
    rows = table(sections, "nottl", "by_pattern")
    assert sum(r["keys_no_ttl"] for r in rows) == totals["keys_no_ttl"]
    assert sum(r["memory_no_ttl"] for r in rows) == totals["memory_no_ttl"]
    biggest = table(sections, "nottl", "biggest")
    assert all(ours[by_text(ours)[(r["db"], r["key"])]]["expire_ms"] is None for r in biggest)
    assert all(r["pattern"] == ours[by_text(ours)[(r["db"], r["key"])]]["pattern"] for r in biggest)


# ---- patterns ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_patterns_add_up(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["summary", "patterns"], top=5)
    overview = table(sections, "summary", "overview")[0]
    assert overview["keys"] == len(truth)
    assert overview["memory_bytes"] == sum(r["memory_bytes"] or 0 for r in ours.values())
    rows = table(sections, "patterns", "patterns")
    assert len(rows) == 6 and rows[-1]["pattern"].startswith("(other ")
    distinct = len({r["pattern"] for r in ours.values()})
    assert rows[-1]["pattern"] == f"(other {distinct - 5} patterns)"
    assert sum(r["keys"] for r in rows) == overview["keys"]
    assert sum(r["memory_bytes"] for r in rows) == overview["memory_bytes"]
    assert sum(r["memory_share"] for r in rows) == pytest.approx(1, abs=6e-4)
    shown = [r["memory_bytes"] for r in rows[:-1]]
    assert shown == sorted(shown, reverse=True) and min(shown) >= rows[-1]["biggest_bytes"]
    with open_ds(cache_dir, name) as ds:
        stats = ds.sql("SELECT sum(keys)::BIGINT, sum(memory_bytes)::BIGINT, sum(keys_no_ttl)::BIGINT "
                       "FROM pattern_stats").fetchall()[0]
    no_ttl = sum(1 for t in truth.values() if t["expire_at_ms"] is None)
    assert stats == (overview["keys"], overview["memory_bytes"], no_ttl)


# ---- sizes and memmap -------------------------------------------------------------------------

def size_label(bucket):
    units = ["B", "KiB", "MiB", "GiB"]
    unit, step = divmod(bucket, 10)
    if step == 9:
        return f"512 {units[unit]} - 1 {units[unit + 1]}"
    return f"{1 << step} - {2 << step} {units[unit]}"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_sizes_buckets_every_key(cache_dir, name):
    sections, ours = run_all(cache_dir, name, ["sizes", "summary"])
    sized = [r for r in ours.values() if r["memory_bytes"] is not None]
    want = {}
    for r in sized:
        b = max(r["memory_bytes"], 1).bit_length() - 1      # 2**b <= memory < 2**(b + 1)
        k, m = want.get((r["type"], b), (0, 0))
        want[(r["type"], b)] = (k + 1, m + r["memory_bytes"])
    by_type = table(sections, "sizes", "by_type")
    got = {(r["type"], r["size_from"].bit_length() - 1): (r["keys"], r["memory_bytes"]) for r in by_type}
    assert got == want
    for r in by_type:
        assert r["size_below"] == 2 * r["size_from"] and r["size"] == size_label(r["size_from"].bit_length() - 1)
    overall = table(sections, "sizes", "overall")
    assert [r["size_from"] for r in overall] == sorted({1 << b for _, b in want})
    for r in overall:
        b = r["size_from"].bit_length() - 1
        assert (r["keys"], r["memory_bytes"]) == tuple(map(sum, zip(*(v for (t, bb), v in want.items() if bb == b))))
    assert sum(r["keys"] for r in overall) == len(sized)
    assert sum(r["memory_share"] for r in overall) == pytest.approx(1, abs=1e-3)
    type_order = list(dict.fromkeys(r["type"] for r in by_type))
    assert type_order == [r["type"] for r in table(sections, "summary", "by_type") if r["type"] in type_order]
    assert bool(sections["sizes"]["notes"]) == (len(sized) < len(ours))


def test_size_labels():
    assert [size_label(b) for b in (5, 9, 10, 19, 20, 33)] == [
        "32 - 64 B", "512 B - 1 KiB", "1 - 2 KiB", "512 KiB - 1 MiB", "1 - 2 MiB", "8 - 16 GiB"]


def memmap_expected(rows, top, per_pattern=5):
    """The memmap tables computed from per-key rows in Python: (patterns rows, keys rows)."""
    groups = {}
    for r in rows:
        groups.setdefault(r["type"], {}).setdefault(r["pattern"], []).append(r)
    type_memory = {t: sum(r["memory_bytes"] or 0 for ps in g.values() for r in ps) for t, g in groups.items()}
    patterns_rows, keys_rows = [], []
    for t in sorted(groups, key=lambda t: (-type_memory[t], t)):
        ranked = sorted(groups[t].items(), key=lambda kv: (-sum(r["memory_bytes"] or 0 for r in kv[1]), kv[0]))
        for rank, (pattern, ks) in enumerate(ranked[:top], 1):
            mem = sum(r["memory_bytes"] or 0 for r in ks)
            patterns_rows.append((t, rank, pattern, False, len(ks), mem))
            biggest = sorted((r for r in ks if r["memory_bytes"] is not None),
                             key=lambda r: (-r["memory_bytes"], -r["file_index"], -r["file_row_number"]))
            biggest = biggest[:min(top, per_pattern)]
            for i, r in enumerate(biggest, 1):
                keys_rows.append((t, pattern, i, False, r["db"], r["key"], 1, r["memory_bytes"]))
            if len(ks) > len(biggest):
                keys_rows.append((t, pattern, min(top, per_pattern) + 1, True, None, None, len(ks) - len(biggest),
                                  mem - sum(r["memory_bytes"] for r in biggest)))
        rest = ranked[top:]
        if rest:
            patterns_rows.append((t, top + 1, f"(other {len(rest)} patterns)", True,
                                  sum(len(ks) for _, ks in rest),
                                  sum(r["memory_bytes"] or 0 for _, ks in rest for r in ks)))
    return patterns_rows, keys_rows


def memmap_check(ds, top):
    result = reports.run(ds, ["memmap", "summary"], top=top)
    rows = ds.sql("SELECT db, key, type, pattern, memory_bytes, file_index, file_row_number FROM keys").to_arrow_table()
    want_patterns, want_keys = memmap_expected(rows.to_pylist(), top)
    got_patterns = [(r["type"], r["rank"], r["pattern"], r["other"], r["keys"], r["memory_bytes"])
                    for r in result["memmap"].tables["patterns"].to_pylist()]
    got_keys = [tuple(r.values()) for r in result["memmap"].tables["keys"].to_pylist()]
    assert got_patterns == want_patterns
    assert got_keys == want_keys
    # every level adds up to the one above it
    by_type = {r["type"]: r for r in result["summary"].tables["by_type"].to_pylist()}
    for t, row in by_type.items():
        assert sum(p[5] for p in got_patterns if p[0] == t) == row["memory_bytes"]
        assert sum(p[4] for p in got_patterns if p[0] == t) == row["keys"]
    for p in got_patterns:
        if not p[3]:
            ks = [k for k in got_keys if k[:2] == p[0:3:2]]
            assert sum(k[6] for k in ks) == p[4] and sum(k[7] for k in ks) == p[5], p
    return result


@pytest.mark.parametrize("name", ["redis-7.4.1", "valkey-8.0.1-cluster", "redis-2.8.24"])
@pytest.mark.parametrize("top", [3, 10])
def test_memmap_against_our_rows(cache_dir, name, top):
    with open_ds(cache_dir, name) as ds:
        memmap_check(ds, top)


# ---- eviction ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_eviction_against_truth(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["eviction"])
    mem = {k: ours[k]["memory_bytes"] or 0 for k in truth}       # truth's key set, our memory
    with_ttl = [k for k, t in truth.items() if t["expire_at_ms"] is not None]
    total, ttl_total = sum(mem.values()), sum(mem[k] for k in with_ttl)
    pressure = table(sections, "eviction", "pressure")[0]
    assert (pressure["key_memory"], pressure["key_memory_with_ttl"]) == (total, ttl_total)
    policies = {r["policy"]: r for r in table(sections, "eviction", "policies")}
    assert list(policies) == ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                              "volatile-lfu", "volatile-random", "volatile-ttl"]
    assert policies["noeviction"]["evictable_bytes"] == 0
    for p, r in policies.items():
        if p.startswith("allkeys-"):
            assert r["evictable_bytes"] == total, p
        elif p.startswith("volatile-"):
            assert r["evictable_bytes"] == ttl_total, p
    # cold keys from the truth's idle times / LFU counters (the values before SAVE, as in the file)
    day = reports.DEFAULTS["idle"]
    if name in LRU:
        idle = {k: t["idle_s_presave"] for k, t in truth.items()}
        assert not [k for k, v in idle.items() if v is not None and abs(v - day) <= 2], "too close to call"
        cold = [k for k, v in idle.items() if v is not None and v > day]
        assert policies["allkeys-lru"]["cold_evictable_bytes"] == sum(mem[k] for k in cold)
        assert policies["volatile-lru"]["cold_evictable_bytes"] == sum(mem[k] for k in cold if k in with_ttl)
        assert policies["allkeys-lfu"]["cold_evictable_bytes"] is None
    elif name in LFU:
        cold = [k for k, t in truth.items() if t["freq_presave"] is not None and t["freq_presave"] <= 1]
        assert policies["allkeys-lfu"]["cold_evictable_bytes"] == sum(mem[k] for k in cold)
        assert policies["volatile-lfu"]["cold_evictable_bytes"] == sum(mem[k] for k in cold if k in with_ttl)
        assert policies["allkeys-lru"]["cold_evictable_bytes"] is None
    else:
        assert all(r["cold_evictable_bytes"] is None for r in policies.values())
        assert any("no LRU idle times or LFU counters" in n for n in sections["eviction"]["notes"])


def test_eviction_maxmemory_below_use(cache_dir):
    name = "redis-7.4.1"
    with open_ds(cache_dir, name) as ds:
        sec = reports.run(ds, ["eviction"], maxmemory=1000)["eviction"]
    pressure = sec.tables["pressure"].to_pylist()[0]
    assert pressure["maxmemory"] == 1000 and pressure["must_free"] == pressure["used_memory"] - 1000
    verdicts = {r["policy"]: r["verdict"] for r in sec.tables["policies"].to_pylist()}
    assert verdicts["noeviction"] == "writes fail now: nothing is evicted"
    assert verdicts["volatile-ttl"].startswith("cannot relieve")


# ---- ttl --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_ttl_distribution(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["ttl"])
    with open_ds(cache_dir, name) as ds:
        snap = ds.sql("SELECT epoch_ms(snapshot_time) FROM meta").fetchall()[0][0]
    dist = {r["ttl"]: r for r in table(sections, "ttl", "distribution")}
    assert sum(r["keys"] for r in dist.values()) == len(truth)
    assert sum(r["memory_bytes"] for r in dist.values()) == sum(r["memory_bytes"] or 0 for r in ours.values())
    no_ttl = sum(1 for t in truth.values() if t["expire_at_ms"] is None)
    assert dist.get("no TTL", {"keys": 0})["keys"] == no_ttl
    if snap is None:                 # 2.8: no ctime aux
        assert dist["TTL, snapshot time unknown"]["keys"] == len(truth) - no_ttl
        assert sections["ttl"]["notes"]
        return
    edges = [(0, "expired"), (60, "< 1 minute"), (3600, "1 minute - 1 hour"), (86400, "1 hour - 1 day"),
             (7 * 86400, "1 day - 1 week"), (30 * 86400, "1 week - 30 days")]
    want = {}
    for t in truth.values():
        if t["expire_at_ms"] is None:
            continue
        ttl = (t["expire_at_ms"] - snap) / 1000
        label = ">= 30 days"
        for i, (edge, lab) in enumerate(edges):
            if (ttl <= 0) if i == 0 else (ttl < edge):
                label = lab
                break
        want[label] = want.get(label, 0) + 1
    assert {k: v["keys"] for k, v in dist.items() if k != "no TTL"} == want
    expiring = {r["within"]: r["keys"] for r in table(sections, "ttl", "expiring")}
    assert expiring["1 week"] == sum(1 for t in truth.values()
                                     if t["expire_at_ms"] is not None and t["expire_at_ms"] - snap < 7 * 86400_000)


# ---- idle / hot -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLAIN + LFU)
def test_idle_says_why_it_is_empty(cache_dir, name):
    sections, _ = run_all(cache_dir, name, ["idle"])
    assert any("no LRU idle times" in n for n in sections["idle"]["notes"])
    assert all(not rows for rows in sections["idle"]["tables"].values())


@pytest.mark.parametrize("name", PLAIN + LRU)
def test_hot_says_why_it_is_empty(cache_dir, name):
    sections, _ = run_all(cache_dir, name, ["hot"])
    assert any("no LFU counters" in n for n in sections["hot"]["notes"])
    assert all(not rows for rows in sections["hot"]["tables"].values())


@pytest.mark.parametrize("name", LRU)
def test_idle_against_truth(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["idle"])
    assert not sections["idle"]["notes"]
    index = by_text(ours)
    coldest = table(sections, "idle", "coldest")
    assert len(coldest) == TOP
    idle = sorted((t["idle_s_presave"] for t in truth.values()), reverse=True)
    for r, want in zip(coldest, idle):
        k = index[(r["db"], r["key"])]
        assert abs(r["idle_seconds"] - truth[k]["idle_s_presave"]) <= 1, r
        assert abs(r["idle_seconds"] - want) <= 1, r
    longer = {r["idle"]: r["keys"] for r in table(sections, "idle", "idle_longer_than")}
    for label, seconds in (("1 hour", 3600), ("1 day", 86400), ("30 days", 30 * 86400)):
        assert longer[label] == sum(1 for t in truth.values() if t["idle_s_presave"] > seconds), label
    by_pattern = table(sections, "idle", "by_pattern")
    assert sum(r["idle_keys"] for r in by_pattern) <= longer["1 day"]


@pytest.mark.parametrize("name", LFU)
def test_hot_against_truth(cache_dir, name):
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, ["hot"])
    assert not sections["hot"]["notes"]
    index = by_text(ours)
    hottest = table(sections, "hot", "hottest")
    freqs = sorted((t["freq_presave"] for t in truth.values()), reverse=True)
    assert [r["lfu_freq"] for r in hottest] == freqs[:TOP]
    assert all(truth[index[(r["db"], r["key"])]]["freq_presave"] == r["lfu_freq"] for r in hottest)
    assert sum(r["keys"] for r in table(sections, "hot", "frequency")) == len(truth)


# ---- streams and slots ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["redis-7.4.1", "valkey-8.0.1-cluster"])
def test_streams_and_slots(cache_dir, name):
    truth = load_truth(name)
    sections, _ = run_all(cache_dir, name, ["streams", "slots"])
    streams = [t for t in truth.values() if t["type"] == "stream"]
    totals = table(sections, "streams", "totals")[0]
    assert totals["streams"] == len(streams)
    assert totals["pending"] == sum(t["stream"]["pending"] for t in streams)
    assert totals["groups"] == sum(t["stream"]["groups"] for t in streams)
    skew = table(sections, "slots", "skew")[0]
    assert skew["keys"] == len(truth)
    if load_server(name).get("cluster_enabled"):
        assert skew["slots_used"] == len({t["slot"] for t in truth.values()})
        assert not sections["slots"]["notes"]
    else:
        assert sections["slots"]["notes"]


# ---- filters ----------------------------------------------------------------------------------

FILTERS = [
    ({"db": [0]}, lambda k, t: k[0] == 0),
    ({"types": ["hash"]}, lambda k, t: t["type"] == "hash"),
    ({"match": "user:*"}, lambda k, t: k[1].startswith(b"user:")),
    ({"db": [1, 15], "types": ["string"]}, lambda k, t: k[0] in (1, 15) and t["type"] == "string"),
]


@pytest.mark.parametrize("kw, keep", FILTERS, ids=["db", "type", "match", "db+type"])
def test_filters_reduce_every_section(cache_dir, kw, keep):
    name = "redis-7.4.1-lru"
    truth = load_truth(name)
    sections, ours = run_all(cache_dir, name, top=1000, **kw)
    kept = {k for k, t in truth.items() if keep(k, t)}
    assert kept and set(ours) == kept
    total = sum(ours[k]["memory_bytes"] for k in kept)
    with_ttl = {k for k in kept if truth[k]["expire_at_ms"] is not None}
    assert table(sections, "summary", "overview")[0]["keys"] == len(kept)
    assert sum(r["keys"] for r in table(sections, "summary", "by_type")) == len(kept)
    assert len(table(sections, "bigkeys", "by_memory")) == len(kept)
    assert sum(r["keys"] for r in table(sections, "patterns", "patterns")) == len(kept)
    assert sum(r["memory_bytes"] for r in table(sections, "patterns", "patterns")) == total
    assert table(sections, "nottl", "totals")[0]["keys_no_ttl"] == len(kept - with_ttl)
    assert sum(r["keys"] for r in table(sections, "ttl", "distribution")) == len(kept)
    assert table(sections, "eviction", "pressure")[0]["key_memory"] == total
    assert table(sections, "slots", "skew")[0]["keys"] == len(kept)
    assert sum(r["keys"] for r in table(sections, "slots", "top_slots")) == len(kept)
    assert table(sections, "streams", "totals")[0]["streams"] == sum(1 for k in kept if truth[k]["type"] == "stream")
    longer = {r["idle"]: r["keys"] for r in table(sections, "idle", "idle_longer_than")}
    assert longer["1 minute"] == sum(1 for k in kept if truth[k]["idle_s_presave"] > 60)
    for sec in ("bigkeys", "nottl", "idle", "streams"):
        for tname, rows in sections[sec]["tables"].items():
            for r in rows:
                if "key" in r and "db" in r:
                    assert by_text(ours).get((r["db"], r["key"])) in kept, (sec, tname, r)


# ---- sources ----------------------------------------------------------------------------------

def test_two_sources_add_up(cache_dir):
    a, b = "redis-7.4.1", "valkey-8.0.1"
    one, _ = run_all(cache_dir, a, ["summary", "eviction"])
    two, _ = run_all(cache_dir, b, ["summary", "eviction"])
    both, ours = run_all(cache_dir, a, b, sections=["summary", "eviction", "patterns"])
    o1, o2, ob = (table(s, "summary", "overview")[0] for s in (one, two, both))
    assert ob["files"] == 2
    assert ob["keys"] == o1["keys"] + o2["keys"] == len(load_truth(a)) + len(load_truth(b))
    assert ob["memory_bytes"] == o1["memory_bytes"] + o2["memory_bytes"]
    assert ob["used_mem"] == o1["used_mem"] + o2["used_mem"]
    assert sum(r["keys"] for r in table(both, "patterns", "patterns")) == ob["keys"]
    assert table(both, "eviction", "pressure")[0]["key_memory_with_ttl"] == sum(
        table(s, "eviction", "pressure")[0]["key_memory_with_ttl"] for s in (one, two))
    with open_ds(cache_dir, a, b) as ds:          # two files: rows are told apart by file_index
        assert ds.sql("SELECT count(DISTINCT file_index) FROM keys").fetchall() == [(2,)]
        memmap_check(ds, 4)


def test_directory_with_dump_and_its_cache_counts_once(tmp_path):
    d = tmp_path / "backups"
    d.mkdir()
    shutil.copy(dump_path("redis-7.4.1"), d / "dump.rdb")
    first = dataset.resolve([d / "dump.rdb"])                    # caches beside the dump
    assert os.path.exists(first[0].parquet) and os.path.dirname(first[0].parquet) == str(d)
    resolved = dataset.resolve([d])
    assert len(resolved) == 1 and resolved[0].cached
    with dataset.Dataset(resolved) as ds:
        assert ds.sql("SELECT count(*) FROM keys").fetchall()[0][0] == len(load_truth("redis-7.4.1"))
    # and a glob naming both, and the Parquet file alone
    assert len(dataset.resolve([str(d / "*")])) == 1
    with dataset.open_dataset([first[0].parquet]) as ds:
        assert ds.sql("SELECT count(*) FROM keys").fetchall()[0][0] == len(load_truth("redis-7.4.1"))


def rdbscan_cli(*args, cwd=None):
    # The interpreter running the tests, not whatever "rdbscan" comes first on PATH.
    cmd = [sys.executable, "-m", "rdbscan"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cache_reuse_and_rescan(tmp_path):
    dump = tmp_path / "prod.rdb"
    shutil.copy(dump_path("redis-7.4.1"), dump)
    cache = tmp_path / "cache"
    r1 = rdbscan_cli("report", "summary", dump, "--cache-dir", cache)
    assert r1.returncode == 0, r1.stderr
    assert "scanned" in r1.stderr and str(cache) in r1.stderr
    r2 = rdbscan_cli("report", "summary", dump, "--cache-dir", cache)
    assert r2.returncode == 0 and "using the cached scan" in r2.stderr
    assert r2.stdout == r1.stdout
    st = os.stat(dump)
    os.utime(dump, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))      # touched
    r3 = rdbscan_cli("report", "summary", dump, "--cache-dir", cache)
    assert r3.returncode == 0 and "scanned" in r3.stderr and "using the cached" not in r3.stderr
    shutil.copy(dump_path("valkey-8.0.1"), dump)                               # replaced by another dump
    r4 = rdbscan_cli("report", "summary", dump, "--cache-dir", cache, "--format", "json")
    assert "scanned" in r4.stderr
    doc = json.loads(r4.stdout)
    assert doc["sections"]["summary"]["tables"]["overview"][0]["keys"] == len(load_truth("valkey-8.0.1"))
    # the default: beside the dump, when its directory is writable
    r5 = rdbscan_cli("report", "summary", dump)
    assert r5.returncode == 0 and os.path.exists(str(dump) + ".rdbscan.parquet")


# ---- rdbscan sql ------------------------------------------------------------------------------

def test_sql_views(cache_dir):
    name = "redis-7.4.1"
    dump = dump_path(name)
    truth = load_truth(name)
    r = rdbscan_cli("sql", "SELECT count(*) AS n, sum(memory_bytes) AS m FROM keys", dump, "--cache-dir", cache_dir,
                    "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert doc["sections"]["query"]["tables"]["rows"][0]["n"] == len(truth)
    r = rdbscan_cli("sql", "SELECT server, rdb_version, keys FROM meta", dump, "--cache-dir", cache_dir, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows == [{"server": "redis 7.4.1", "rdb_version": "12", "keys": str(len(truth))}]
    r = rdbscan_cli("sql", "SELECT pattern, sum(keys) AS keys FROM pattern_stats GROUP BY pattern "
                    "ORDER BY pattern", dump, "--cache-dir", cache_dir, "--format", "json")
    rows = json.loads(r.stdout)["sections"]["query"]["tables"]["rows"]
    assert sum(r["keys"] for r in rows) == len(truth)
    assert {"pattern": "user:{id}:profile", "keys": 40} in rows
    r = rdbscan_cli("sql", "SELECT key_pattern('user:42:x') AS p", dump, "--cache-dir", cache_dir, "--format", "csv")
    assert r.stdout.splitlines() == ["p", "user:{id}:x"]


# ---- output formats ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["redis-7.4.1-lru", "redis-7.4.1-lfu", "valkey-8.0.1-cluster", "redis-2.8.24"])
def test_json_validates_against_the_schema(cache_dir, name):
    r = rdbscan_cli("report", dump_path(name), "--cache-dir", cache_dir, "--format", "json",
                    *(["--allocator", "jemalloc-16"] if model_options(name)["allocator"] == "jemalloc-16" else []))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert list(doc["sections"]) == [s for s in reports.SECTIONS
                                     if s not in reports.FLEET_SECTIONS + reports.ASKED_SECTIONS]
    one = json.loads(rdbscan_cli("report", "nottl", dump_path(name), "--cache-dir", cache_dir, "--format", "json",
                                 "--match", "no-such-key*").stdout)
    jsonschema.validate(one, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert list(one["sections"]) == ["nottl"]


@pytest.mark.parametrize("names", [["redis-7.4.1-lfu"], ["redis-7.4.1-lfu", "redis-7.4.1-cluster"]],
                         ids=["one-dump", "two-dumps"])
def test_schema_lists_exactly_the_columns(cache_dir, names):
    props = SCHEMA["properties"]["sections"]["properties"]
    assert set(props) == set(reports.SECTIONS) | {"query"}
    from rdbscan.analysis import whatif          # scanned for the default what-if scenarios
    scenarios = whatif.scenarios_from_specs([])
    with open_ds(cache_dir, *names, whatif_slots=whatif.slots_for(scenarios),
                 whatif_conv=whatif.conv_limits_for(scenarios)) as ds:
        result = reports.run(ds, reports.SECTIONS, scenarios=scenarios)
    for name, sec in result.items():
        tables = props[name]["properties"]["tables"]
        fleet_tables = {st.name for st in reports.parse(reports.sql_text(name))[1] if st.fleet}
        assert not fleet_tables & set(tables["required"]), name     # absent for one dump
        assert set(tables["required"]) | (fleet_tables if len(names) > 1 else set()) == set(sec.tables), name
        for tname, tab in sec.tables.items():
            columns = list(tables["properties"][tname]["items"]["properties"])
            if len(names) == 1 and name not in reports.FLEET_SECTIONS:
                columns = [c for c in columns if c != "source"]     # one dump: no source column
            assert columns == tab.column_names, (name, tname)
            required = tables["properties"][tname]["items"]["required"]
            fleet_only = name in reports.FLEET_SECTIONS or tname in fleet_tables    # always with source
            assert set(required) == set(columns) - {"source"} or fleet_only, (name, tname)


def test_csv_parses(cache_dir):
    r = rdbscan_cli("report", dump_path("redis-7.4.1"), "--cache-dir", cache_dir, "--format", "csv", "--top", "3")
    assert r.returncode == 0, r.stderr
    blocks = r.stdout.split("\n\n")
    heads = [b.splitlines()[0] for b in blocks]
    with open_ds(cache_dir, "redis-7.4.1") as ds:
        result = reports.run(ds, top=3)
    want = [f"# {s}.{t}" for s, sec in result.items() for t in sec.tables]
    assert heads == want
    for block, (s, t) in zip(blocks, [(s, t) for s, sec in result.items() for t in sec.tables]):
        rows = list(csv.DictReader(io.StringIO(block.split("\n", 1)[1])))
        assert len(rows) == result[s].tables[t].num_rows, (s, t)
        if rows:
            assert list(rows[0]) == result[s].tables[t].column_names
    one = rdbscan_cli("report", "bigkeys", dump_path("redis-7.4.1"), "--cache-dir", cache_dir, "--format", "csv")
    assert one.stdout.startswith("# bigkeys.by_memory\ndb,key,type,encoding,memory_bytes,length,expire_at\n")


def test_markdown_has_pipe_tables(cache_dir):
    r = rdbscan_cli("report", dump_path("redis-7.4.1"), "--cache-dir", cache_dir, "--format", "markdown")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for s in reports.SECTIONS:
        assert (f"\n## {s}: " in "\n" + out) == (s not in reports.FLEET_SECTIONS + reports.ASKED_SECTIONS), s
    assert "| db | key | type | encoding | memory_bytes | length | expire_at |" in out
    assert "|---:|---|---|---|---:|---:|---|" in out or "|---:|---|" in out
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert lines and all(line.endswith("|") for line in lines)
    assert "> the dump does not say it comes from a cluster" in out


# ---- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["sql", "SELEC nonsense", "DUMP"], "rdbscan:"),
    (["sql", "SELECT * FROM no_such_table", "DUMP"], "no_such_table"),
    (["report", "/nonexistent/dump.rdb"], "no such file or directory"),
    (["report", "NOTADUMP"], "neither an RDB dump nor a Parquet file"),
    (["report", "bigkeys", "/nonexistent/*.rdb"], "no file matches"),
    (["report", "DUMP", "--pattern-rules", "re:([ => x"], "bad regular expression"),
])
def test_errors_are_one_line_and_exit_2(tmp_path, cache_dir, args, message):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a dump\n")
    args = [str(dump_path("redis-7.4.1")) if a == "DUMP" else str(bad) if a == "NOTADUMP" else a for a in args]
    r = rdbscan_cli(*args, "--cache-dir", cache_dir)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.splitlines() if not line.startswith("rdbscan: using the cached scan")]
    assert len(lines) == 1 and lines[0].startswith("rdbscan: ") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_candidate_lists_fall_back_to_subqueries(tmp_path, monkeypatch):
    """Top-N tables find their rows by number first; past MAX_LIST rows a subquery replaces the literal list."""
    from rdbscan.analysis import dataset, reports
    names = ["bigkeys", "patterns", "ttl", "slots"]
    with dataset.open_dataset([dump_path("redis-7.4.1-lru")], cache_dir=str(tmp_path)) as ds:
        literal = reports.run(ds, names)
    monkeypatch.setattr(reports, "MAX_LIST", 2)
    with dataset.open_dataset([dump_path("redis-7.4.1-lru")], cache_dir=str(tmp_path)) as ds:
        fallback = reports.run(ds, names)
    for name in names:
        for t, table in literal[name].tables.items():
            assert table.equals(fallback[name].tables[t]), (name, t)
    assert all(literal[n].tables[t].num_rows for n, t in [("bigkeys", "by_type_memory"), ("patterns", "patterns"),
                                                          ("slots", "top_slots")])
