"""``rdbscan diff`` and ``rdbscan check`` on two dumps a real redis-server wrote before and after a change.

The server saves OLD, then the test adds users, persists some cache keys
(their TTL is lost), deletes sessions, grows a list, adds a big blob, a
``tmp:`` key and unacknowledged stream entries, and saves NEW.  diff's
numbers are checked against sums over the two scans done independently in
Python; every rule kind of check is made to pass and to fail.
"""

import json
import os
import shutil
import uuid
from xml.etree import ElementTree as ET

import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

import rdbscan
from rdbscan import cli
from rdbscan.analysis import patterns
from servers import running_server


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    """(old.rdb, new.rdb, cache dir) written by one live server."""
    d = tmp_path_factory.mktemp("diff")
    with running_server(d) as r:
        for i in range(200):
            r.hset(f"user:{i}:profile", mapping={"name": f"user{i}", "email": f"u{i}@example.com"})
        for i in range(100):
            r.set(f"cache:{i}", "x" * 100, ex=3600)
        sessions = [str(uuid.UUID(int=i + 1)) for i in range(50)]
        for s in sessions:
            r.set(f"session:{s}", "token", ex=600)
        r.rpush("list:log", *[f"line {i}" for i in range(100)])
        r.xadd("events", {"n": 0})
        r.xgroup_create("events", "workers", id="0")
        for i in range(20):
            r.xadd("events", {"n": i + 1})
        r.xreadgroup("workers", "c1", {"events": ">"}, count=5)
        r.save()
        shutil.copy(d / "dump.rdb", d / "old.rdb")

        for i in range(200, 500):
            r.hset(f"user:{i}:profile", mapping={"name": f"user{i}", "email": f"u{i}@example.com"})
        for i in range(10):
            r.persist(f"cache:{i}")
        for s in sessions[:10]:
            r.delete(f"session:{s}")
        r.rpush("list:log", *[f"line {i}" for i in range(100, 3000)])
        r.set("blob:big", os.urandom(200_000))
        r.set("tmp:scratch", "1")
        r.xreadgroup("workers", "c2", {"events": ">"}, count=100)
        r.save()
        shutil.copy(d / "dump.rdb", d / "new.rdb")
    return d / "old.rdb", d / "new.rdb", d / "cache"


def invoke(*args, cwd=None, env=None):
    """Run the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        return runner.invoke(cli.main, [str(a) for a in args], env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def tables(dumps):
    old, new, _ = dumps
    return rdbscan.read_table(str(old)), rdbscan.read_table(str(new))


def by_key(table):
    cols = table.select(["db", "key", "memory_bytes", "expire_at", "type"]).to_pylist()
    return {(r["db"], r["key"]): r for r in cols}


def diff_json(dumps, *extra):
    old, new, cache = dumps
    res = invoke("diff", old, new, "--cache-dir", cache, "--format", "json", "--top", "1000", *extra)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["sections"]["diff"]["tables"]


def test_diff_totals_equal_sums_over_both_sides(dumps):
    t = diff_json(dumps)
    o, n = tables(dumps)
    ok, nk = by_key(o), by_key(n)
    totals = {r["metric"]: r for r in t["totals"]}
    assert totals["keys"]["before"] == o.num_rows and totals["keys"]["after"] == n.num_rows
    assert totals["memory_bytes"]["before"] == pc.sum(o["memory_bytes"]).as_py()
    assert totals["memory_bytes"]["after"] == pc.sum(n["memory_bytes"]).as_py()
    assert totals["keys_added"]["after"] == len(nk.keys() - ok.keys()) == 300 + 2
    assert totals["keys_removed"]["after"] == len(ok.keys() - nk.keys()) == 10
    lost = {k for k in ok.keys() & nk.keys() if ok[k]["expire_at"] is not None and nk[k]["expire_at"] is None}
    assert totals["keys_that_lost_ttl"]["after"] == len(lost) == 10
    assert {(r["db"], r["key"]) for r in t["lost_ttl"]} == lost


def test_diff_per_pattern_equals_python_sums(dumps):
    t = diff_json(dumps)
    o, n = tables(dumps)

    def per_pattern(table):
        pats = patterns.key_patterns(table["key"]).to_pylist()
        out = {}
        for p, m in zip(pats, table["memory_bytes"].to_pylist()):
            k, mem = out.get(p, (0, 0))
            out[p] = (k + 1, mem + m)
        return out
    po, pn = per_pattern(o), per_pattern(n)
    rows = {r["pattern"]: r for r in t["by_pattern"]}
    for p in set(po) | set(pn):
        before, after = po.get(p, (0, 0)), pn.get(p, (0, 0))
        if before == after:
            assert p not in rows
            continue
        r = rows[p]
        assert (r["keys_before"], r["memory_before"]) == before
        assert (r["keys_after"], r["memory_after"]) == after
        assert r["memory_delta"] == after[1] - before[1]
    assert rows["user:{id}:profile"]["keys_delta"] == 300
    assert rows["session:{uuid}"]["keys_delta"] == -10
    # the per-type and per-db deltas add up to the total
    total = sum(r["memory_delta"] for r in t["by_type"])
    assert total == sum(r["memory_delta"] for r in t["by_db"]) == pc.sum(n["memory_bytes"]).as_py() - pc.sum(
        o["memory_bytes"]).as_py()


def test_diff_big_keys_and_growers(dumps):
    t = diff_json(dumps)
    assert t["new_big_keys"][0]["key"] == "blob:big"
    assert {r["key"] for r in t["vanished_big_keys"]} == {
        f"session:{uuid.UUID(int=i + 1)}" for i in range(10)}
    assert t["top_growers"][0]["key"] == "list:log"
    o, n = tables(dumps)
    ok, nk = by_key(o), by_key(n)
    grew = sorted((nk[k]["memory_bytes"] - ok[k]["memory_bytes"], k) for k in ok.keys() & nk.keys()
                  if nk[k]["memory_bytes"] > ok[k]["memory_bytes"])
    assert {(r["db"], r["key"]) for r in t["top_growers"]} == {k for _, k in grew}


def test_diff_either_side_parquet_and_formats(dumps, tmp_path):
    old, new, cache = dumps
    out = tmp_path / "old.parquet"
    rdbscan.scan(str(old), str(out))
    res = invoke("diff", out, new, "--cache-dir", cache, "--format", "csv")
    assert res.exit_code == 0 and "# diff.totals" in res.stdout
    res = invoke("diff", out, new, "--cache-dir", cache, "--format", "markdown")
    assert res.exit_code == 0 and "| metric | before | after | delta | growth |" in res.stdout
    res = invoke("diff", out, tmp_path / "missing.rdb", "--cache-dir", cache)
    assert res.exit_code == 2 and "no such file" in res.stderr


# --- check: every rule kind passes and fails on purpose -----------------------------

RULE_FLAGS = [
    # (flags that pass, flags that fail); NEW: blob:big ~200 KB, a 3,000-element list, 21 pending entries
    (["--max-total-memory", "1GB"], ["--max-total-memory", "10KB"]),
    (["--max-keys", "100000"], ["--max-keys", "10"]),
    (["--max-key-bytes", "1MB"], ["--max-key-bytes", "100KB"]),
    (["--max-key-length", "1000000"], ["--max-key-length", "1000"]),
    (["--max-no-ttl-share", "100%"], ["--max-no-ttl-share", "5%"]),
    (["--require-ttl", "session:*"], ["--require-ttl", "cache:*"]),
    (["--forbid", "nope:*"], ["--forbid", "tmp:*"]),
    (["--max-stream-pending", "1000"], ["--max-stream-pending", "10"]),
    (["--max-growth", "1000%"], ["--max-growth", "1%"]),
    (["--max-growth", "1GB"], ["--max-growth", "1KB"]),
    (["--max-pattern-growth", "1000%"], ["--max-pattern-growth", "10%"]),
]


@pytest.mark.parametrize("passing,failing", RULE_FLAGS, ids=[p[0] for p, _ in RULE_FLAGS])
def test_check_flag_rules_pass_and_fail(dumps, passing, failing):
    old, new, cache = dumps
    extra = ["--baseline", old] if "growth" in passing[0] else []
    ok = invoke("check", new, "--cache-dir", cache, *extra, *passing)
    assert ok.exit_code == 0, ok.output
    assert "0 failed" in ok.stdout
    if passing[0] == "--max-pattern-growth":
        return   # patterns under 1 MB are ignored by default: the failing case is in test_check_rules_file_limits
    bad = invoke("check", new, "--cache-dir", cache, *extra, *failing)
    assert bad.exit_code == 1, bad.output
    assert "FAIL" in bad.stdout and "1 failed" in bad.stdout


def test_check_observed_values_match_the_scan(dumps):
    old, new, cache = dumps
    o, n = tables(dumps)
    res = invoke("check", new, "--cache-dir", cache, "--format", "json", "--max-keys", "1",
                 "--max-key-bytes", "1", "--require-ttl", "cache:*", "--max-stream-pending", "1")
    doc = json.loads(res.stdout)
    results = {r["rule"]: r for r in doc["results"]}
    assert results["max_keys"]["observed"] == n.num_rows
    assert results["max_key_bytes"]["observed"] == pc.max(n["memory_bytes"]).as_py()
    nottl_cache = [k for k, e in zip(n["key"].to_pylist(), n["expire_at"].to_pylist())
                   if k.startswith("cache:") and e is None]
    assert results["require_ttl[cache:*]"]["observed"] == len(nottl_cache) == 10
    pending = [p for p in n["stream_pending"].to_pylist() if p is not None]
    assert results["max_stream_pending"]["observed"] == max(pending) == 21   # every entry of the stream was delivered, none acknowledged
    assert doc["summary"] == {"passed": 0, "failed": 4, "skipped": 0}


def test_check_rules_file_limits(dumps, tmp_path):
    old, new, cache = dumps
    rules = tmp_path / "rules.toml"
    rules.write_text("""
max_pattern_growth = "10%"
pattern_growth_min_bytes = 0

[[limit]]
match = "user:*"
type = "hash"
max_key_bytes = "1KB"
max_keys = 1000
max_memory = "10MB"
max_growth = "1000%"

[[limit]]
name = "caches expire"
match = "cache:*"
require_ttl = true

[[limit]]
pattern = "list:log"
max_key_length = 100
""")
    res = invoke("check", new, "--baseline", old, "--cache-dir", cache, "--rules", rules, "--format", "json")
    assert res.exit_code == 1, res.output
    results = {r["rule"]: r["status"] for r in json.loads(res.stdout)["results"]}
    assert results == {
        "max_pattern_growth": "failed",
        "limit[match=user:*,type=hash].max_key_bytes": "passed",
        "limit[match=user:*,type=hash].max_keys": "passed",
        "limit[match=user:*,type=hash].max_memory": "passed",
        "limit[match=user:*,type=hash].max_growth": "passed",
        "caches expire.require_ttl": "failed",
        "limit[pattern=list:log].max_key_length": "failed",
    }
    # the same limits tightened / loosened flip
    rules.write_text('[[limit]]\nmatch = "user:*"\nmax_keys = 10\nmax_growth = "10%"\n')
    res = invoke("check", new, "--baseline", old, "--cache-dir", cache, "--rules", rules, "--format", "json")
    assert {r["status"] for r in json.loads(res.stdout)["results"]} == {"failed"}


def test_check_finds_rdbscan_toml_and_pyproject(dumps, tmp_path):
    old, new, cache = dumps
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.rdbscan]\nforbid = ["tmp:*"]\n')
    res = invoke("check", new, "--cache-dir", cache, cwd=tmp_path)
    assert res.exit_code == 1 and "forbid[tmp:*]" in res.stdout
    (tmp_path / "rdbscan.toml").write_text('forbid = ["nothing:*"]\n')
    res = invoke("check", new, "--cache-dir", cache, cwd=tmp_path)
    assert res.exit_code == 0 and "forbid[nothing:*]" in res.stdout


@pytest.mark.parametrize("text,expect", [
    ("max_keyz = 3\n", "unknown rule 'max_keyz'"),
    ("max_key_bytes = \"ten\"\n", "max_key_bytes: not a size"),
    ("max_no_ttl_share = 3\n", "expected a share"),
    ("[[limit]]\nmax_keys = 3\n", "say which keys it limits"),
    ("[[limit]]\nmatch = 'a'\nmax_kyes = 3\n", "unknown setting 'max_kyes'"),
    ("max_keys = [\n", "not valid TOML"),
])
def test_check_bad_rules_exit_2(dumps, tmp_path, text, expect):
    _, new, cache = dumps
    rules = tmp_path / "bad.toml"
    rules.write_text(text)
    res = invoke("check", new, "--cache-dir", cache, "--rules", rules)
    assert res.exit_code == 2
    assert expect in res.stderr and str(rules) in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_check_bad_input_and_no_rules_exit_2(dumps, tmp_path):
    _, new, cache = dumps
    junk = tmp_path / "junk.rdb"
    junk.write_bytes(b"not a dump at all")
    res = invoke("check", junk, "--cache-dir", cache, "--max-keys", "1")
    assert res.exit_code == 2 and "junk.rdb" in res.stderr
    res = invoke("check", new, "--cache-dir", cache, cwd=tmp_path)
    assert res.exit_code == 2 and "no rules" in res.stderr
    res = invoke("check", new, "--cache-dir", cache, "--rules", tmp_path / "missing.toml")
    assert res.exit_code == 2 and "no such rules file" in res.stderr


def test_check_junit_and_github_summary(dumps, tmp_path):
    old, new, cache = dumps
    junit = tmp_path / "report.xml"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    res = invoke("check", new, "--cache-dir", cache, "--max-keys", "10", "--max-key-bytes", "1GB",
                 "--forbid", "tmp:*", "--max-growth", "10%", "--junit", junit,
                 env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.exit_code == 1
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 4 == int(root.get("tests"))
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert failed == ["max_keys", "forbid[tmp:*]"] and root.get("failures") == "2"
    assert skipped == ["max_growth"] and root.get("skipped") == "1"
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "rdbscan check" in text and "| `max_keys` | failed |" in text
