"""The per-shard view, `report shards` and `report rebalance` on a real Redis Cluster.

Three masters of Debian's redis-server in cluster mode on loopback get keys
deliberately skewed: two hash tags pile most of the memory into two slots of
the first master, one big hash sits on the second.  Each node reloads its
data (DEBUG RELOAD, so MEMORY USAGE is what a server answers for a loaded
dump) and BGSAVEs; the dumps are copied aside and scanned.  The shards table
must equal each node's DBSIZE and the sum of its keys' MEMORY USAGE; the
rebalance plan's predicted after-state must equal the per-slot sums of the
real keys -- and, once the plan is carried out on the live cluster (MIGRATE,
CLUSTER SETSLOT), what the nodes then hold.
"""

import json
import random
import shutil
import time

import jsonschema
import pytest
from click.testing import CliRunner

from rdbscan import cli
from rdbscan.analysis import dataset, rebalance, reports
from conftest import dump_path, load_truth, reference_slot
from servers import running_cluster
from test_reports import SCHEMA

HOT_TAGS = {"cart": 500, "feed": 250}     # tag -> keys of ~2 KB, all in one slot of the first master


def invoke(*args):
    """Run the CLI in-process; returns click's Result."""
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def report_json(*args):
    res = invoke("report", *args, "--format", "json", "--allocator", "jemalloc-16", "--cluster")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["sections"]


def tag_in(first, last, prefix):
    """A hash tag whose slot lies in [first, last]."""
    for i in range(100_000):
        if first <= reference_slot(f"{prefix}{i}".encode()) <= last:
            return f"{prefix}{i}"
    raise AssertionError("no tag found")


def owner(nodes, slot):
    return next(n for n in nodes if n["slots"][0] <= slot <= n["slots"][1])


def populate(nodes):
    """Uniform keys on every master, two hot hash tags on the first, one big hash on the second."""
    rng = random.Random(10)
    pipes = {n["port"]: n["client"].pipeline(transaction=False) for n in nodes}

    def on(key):
        return pipes[owner(nodes, reference_slot(key.encode()))["port"]]
    for i in range(3000):
        kind = i % 5
        if kind == 0:
            on(f"session:{i}").set(f"session:{i}", "s" * rng.randint(20, 300), ex=3600 * (1 + i % 7))
        elif kind == 1:
            on(f"user:{i}").hset(f"user:{i}", mapping={f"f{j}": f"value-{j}" * rng.randint(1, 4)
                                                        for j in range(rng.randint(2, 20))})
        elif kind == 2:
            on(f"queue:{i}").rpush(f"queue:{i}", *[f"job-{j}" for j in range(rng.randint(1, 40))])
        elif kind == 3:
            on(f"tags:{i}").sadd(f"tags:{i}", *[f"t{j}" for j in range(rng.randint(1, 10))])
        else:
            on(f"counter:{i}").set(f"counter:{i}", rng.randint(0, 10**9))
    first = nodes[0]["slots"]
    tags = {}
    for prefix, count in HOT_TAGS.items():
        tag = tag_in(*first, prefix)
        tags[prefix] = tag
        for j in range(count):
            key = f"{{{tag}}}:item:{j}"
            on(key).set(key, "x" * 2000 + str(j))
    big = "feed:big"
    assert owner(nodes, reference_slot(big.encode())) is nodes[1]   # the test's design: the big key on the second
    for j in range(0, 6000, 500):
        on(big).hset(big, mapping={f"entry:{k}": f"payload-{k}" * 3 for k in range(j, j + 500)})
    for p in pipes.values():
        p.execute()
    return tags, big


def reload_and_save(node):
    """DEBUG RELOAD (MEMORY USAGE as for a loaded dump), then BGSAVE and wait for it."""
    c = node["client"]
    c.execute_command("DEBUG", "RELOAD")
    c.bgsave()        # answers once the child is forked: in progress until it is done
    deadline = time.monotonic() + 60
    while (info := c.info("persistence"))["rdb_bgsave_in_progress"]:
        assert time.monotonic() < deadline, "BGSAVE did not finish"
        time.sleep(0.05)
    assert info["rdb_last_bgsave_status"] == "ok"


def node_truth(node):
    """{key: (slot, MEMORY USAGE)} of every key on a node, its DBSIZE and the set of its keys with a TTL."""
    c = node["client"]
    keys, volatile = {}, set()
    for k in c.scan_iter(count=1000):
        keys[k.decode()] = (reference_slot(k), c.memory_usage(k, samples=0))
        if c.pttl(k) >= 0:
            volatile.add(k.decode())
    return keys, c.dbsize(), volatile


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    with running_cluster(base / "nodes", 3, "--enable-debug-command", "yes") as nodes:
        tags, big = populate(nodes)
        dumps, truth = [], {}
        for n in nodes:
            reload_and_save(n)
            keys, size, volatile = node_truth(n)
            copy = base / "dumps" / n["dir"].name / "dump.rdb"     # kept aside: the nodes save again later
            copy.parent.mkdir(parents=True)
            shutil.copy(n["dir"] / "dump.rdb", copy)
            dumps.append(copy)
            truth[n["dir"].name] = {"keys": keys, "dbsize": size, "volatile": volatile, "node": n}
        yield {"nodes": nodes, "dumps": dumps, "truth": truth, "tags": tags, "big": big,
               "cache": base / "cache"}


def fleet(cluster, *sections):
    return report_json(*sections, *cluster["dumps"], "--cache-dir", cluster["cache"])


# ---- shards -----------------------------------------------------------------------------------

def test_shards_equal_each_nodes_dbsize_and_memory_usage(cluster):
    sections = fleet(cluster, "shards")
    rows = {r["shard"]: r for r in sections["shards"]["tables"]["shards"]}
    truth = cluster["truth"]
    assert set(rows) == set(truth)                         # shard names: the node directories
    total = sum(sum(m for _, m in t["keys"].values()) for t in truth.values())
    mean = total / 3
    for name, t in truth.items():
        r = rows[name]
        memory = sum(m for _, m in t["keys"].values())
        assert r["keys"] == t["dbsize"] == len(t["keys"])
        assert r["memory_bytes"] == memory, name
        assert r["memory_share"] == pytest.approx(memory / total, abs=1e-4)
        assert r["deviation_from_mean"] == pytest.approx(memory / mean - 1, abs=1e-4)
        assert r["source"].endswith(f"{name}/dump.rdb") and r["server"] == "redis 7.0.15"
        assert r["used_mem"] > memory and 0 < r["estimated_share_of_used_mem"] < 1
    fleet_row = sections["shards"]["tables"]["fleet"][0]
    assert (fleet_row["dumps"], fleet_row["memory_bytes"]) == (3, total)
    assert fleet_row["keys"] == sum(t["dbsize"] for t in truth.values())
    assert fleet_row["used_mem"] == sum(r["used_mem"] for r in rows.values())


def test_shards_flag_skew_and_big_keys(cluster):
    sections = fleet(cluster, "shards")
    rows = {r["shard"]: r for r in sections["shards"]["tables"]["shards"]}
    truth = cluster["truth"]
    first, second, third = (n["dir"].name for n in cluster["nodes"])
    memory = {name: sum(m for _, m in t["keys"].values()) for name, t in truth.items()}
    mean = sum(memory.values()) / 3
    for name in truth:
        skewed = memory[name] > 1.5 * mean
        assert ("skew:" in (rows[name]["flags"] or "")) == skewed, name
        biggest = max(truth[name]["keys"].items(), key=lambda kv: (kv[1][1], [-ord(c) for c in kv[0]]))
        assert ("big key:" in (rows[name]["flags"] or "")) == (biggest[1][1] > 0.10 * memory[name]), name
    assert memory[first] > 1.5 * mean and "skew:" in rows[first]["flags"]      # the hot tags' shard
    assert f"big key: {cluster['big']} holds" in rows[second]["flags"]
    assert rows[third]["flags"] is None
    assert sections["shards"]["tables"]["fleet"][0]["largest_shard"] == first


def test_shards_contents_slots_biggest_key_top_pattern(cluster):
    sections = fleet(cluster, "shards")
    contents = {r["shard"]: r for r in sections["shards"]["tables"]["contents"]}
    with dataset.open_dataset(cluster["dumps"], cache_dir=cluster["cache"], allocator="jemalloc-16",
                              cluster=True) as ds:
        patterns = dict(ds.sql("SELECT key, pattern FROM keys").fetchall())
    for node in cluster["nodes"]:
        name = node["dir"].name
        keys = cluster["truth"][name]["keys"]
        row = contents[name]
        # the slots as ranges: every slot with a key of this node, none of another's, inside its own range
        covered = set()
        for part in row["slots"].split(", "):
            first, _, last = part.partition("-")
            covered |= set(range(int(first), int(last or first) + 1))
        mine = {s for s, _ in keys.values()}
        assert mine <= covered and row["slot_count"] == len(mine) and row["slots_from"] == "keys"
        assert min(covered) >= node["slots"][0] and max(covered) <= node["slots"][1]
        others = {s for n, t in cluster["truth"].items() if n != name for s, _ in t["keys"].values()}
        assert not covered & others
        top = max(m for _, m in keys.values())
        assert row["biggest_key_bytes"] == top
        assert row["biggest_key"] == min(k for k, (_, m) in keys.items() if m == top)
        by_pattern = {}
        for k, (_, m) in keys.items():
            by_pattern[patterns[k]] = by_pattern.get(patterns[k], 0) + m
        best = max(by_pattern.values())
        assert row["top_pattern_bytes"] == best
        assert row["top_pattern"] == min(p for p, m in by_pattern.items() if m == best)


# ---- the per-shard view in the other reports ------------------------------------------------

def test_eviction_per_shard_equals_each_nodes_keys(cluster):
    truth = cluster["truth"]
    memory = {name: sum(m for _, m in t["keys"].values()) for name, t in truth.items()}
    volatile = {name: sum(t["keys"][k][1] for k in t["volatile"]) for name, t in truth.items()}
    assert all(0 < volatile[n] < memory[n] for n in truth)      # sessions with a TTL on every master
    sections = fleet(cluster, "eviction")
    ev = sections["eviction"]
    rows = ev["tables"]["shards"]
    by_name = {r["shard"]: r for r in rows}
    assert set(by_name) == set(truth)
    for name in truth:
        r = by_name[name]
        assert (r["key_memory"], r["volatile_evictable_bytes"]) == (memory[name], volatile[name]), name
        assert r["volatile_share"] == pytest.approx(volatile[name] / memory[name], abs=1e-4)
        # no --maxmemory: each server at its limit, its used-mem
        assert r["maxmemory"] == r["used_mem"] > memory[name] and r["must_free"] == 0
        assert r["used_share_of_maxmemory"] == 1
        assert r["cold_evictable_bytes"] is None       # noeviction servers save no idle times or counters
        assert r["source"].endswith(f"{name}/dump.rdb")
    pressure = ev["tables"]["pressure"][0]
    assert pressure["key_memory"] == sum(memory.values())
    assert pressure["key_memory_with_ttl"] == sum(volatile.values())
    # the shard that runs out first: the least memory with a TTL for its used memory
    worst = min(truth, key=lambda n: (volatile[n] / by_name[n]["used_mem"], n))
    assert rows[0]["shard"] == worst
    assert [n for n in ev["notes"] if n.startswith(f"worst shard: {worst} uses ")]

    # --maxmemory is each server's limit: the shards above it must free the difference there
    used = sorted(r["used_mem"] for r in rows)
    limit = (used[0] + used[1]) // 2
    ev = fleet(cluster, "eviction", "--maxmemory", limit)["eviction"]
    by_name = {r["shard"]: r for r in ev["tables"]["shards"]}
    for name in truth:
        r = by_name[name]
        assert (r["maxmemory"], r["must_free"]) == (limit, max(r["used_mem"] - limit, 0)), name
        assert r["key_memory"] == memory[name] and r["volatile_evictable_bytes"] == volatile[name]
        short = r["must_free"] > volatile[name]
        assert r["verdict"].startswith("volatile-* cannot relieve") == short, name
    pressure = ev["tables"]["pressure"][0]
    assert pressure["maxmemory"] == 3 * limit
    assert pressure["must_free"] == sum(r["must_free"] for r in by_name.values())
    shorts = sum(r["must_free"] > volatile[n] for n, r in by_name.items())
    verdicts = {p["policy"]: p["verdict"] for p in ev["tables"]["policies"]}
    assert shorts >= 1 and verdicts["volatile-lru"].startswith(f"cannot relieve on {shorts} of 3 shards")
    assert verdicts["allkeys-lru"] == "can relieve the pressure"
    worst = ev["tables"]["shards"][0]
    assert any(n.startswith(f"worst shard: {worst['shard']} uses ") and "must free" in n for n in ev["notes"])


def test_ranked_tables_name_each_rows_dump(cluster):
    sections = fleet(cluster, "bigkeys", "nottl", "ttl", "slots", "--top", "25")
    where = {k: name for name, t in cluster["truth"].items() for k in t["keys"]}
    sources = {n["dir"].name: str(d) for n, d in zip(cluster["nodes"], cluster["dumps"])}
    seen = 0
    for sec in ("bigkeys", "nottl", "ttl"):
        for tname, rows in sections[sec]["tables"].items():
            for r in rows:
                if "key" in r:
                    assert r["source"] == sources[where[r["key"]]], (sec, tname, r)
                    seen += 1
    assert seen > 100
    holders = {}
    for name, t in cluster["truth"].items():
        for slot, _ in t["keys"].values():
            holders.setdefault(slot, set()).add(sources[name])
    for r in sections["slots"]["tables"]["top_slots"]:
        assert r["source"] == ", ".join(sorted(holders[r["slot"]]))
    hot = sections["slots"]["tables"]["top_slots"][0]
    assert hot["slot"] == reference_slot(cluster["tags"]["cart"].encode())


def test_one_dump_has_no_source_column(cluster):
    sections = report_json("bigkeys", cluster["dumps"][0], "--cache-dir", cluster["cache"])
    assert all("source" not in r for r in sections["bigkeys"]["tables"]["by_memory"])


# ---- rebalance --------------------------------------------------------------------------------

def real_after(cluster, moves):
    """Each node's keys and memory after the moves, from the real keys' per-slot sums."""
    owner_of = {}
    for name, t in cluster["truth"].items():
        for k, (slot, m) in t["keys"].items():
            owner_of.setdefault((name, slot), []).append(m)
    after = {name: {"keys": len(t["keys"]), "memory": sum(m for _, m in t["keys"].values())}
             for name, t in cluster["truth"].items()}
    carried = []
    for mv in moves:
        ms = [m for (name, slot), v in owner_of.items() if name == mv["from_shard"]
              and mv["first_slot"] <= slot <= mv["last_slot"] for m in v]
        carried.append((len(ms), sum(ms)))
        after[mv["from_shard"]]["keys"] -= len(ms)
        after[mv["from_shard"]]["memory"] -= sum(ms)
        after[mv["to_shard"]]["keys"] += len(ms)
        after[mv["to_shard"]]["memory"] += sum(ms)
    return after, carried


def test_rebalance_plan_predicts_the_real_after_state(cluster):
    sec = fleet(cluster, "rebalance")["rebalance"]
    moves, shards, summary = (sec["tables"][t] for t in ("moves", "shards", "summary"))
    summary = summary[0]
    assert moves, "the skewed cluster needs moves"
    after, carried = real_after(cluster, moves)
    for mv, (keys, memory) in zip(moves, carried):
        assert (mv["keys"], mv["memory_bytes"]) == (keys, memory), mv
        assert mv["move"].startswith(f"move slot") and f"from {mv['from_shard']} to {mv['to_shard']}" in mv["move"]
    for r in shards:
        assert (r["keys_after"], r["memory_after"]) == (after[r["shard"]]["keys"], after[r["shard"]]["memory"])
    before = {name: sum(m for _, m in t["keys"].values()) for name, t in cluster["truth"].items()}
    mean = sum(before.values()) / 3
    assert summary["largest_before_bytes"] == max(before.values())
    assert summary["largest_after_bytes"] == max(a["memory"] for a in after.values())
    assert summary["largest_after_bytes"] < summary["largest_before_bytes"]
    # no giver falls below the mean, no receiver rises above it
    for r in shards:
        if r["memory_delta"] < 0:
            assert r["memory_after"] >= mean
        elif r["memory_delta"] > 0:
            assert r["memory_after"] <= mean
    # the first shard cannot reach the mean: its hottest tag's slot is bigger than any room
    hot = reference_slot(cluster["tags"]["cart"].encode())
    assert any(f"its slot {hot} alone holds" in n for n in sec["notes"]), sec["notes"]
    assert all(not (m["first_slot"] <= hot <= m["last_slot"]) for m in moves)


def migrate(nodes, moves, by_name):
    """Carry the plan out: every slot of every range, keys by MIGRATE, ownership by CLUSTER SETSLOT."""
    ids = {n["port"]: n["client"].execute_command("CLUSTER", "MYID").decode() for n in nodes}
    for mv in moves:
        src, dst = by_name[mv["from_shard"]], by_name[mv["to_shard"]]
        for slot in range(mv["first_slot"], mv["last_slot"] + 1):
            s, d = src["client"], dst["client"]
            if s.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot):
                d.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src["port"]])
                s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst["port"]])
                while True:
                    keys = s.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 500)
                    if not keys:
                        break
                    s.execute_command("MIGRATE", "127.0.0.1", dst["port"], "", 0, 10000, "KEYS", *keys)
            for n in (dst, src) + tuple(n for n in nodes if n is not src and n is not dst):
                n["client"].execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[dst["port"]])


def test_carrying_out_the_plan_gives_the_predicted_memory(cluster):
    """The plan on the live cluster: afterwards each node holds what the report predicted."""
    sec = fleet(cluster, "rebalance")["rebalance"]
    nodes = cluster["nodes"]
    by_name = {n["dir"].name: n for n in nodes}
    migrate(nodes, sec["tables"]["moves"], by_name)
    for r in sec["tables"]["shards"]:
        node = by_name[r["shard"]]
        node["client"].execute_command("DEBUG", "RELOAD")
        keys, size, _ = node_truth(node)
        assert size == r["keys_after"], r["shard"]
        assert sum(m for _, m in keys.values()) == r["memory_after"], r["shard"]
        moves = sec["tables"]["moves"]
        assert all(by_name[r["shard"]] is owner_after(moves, nodes, by_name, s) for s, _ in keys.values())


def test_diff_of_two_fleet_snapshots_names_the_dumps(cluster, tmp_path):
    """After the migration, new keys and a grown one: diff's key tables say in which dump each key is."""
    nodes = cluster["nodes"]
    grown = next(k for k in cluster["truth"][nodes[2]["dir"].name]["keys"] if k.startswith("queue:"))
    for key, action in (("blob:new", lambda c, k: c.set(k, "b" * 50_000)),
                        (grown, lambda c, k: c.rpush(k, *[f"more-{j}" for j in range(300)]))):
        action(serving(nodes, reference_slot(key.encode()))["client"], key)
    after = []
    for n in nodes:
        reload_and_save(n)
        copy = tmp_path / "after" / n["dir"].name / "dump.rdb"
        copy.parent.mkdir(parents=True)
        shutil.copy(n["dir"] / "dump.rdb", copy)
        after.append(copy)
    old = str(cluster["dumps"][0].parent.parent / "*" / "dump.rdb")
    res = invoke("diff", old, str(tmp_path / "after" / "*" / "dump.rdb"), "--cache-dir", cluster["cache"],
                 "--format", "json", "--allocator", "jemalloc-16", "--cluster")
    assert res.exit_code == 0, res.output
    t = json.loads(res.stdout)["sections"]["diff"]["tables"]
    where = {}
    for n, path in zip(nodes, after):
        for k in n["client"].scan_iter(count=1000):
            where[k.decode()] = str(path)
    assert t["new_big_keys"][0]["key"] == "blob:new" and t["new_big_keys"][0]["source"] == where["blob:new"]
    assert t["top_growers"][0]["key"] == grown and t["top_growers"][0]["source"] == where[grown]
    totals = {r["metric"]: r for r in t["totals"]}
    with dataset.open_dataset(cluster["dumps"], cache_dir=cluster["cache"], allocator="jemalloc-16",
                              cluster=True) as ds:
        assert totals["used_mem"]["before"] == sum(m["used_mem"] for m in ds.meta())


def serving(nodes, slot):
    """The node that serves ``slot`` now, by its own CLUSTER NODES line."""
    for node in nodes:
        me = node["client"].execute_command("CLUSTER", "MYID").decode()
        line = next(x for x in node["client"].execute_command("CLUSTER", "NODES").decode().splitlines()
                    if x.startswith(me))
        for part in line.split()[8:]:
            first, _, last = part.partition("-")
            if not part.startswith("[") and int(first) <= slot <= int(last or first):
                return node
    raise AssertionError(f"no node serves slot {slot}")


def owner_after(moves, nodes, by_name, slot):
    node = owner(nodes, slot)
    for mv in moves:
        if mv["first_slot"] <= slot <= mv["last_slot"] and by_name[mv["from_shard"]] is node:
            node = by_name[mv["to_shard"]]
    return node


# ---- the plan's method, on its own --------------------------------------------------------------

def test_plan_moves_ranges_and_stops_at_the_mean():
    rng = random.Random(3)
    slots = []
    for shard, (first, last), scale in (("a", (0, 5460), 3), ("b", (5461, 10922), 1), ("c", (10923, 16383), 1)):
        for s in range(first, last + 1, 3):
            slots.append({"shard": shard, "slot": s, "memory_bytes": rng.randint(0, 1000) * scale})
    moves = rebalance.plan(slots)
    memory = {s: sum(r["memory_bytes"] for r in slots if r["shard"] == s) for s in "abc"}
    mean = sum(memory.values()) / 3
    held = {(r["shard"], r["slot"]): r["memory_bytes"] for r in slots}
    moved_slots = set()
    for mv in moves:
        assert mv["from_shard"] == "a" and mv["first_slot"] <= mv["last_slot"]
        span = [s for (sh, s) in held if sh == "a" and mv["first_slot"] <= s <= mv["last_slot"]]
        assert not moved_slots & set(span)
        moved_slots |= set(span)
        carried = sum(held[("a", s)] for s in span)
        memory["a"] -= carried
        memory[mv["to_shard"]] += carried
        assert memory["a"] >= mean and memory[mv["to_shard"]] <= mean
    assert max(memory.values()) <= 1.01 * mean


def test_plan_leaves_a_hot_slot_and_evens_the_rest():
    slots = [{"shard": "a", "slot": 1, "memory_bytes": 900}, {"shard": "a", "slot": 2, "memory_bytes": 60},
             {"shard": "b", "slot": 6000, "memory_bytes": 100}, {"shard": "c", "slot": 12000, "memory_bytes": 0}]
    moves = rebalance.plan(slots, shards=["a", "b", "c", "d"])
    assert moves == [{"step": 1, "from_shard": "a", "to_shard": "c", "first_slot": 2, "last_slot": 2}]
    assert rebalance.plan(slots[:1]) == [] and rebalance.plan([]) == []


def test_plan_never_crosses_another_shards_slot():
    slots = [{"shard": "a", "slot": s, "memory_bytes": 10} for s in (1, 2, 3, 7, 8, 9)]
    slots.append({"shard": "b", "slot": 5, "memory_bytes": 0})
    moves = rebalance.plan(slots, shards=["a", "b"])
    for mv in moves:
        assert not mv["first_slot"] <= 5 <= mv["last_slot"]
    assert sum(10 for mv in moves for s in (1, 2, 3, 7, 8, 9) if mv["first_slot"] <= s <= mv["last_slot"]) == 30


# ---- fixtures side by side ----------------------------------------------------------------------

def test_fleet_of_fixtures_adds_up(tmp_path):
    names = ["redis-7.4.1", "valkey-8.0.1", "redis-7.2.6"]
    res = invoke("report", "summary", "shards", *[dump_path(n) for n in names], "--cache-dir", tmp_path,
                 "--format", "json")
    assert res.exit_code == 0, res.output
    assert list(json.loads(res.stdout)["sections"]) == ["summary", "shards"]      # sections named, in order
    for extra in ([], ["--match", "no-such-key*"]):                              # the whole report, and empty
        res = invoke("report", *[dump_path(n) for n in names], "--cache-dir", tmp_path, "--format", "json", *extra)
        assert res.exit_code == 0, res.output
        jsonschema.validate(json.loads(res.stdout), SCHEMA, cls=jsonschema.Draft202012Validator)
    with dataset.open_dataset([dump_path(n) for n in names], cache_dir=str(tmp_path)) as ds:
        result = reports.run(ds)
        used = [m["used_mem"] for m in ds.meta()]
    assert list(result) == [s for s in reports.SECTIONS if s not in reports.ASKED_SECTIONS]   # the fleet ones too
    overview = result["summary"].tables["overview"].to_pylist()[0]
    assert overview["files"] == 3 and overview["used_mem"] == sum(used) and None not in used
    assert overview["keys"] == sum(len(load_truth(n)) for n in names)
    shards = result["shards"].tables["shards"].to_pylist()
    assert [r["shard"] for r in sorted(shards, key=lambda r: r["shard"])] == sorted(names)
    assert sum(r["keys"] for r in shards) == overview["keys"]
    assert sum(r["memory_bytes"] for r in shards) == overview["memory_bytes"]
    assert sum(r["memory_share"] for r in shards) == pytest.approx(1, abs=2e-4)


def test_shard_labels():
    assert dataset.shard_labels(["/b/7000/dump.rdb", "/b/7001/dump.rdb"]) == ["7000", "7001"]
    assert dataset.shard_labels(["s3://bkt/p/a.rdb", "s3://bkt/p/b.rdb"]) == ["a.rdb", "b.rdb"]
    assert dataset.shard_labels(["a.rdb", "x/a.rdb"]) == ["a.rdb", "x/a.rdb"]
    assert dataset.shard_labels(["/x/dump.rdb"]) == ["/x/dump.rdb"]
    assert dataset.shard_labels(["n1/dump.rdb", "n1/dump.rdb.gz"]) == ["dump.rdb", "dump.rdb.gz"]
