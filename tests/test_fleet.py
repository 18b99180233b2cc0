"""Many dumps into one dataset: rdbscan scan SOURCE... -o DIR and rdbscan.scan_many, on local files."""

import json
import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import rdbscan
from rdbscan import fleet
from rdbscan.scanner.sink import read_meta
from conftest import FIXTURES, ROOT, dump_path, key_bytes_of, load_truth

NAMES = ["redis-6.2.16", "redis-7.0.15", "redis-7.2.6", "redis-7.4.1", "valkey-8.0.1", "redis-7.4.1-cluster"]


def run(*args, cwd=None, env=None):
    """``python -m rdbscan ARGS``; returns the CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "rdbscan", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300, env=env)


def keyset(path):
    return {(r["db"], key_bytes_of(r)) for r in pq.read_table(path, columns=["db", "key", "key_bytes"]).to_pylist()}


@pytest.fixture
def dumps(tmp_path):
    """The NAMES fixtures copied to tmp/dumps/NAME.rdb: {name: path}."""
    d = tmp_path / "dumps"
    d.mkdir()
    out = {}
    for n in NAMES:
        shutil.copy(dump_path(n), d / f"{n}.rdb")
        out[n] = d / f"{n}.rdb"
    return out


def hidden(directory):
    return [n for n in os.listdir(directory) if n.startswith(".")]


def test_one_part_per_dump_with_its_keys_and_meta(dumps, tmp_path):
    out = tmp_path / "fleet"
    r = run("scan", *dumps.values(), "-o", out, "--jobs", "2")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(out)) == sorted(f"{n}.parquet" for n in NAMES)
    for n, dump in dumps.items():
        part = out / f"{n}.parquet"
        assert keyset(part) == set(load_truth(n)), n
        meta = read_meta(part)
        assert meta["source"] == str(dump) and meta["rows"] == len(load_truth(n)) and meta["crc"] == "ok"
        assert meta["cache"]["source"] == str(dump) and meta["cache"]["size"] == dump.stat().st_size
    assert f"{len(NAMES)} dumps" in r.stderr and f"{len(NAMES)} scanned" in r.stderr


def test_globs_and_directories_and_colliding_names(tmp_path):
    # every fixture is NAME/dump.rdb: the parts are named after their directories
    out = tmp_path / "fleet"
    r = run("scan", FIXTURES / "redis-7.*" / "dump.rdb", FIXTURES / "valkey-8.0.1", "-o", out)
    assert r.returncode == 0, r.stderr
    expected = sorted(p.parent.name for p in FIXTURES.glob("redis-7.*/dump.rdb")) + ["valkey-8.0.1"]
    assert sorted(os.listdir(out)) == sorted(f"{n}-dump.parquet" for n in expected)
    for n in expected:
        assert keyset(out / f"{n}-dump.parquet") == set(load_truth(n))


def test_part_names_are_distinct_and_deterministic():
    locs = ["/b/node1/dump.rdb", "/b/node2/dump.rdb", "/a/node1/dump.rdb", "/b/x.rdb", "/b/x.rdb.gz",
            "s3://bkt/2024/node1/dump.rdb", "/c/orders.rdb"]
    names = fleet.part_names(locs)
    assert len(set(names.values())) == len(locs)
    assert names == fleet.part_names(list(reversed(locs)))            # order does not matter
    assert names["/c/orders.rdb"] == "orders.parquet"
    assert names["/b/node2/dump.rdb"] == "node2-dump.parquet"
    assert names["/b/node1/dump.rdb"] == "b-node1-dump.parquet"      # /a/node1/dump.rdb too: one more level
    assert names["s3://bkt/2024/node1/dump.rdb"] == "2024-node1-dump.parquet"
    assert names["/b/x.rdb"] != names["/b/x.rdb.gz"]                   # nothing left to tell them apart: a hash
    assert fleet.part_names(["/c/orders.rdb"], taken={"orders.parquet"}) == {"/c/orders.rdb": "c-orders.parquet"}


def test_jobs_1_and_2_write_the_same_parts(dumps, tmp_path):
    r1 = rdbscan.scan_many(list(dumps.values()), tmp_path / "one", jobs=1)
    r2 = rdbscan.scan_many(list(dumps.values()), tmp_path / "two", jobs=2)
    assert [r.status for r in r1] == [r.status for r in r2] == ["scanned"] * len(NAMES)
    for a, b in zip(r1, r2):
        assert os.path.basename(a.part) == os.path.basename(b.part)
        ta, tb = pq.read_table(a.part), pq.read_table(b.part)
        assert ta.equals(tb), a.source
        assert a.keys == b.keys == len(load_truth(os.path.basename(a.source)[:-4]))


def test_rerun_reuses_up_to_date_parts_and_rescans_changed_ones(dumps, tmp_path):
    out = tmp_path / "fleet"
    assert run("scan", *dumps.values(), "-o", out, "-q").returncode == 0
    before = {n: os.stat(out / n).st_mtime_ns for n in os.listdir(out)}
    r = run("scan", *dumps.values(), "-o", out)
    assert r.returncode == 0 and f"0 scanned, {len(NAMES)} reused (up to date)" in r.stderr
    assert before == {n: os.stat(out / n).st_mtime_ns for n in os.listdir(out)}
    # a dump rewritten (new mtime, other content): only its part is scanned again
    changed = dumps["redis-7.2.6"]
    shutil.copy(dump_path("redis-7.4.1"), changed)
    results = rdbscan.scan_many(list(dumps.values()), out)
    assert [r.status for r in results].count("scanned") == 1
    assert next(r for r in results if r.source == str(changed)).status == "scanned"
    assert keyset(out / "redis-7.2.6.parquet") == set(load_truth("redis-7.4.1"))
    # other model options or filters: every part is out of date
    results = rdbscan.scan_many(list(dumps.values()), out, allocator="jemalloc-16")
    assert {r.status for r in results} == {"scanned"}
    assert read_meta(out / "redis-7.4.1.parquet")["model"]["allocator"] == "jemalloc-16"
    results = rdbscan.scan_many(list(dumps.values()), out, allocator="jemalloc-16", types=["hash"])
    assert {r.status for r in results} == {"scanned"}
    assert set(pq.read_table(out / "redis-7.4.1.parquet").column("type").to_pylist()) == {"hash"}


def test_a_part_keeps_its_name_when_the_set_of_dumps_changes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    shutil.copy(dump_path("redis-7.2.6"), a / "dump.rdb")
    shutil.copy(dump_path("redis-7.4.1"), b / "dump.rdb")
    out = tmp_path / "fleet"
    assert rdbscan.scan_many([a / "dump.rdb"], out)[0].part == str(out / "dump.parquet")
    results = rdbscan.scan_many([a / "dump.rdb", b / "dump.rdb"], out)
    assert [(r.status, os.path.basename(r.part)) for r in results] == [("reused", "dump.parquet"),
                                                                      ("scanned", "b-dump.parquet")]


def test_a_failing_dump_does_not_stop_the_others(dumps, tmp_path):
    bad = tmp_path / "dumps"
    data = dump_path("redis-7.4.1").read_bytes()
    (bad / "truncated.rdb").write_bytes(data[:5000])
    (bad / "notes.rdb").write_text("hello\n")
    (bad / "crc.rdb").write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    unreadable = bad / "unreadable.rdb"
    unreadable.write_bytes(data)
    unreadable.chmod(0)
    out = tmp_path / "fleet"
    r = run("scan", bad / "*.rdb", "-o", out, "--jobs", "2")
    total = len(NAMES) + 4
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines[-1] == f"rdbscan: {len(NAMES) + (os.geteuid() == 0)} of {total} dumps scanned; " \
                        f"{4 - (os.geteuid() == 0)} failed", r.stderr
    assert any(f"{bad / 'truncated.rdb'}: byte 5000: unexpected end of data" in l for l in lines)
    assert any(f"{bad / 'notes.rdb'}: byte 0: not an RDB file" in l for l in lines)
    assert any(f"{bad / 'crc.rdb'}: " in l and "CRC64 mismatch" in l for l in lines)
    if os.geteuid() != 0:   # root reads a file without read permission
        assert any(f"{unreadable}: cannot open: Permission denied" in l for l in lines)
    assert "Traceback" not in r.stderr
    for n in NAMES:
        assert keyset(out / f"{n}.parquet") == set(load_truth(n))
    assert not (out / "truncated.parquet").exists() and not (out / "notes.parquet").exists()
    assert hidden(out) == [], "temporary file left behind"
    # the API says the same, dump by dump
    results = rdbscan.scan_many([bad / "*.rdb"], out)
    failed = {os.path.basename(r.source): r for r in results.failed}
    assert failed["truncated.rdb"].offset == 5000 and failed["truncated.rdb"].part is None
    assert {r.status for r in results if r.ok} == {"reused"}
    # a dump that scanned once and now fails: its old part stays, and the error says so
    shutil.copy(bad / "truncated.rdb", dumps["redis-7.2.6"])
    result = next(r for r in rdbscan.scan_many([bad / "*.rdb"], out) if r.source == str(dumps["redis-7.2.6"]))
    assert result.status == "failed"
    assert result.error.endswith(f"({out / 'redis-7.2.6.parquet'}, from an earlier scan, is kept)")


def test_keep_going_keeps_partial_parts_and_still_fails(tmp_path):
    d = tmp_path / "dumps"
    d.mkdir()
    data = dump_path("redis-7.4.1").read_bytes()
    (d / "cut.rdb").write_bytes(data[:20000])
    shutil.copy(dump_path("redis-7.2.6"), d / "good.rdb")
    results = rdbscan.scan_many([d], tmp_path / "out", keep_going=True)
    cut = next(r for r in results if r.source.endswith("cut.rdb"))
    assert cut.status == "failed" and cut.part and 0 < cut.keys < len(load_truth("redis-7.4.1"))
    assert read_meta(cut.part)["partial"]["offset"] == cut.offset
    # a partial part is never up to date: the next run tries again
    again = rdbscan.scan_many([d], tmp_path / "out", keep_going=True)
    assert [r.status for r in again] == ["failed", "reused"]


def test_interrupted_run_continues_where_it_stopped(dumps, tmp_path):
    out = tmp_path / "fleet"
    stop = []

    def interrupt(result):
        stop.append(result)
        raise KeyboardInterrupt      # as Ctrl-C would, after the first dump is done

    with pytest.raises(KeyboardInterrupt):
        rdbscan.scan_many(list(dumps.values()), out, jobs=2, on_result=interrupt)
    done = [n for n in os.listdir(out) if not n.startswith(".")]
    assert 1 <= len(done) < len(NAMES)
    assert hidden(out) == [], "an interrupted worker left its temporary file"
    for n in done:
        assert keyset(out / n) == set(load_truth(n[:-len(".parquet")]))
    results = rdbscan.scan_many(list(dumps.values()), out, jobs=2)
    assert len(results.reused) == len(done) and len(results.scanned) == len(NAMES) - len(done)


def test_temporary_parts_of_a_killed_run_are_removed(dumps, tmp_path):
    out = tmp_path / "fleet"
    out.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = out / f".redis-7.4.1.parquet.tmp-{dead.pid}"
    stale.write_bytes(b"PAR1 half a part")
    rdbscan.scan_many([dumps["redis-7.4.1"]], out)
    assert not stale.exists() and os.listdir(out) == ["redis-7.4.1.parquet"]


def test_progress_reaches_every_dump(dumps, tmp_path):
    states = []
    rdbscan.scan_many(list(dumps.values()), tmp_path / "fleet", jobs=2,
                      progress=lambda s: states.append((s.dumps_done, s.dumps_total, s.bytes_done, s.keys)))
    total_bytes = sum(p.stat().st_size for p in dumps.values())
    assert states[-1] == (len(NAMES), len(NAMES), total_bytes, sum(len(load_truth(n)) for n in NAMES))
    assert [s[0] for s in states] == sorted(s[0] for s in states)


def test_report_over_the_dataset_adds_up_the_dumps(dumps, tmp_path):
    out = tmp_path / "fleet"
    assert run("scan", *dumps.values(), "-o", out, "-q").returncode == 0
    r = run("sql", "SELECT count(*) AS n, count(DISTINCT file) AS files FROM keys", out, "--format", "json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)["sections"]["query"]["tables"]["rows"][0]
    assert row == {"n": sum(len(load_truth(n)) for n in NAMES), "files": len(NAMES)}
    r = run("sql", "SELECT source FROM meta ORDER BY source", out, "--format", "json")
    assert [x["source"] for x in json.loads(r.stdout)["sections"]["query"]["tables"]["rows"]] == \
        sorted(str(p) for p in dumps.values())


def test_report_scans_stale_caches_in_parallel(dumps, tmp_path):
    cache = tmp_path / "cache"
    r = run("report", "summary", *dumps.values(), "--cache-dir", cache, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("scanned ") == len(NAMES)
    assert len(os.listdir(cache)) == len(NAMES)
    r = run("report", "summary", *dumps.values(), "--cache-dir", cache, "--format", "json")
    assert r.stderr.count("using the cached scan") == len(NAMES)


def test_one_source_into_a_parquet_file_as_before(tmp_path):
    r = run("scan", dump_path("redis-7.4.1"), "-o", tmp_path / "k.parquet", "-q")
    assert r.returncode == 0 and os.listdir(tmp_path) == ["k.parquet"]
    # a glob that names one dump is one dump
    r = run("scan", FIXTURES / "redis-7.2.*" / "dump.rdb", "-o", tmp_path / "g.parquet", "-q")
    assert r.returncode == 0 and keyset(tmp_path / "g.parquet") == set(load_truth("redis-7.2.6"))


@pytest.mark.parametrize("args, message", [
    (["scan", "nothing/*.rdb", "-o", "{out}"], "nothing/*.rdb: no file matches"),
    (["scan", "{empty}", "-o", "{out}"], ": a directory with no dump in it"),
    (["scan", "{dump}", "{dump2}", "-o", "{file}"], ": exists and is a file; with a dataset -o names a directory"),
    (["scan", "{out_parts}", "-o", "{existing}"], "a source cannot be the run's own output"),
    (["scan", "ftp://host/dump.rdb", "-o", "{out}"], "ftp://host/dump.rdb: unknown URL scheme 'ftp://'"),
    (["scan", "s3://", "-o", "{out}"], "s3://: malformed URL: expected s3://BUCKET/KEY"),
    (["scan", "s3://My_Bucket/dump.rdb", "-o", "{out}"], "'My_Bucket' is not a valid bucket name"),
    (["scan", "{dump}", "{dump2}", "-o", "{out}.parquet"], "names one Parquet file, but the sources name 2 dumps"),
    (["scan", "{dump}", "{dump2}"], "give -o DIR"),
    (["scan", "{dump}", "-", "-o", "{out}"], "'-' (stdin) can only be scanned alone"),
    (["scan", "{dump}", "missing.rdb", "-o", "{out}"], "missing.rdb: no such file or directory"),
    (["scan", "{parquet}", "-o", "{out}/"], "a Parquet file, not a dump"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    existing = tmp_path / "existing"
    rdbscan.scan_many([dump_path("redis-7.2.6")], existing)
    fill = {"out": tmp_path / "out", "empty": tmp_path / "empty", "file": tmp_path / "file",
            "dump": dump_path("redis-7.4.1"), "dump2": dump_path("redis-7.2.6"),
            "out_parts": existing / "*", "existing": existing, "parquet": existing / "dump.parquet"}
    r = run(*[a.format(**fill) for a in args], cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and message in lines[0], r.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.parquet").exists()
    assert os.listdir(existing) == ["dump.parquet"]
