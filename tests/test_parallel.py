"""Parallel decode of one dump: ``--jobs N`` gives exactly what ``--jobs 1`` gives.

Chunk sizes are forced small, so that chunk boundaries fall inside big
values, listpacks, streams, between an expiry opcode and its key, inside
the records before a SELECTDB: every fixture, every third-party dump, a
large dump made here by a real server, and damaged copies of them (same
error, same offset, same rows kept).
"""

import gzip
import io
import os
import random
import struct
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rdbscan
from conftest import FIXTURE_NAMES, ROOT, dump_path, third_party_dumps
from servers import running_server

pytest.importorskip("rdbscan.scanner._scanner", reason="compiled scanner not built")
from rdbscan.scanner import parallel  # noqa: E402
from rdbscan.scanner._common import Resume  # noqa: E402
from rdbscan.scanner._scanner import Scanner as CScanner, crc64, crc64_combine, find_boundary  # noqa: E402
from rdbscan.scanner.pyscanner import Scanner as PyScanner, crc64_combine as py_crc64_combine  # noqa: E402
from rdbscan.scanner import pqfooter  # noqa: E402


def outcome(path, **options):
    """Batches, file-level facts (without the timing) and the error of a scan with keep_going."""
    batches = rdbscan.scan_batches(str(path), keep_going=True, **options)
    out, error = [], None
    try:
        for b in batches:
            out.append(b)
    except rdbscan.RDBFormatError as e:
        error = (type(e).__name__, str(e), e.offset, e.key)
    meta = dict(batches.meta or {})
    meta.pop("parse_seconds", None)
    return out, meta, error, batches.parallel_stats


def assert_same(path, sizes, jobs=3, **options):
    """``jobs`` decoders with each chunk size give the batches, facts and error of one decoder."""
    seq_batches, seq_meta, seq_error, stats = outcome(path, jobs=1, **options)
    assert stats is None
    assert_same.stats = []
    for size in sizes:
        batches, meta, error, stats = outcome(path, jobs=jobs, chunk_size=size, **options)
        assert stats is not None and stats["chunks"] > 0, "the parallel path did not run"
        assert_same.stats.append(stats)
        assert error == seq_error, size
        assert meta == seq_meta, size
        assert [len(b) for b in batches] == [len(b) for b in seq_batches], size
        for a, b in zip(seq_batches, batches):
            assert a.equals(b), size
    return seq_batches, seq_error


def _ids(p):
    return f"{p.parent.name}/{p.name}"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture(name):
    assert_same(dump_path(name), [509, 8192])


@pytest.mark.parametrize("name", ["redis-2.8.24", "redis-7.4.1-lfu", "valkey-8.0.1-lru", "redis-7.0.15-cluster"])
def test_tiny_chunks_fall_everywhere(name):
    # 37-byte chunks: boundaries between an expiry/LRU/LFU opcode and its key,
    # inside keys, ziplists, streams, before and after SELECTDB and RESIZEDB.
    assert_same(dump_path(name), [37], jobs=4)


@pytest.mark.parametrize("path", third_party_dumps(), ids=_ids)
def test_every_third_party_dump(path):
    # Some are broken on purpose: the same error at the same offset.
    assert_same(path, [61, 1024])


def test_filters_and_small_batches():
    assert_same(dump_path("redis-7.4.1"), [777], types=["hash", "string"], match="*:*", batch_size=50)
    assert_same(dump_path("valkey-8.0.1"), [300], db=[0], min_bytes=100, batch_size=7)


@pytest.fixture(scope="module")
def big_dump(tmp_path_factory):
    """A dump by a real server: many small keys in four dbs (a quarter with a TTL, LFU
    counters), a 6 MiB string, hashtable and listpack collections, a quicklist, streams
    with groups, a function library."""
    d = tmp_path_factory.mktemp("parallel")
    rng = random.Random(11)
    with running_server(d, "--maxmemory-policy", "allkeys-lfu") as client:
        client.function_load("#!lua name=plib\nredis.register_function('pf', function() return 1 end)")
        port = client.connection_pool.connection_kwargs["port"]
        for db in range(4):
            pipe = type(client)(port=port, db=db).pipeline(transaction=False)
            for i in range(6000):
                k = f"db{db}:key:{i}"
                kind = i % 6
                if kind == 0:
                    pipe.set(k, "v" * rng.randint(1, 200))
                elif kind == 1:
                    pipe.set(k, rng.randint(-10**9, 10**9))
                elif kind == 2:
                    pipe.hset(k, mapping={f"f{j}": f"value {j} " * rng.randint(1, 3) for j in range(rng.randint(1, 20))})
                elif kind == 3:
                    pipe.rpush(k, *[f"item-{j}" for j in range(rng.randint(1, 30))])
                elif kind == 4:
                    pipe.sadd(k, *range(rng.randint(1, 40)))
                else:
                    pipe.zadd(k, {f"m{j}": j / 3 for j in range(rng.randint(1, 30))})
                if i % 4 == 0:
                    pipe.expire(k, 3600 + i)
            pipe.execute()
        pipe = client.pipeline(transaction=False)
        pipe.set("big:string", os.urandom(2 << 20) + b"text " * (800 << 10))
        for i in range(0, 60_000, 3000):
            pipe.hset("big:hash", mapping={f"field:{j}": f"value-{j}" for j in range(i, i + 3000)})
            pipe.rpush("big:list", *[f"element-{j}" for j in range(i, i + 3000)])
            pipe.zadd("big:zset", {f"member-{j}": j * 0.25 for j in range(i, i + 3000)})
        pipe.hset("mid:listpack", mapping={f"f{j}": "x" * 40 for j in range(100)})
        pipe.execute()
        for s in range(3):
            for i in range(3000):
                pipe.xadd(f"stream:{s}", {"n": i, "payload": "p" * (i % 50)})
            pipe.execute()
            client.xgroup_create(f"stream:{s}", "g", id="0")
            client.xreadgroup("g", "c1", {f"stream:{s}": ">"}, count=200)
        client.expire("big:hash", 7200)
        client.save()
    return d / "dump.rdb"


def test_big_dump_from_a_server(big_dump):
    batches, error = assert_same(big_dump, [4096, 65536, 1 << 20, 3 << 20], jobs=4)
    assert error is None
    keys = sum(len(b) for b in batches)
    assert keys == 4 * 6000 + 5 + 3


def test_big_dump_adaptive_chunks(big_dump):
    assert_same(big_dump, [None], jobs=2)


def _damaged(data, rng, n):
    for _ in range(n):
        bad = bytearray(data)
        pos = rng.randrange(9, len(data))
        bad[pos] ^= 1 << rng.randrange(8)
        yield pos, bytes(bad)


def test_damage_anywhere_gives_the_same_error_and_rows(tmp_path, big_dump):
    # A flipped bit in any chunk: the same error (file, offset, key, what was
    # expected) and the same rows kept as one decoder, CRC checked or not.
    rng = random.Random(5)
    for source, flips, checks in ((dump_path("redis-7.4.1-lru"), 10, (True, False)), (big_dump, 6, (True,))):
        data = source.read_bytes()
        for pos, bad in _damaged(data, rng, flips):
            path = tmp_path / "bad.rdb"
            path.write_bytes(bad)
            for verify in checks:
                assert_same(path, [4096, 50_000], verify=verify)


def test_truncation_gives_the_same_error_and_rows(tmp_path, big_dump):
    data = big_dump.read_bytes()
    rng = random.Random(9)
    for cut in sorted(rng.sample(range(10, len(data)), 8)) + [len(data) - 1, len(data) - 9]:
        path = tmp_path / "cut.rdb"
        path.write_bytes(data[:cut])
        _, error = assert_same(path, [8192, 100_000])
        assert error is not None and error[2] <= cut


def test_crc_mismatch_inside_a_value(tmp_path):
    # A changed letter inside a string value parses: only the combined CRC64 sees it.
    data = bytearray(dump_path("redis-7.4.1").read_bytes())
    rows = sorted(rdbscan.read_table(dump_path("redis-7.4.1")).to_pylist(), key=lambda r: r["offset"])
    at = next(nxt["offset"] - 2 for row, nxt in zip(rows, rows[1:])
              if row["value_format"] == "text" and 4 <= row["length"] <= 20
              and bytes(data[nxt["offset"] - 2:nxt["offset"]]).isalpha())
    data[at] ^= 0x20                          # its case: still a string of the same length
    path = tmp_path / "crc.rdb"
    path.write_bytes(bytes(data))
    batches, error = assert_same(path, [1000, 5000])
    assert error[0] == "RDBChecksumError" and "CRC64 mismatch" in error[1]
    assert_same(path, [1000], verify=False)


def test_too_many_module_types(tmp_path):
    # Module type codes are numbered across the dump (one byte, from
    # KIND_MODULE_BASE): the one past the last code is the error, wherever the
    # chunks are cut.
    body = b""
    for i in range(260):
        mid = ((i + 1) << 10) | 1
        body += b"\x07" + bytes([4]) + b"m%03d" % i + b"\x81" + mid.to_bytes(8, "big") + b"\x00"
    path = tmp_path / "modules.rdb"
    path.write_bytes(b"REDIS0009\xfe\x00" + body + b"\xff" + b"\x00" * 8)
    _, error = assert_same(path, [64, 500, 3000])
    from rdbscan.scanner.format import KIND_MODULE_BASE
    assert f"more than {256 - KIND_MODULE_BASE} module types" in error[1]


def test_rdb13_to_15_records(tmp_path):
    # KEY_META before a key (carried across a chunk boundary into its key's
    # offset and serialized size), hash templates defined in one chunk and
    # used in later ones, arrays, GCRA, v4/v5 streams: the same output.
    sys.path.insert(0, str(ROOT / "tests"))
    from rdbgen import dump, length, meta_spec, string, synthetic_seeds, template
    for i, data in enumerate(synthetic_seeds()):
        path = tmp_path / f"seed{i}.rdb"
        path.write_bytes(data)
        assert_same(path, [1, 5, 23], jobs=3)
    body = b"\xfe\x00" + template(3, [b"name", b"email"])
    for i in range(400):
        body += (b"\xf3" + length(1) + meta_spec("ABCD") + b"\x05" + string(b"m%d" % i) + b"\x00"
                 + b"\xfc" + struct.pack("<q", 1_900_000_000_000 + i)
                 + b"\x20" + string(b"user:%d" % i) + length(3) + string(b"n%d" % i) + string(b"e%d@x" % i))
    path = tmp_path / "templates.rdb"
    path.write_bytes(dump(15, body))
    batches, error = assert_same(path, [29, 300, 4000], jobs=3)
    assert error is None and sum(len(b) for b in batches) == 400
    # A template defined twice, far apart: the same error, wherever the chunks fall.
    path.write_bytes(dump(15, body + template(3, [b"x"]) + b"\x20" + string(b"k") + length(3) + string(b"v")))
    _, error = assert_same(path, [29, 300, 4000], jobs=3)
    assert "defined twice" in error[1]


def test_crc64_combine_both_twins():
    data = os.urandom(200_003)
    for a, b in [(0, 0), (0, 1), (17, 1000), (8191, 8192 * 3 + 5), (100_000, 200_003)]:
        left, right = data[:a], data[a:b]
        want = crc64(left + right)
        assert crc64_combine(crc64(left), crc64(right), len(right)) == want
        assert py_crc64_combine(crc64(left), crc64(right), len(right)) == want


def _resumed(cls, data, offset, stop, batch=50):
    sc = cls(io.BytesIO(data[offset:]), batch, True, resume=Resume(offset, 0, 12, stop_at=stop))
    sc.set_sizing([[0] * 4096] * 5, [0] * 5, False)
    batches, error = [], None
    try:
        while (b := sc.next_batch()) is not None:
            batches.append(b)
    except rdbscan.RDBFormatError as e:
        error = (type(e), str(e), e.offset, e.key)
        batches.append(sc.flush())
    return batches, sc.handoff(), sc.meta, list(sc.module_names), error


@pytest.mark.parametrize("name", ["redis-7.4.1-lfu", "redis-7.4.1-cluster"])
def test_twins_resume_alike(name):
    # Started inside the dump with the db and pending opcodes unknown, stopped
    # at an offset: same rows, same handoff (state, CRC64), same errors.
    data = dump_path(name).read_bytes()
    offsets = rdbscan.read_table(dump_path(name)).column("offset").to_pylist()
    rng = random.Random(name)
    for start in rng.sample(offsets, 25):
        stop = start + rng.randrange(1, 20_000)
        a = _resumed(CScanner, data, start, stop)
        assert a == _resumed(PyScanner, data, start, stop), start
        assert a[1]["offset"] >= min(stop, len(data) - 9)


def test_pure_twin_through_the_stitch():
    # The stitch with the pure-Python twin decoding the chunks: the same batches.
    path = dump_path("redis-7.0.15-lfu")
    sequential = outcome(path, jobs=1)[0]

    def run(cls):
        with open(path, "rb") as f:
            sc = parallel.ParallelScanner(str(path), f, None, 65536, True, jobs=2, chunk_size=2000,
                                          scanner_class=cls)
            sc.preamble()
            from rdbscan.model.encoding import profile_from_meta
            from rdbscan.model.memory import sizing_tables
            sc.set_sizing(*sizing_tables(profile_from_meta(sc.meta)))
            out = []
            while (b := sc.next_batch()) is not None:
                out.append(b)
            sc.close()
            return out, sc.meta
    assert run(PyScanner) == run(CScanner)
    assert sum(n for n, _ in run(PyScanner)[0]) == sum(len(b) for b in sequential)


class _Steps(PyScanner):
    """The pure twin, noting where each record (each step of its loop) starts."""
    __slots__ = ("steps",)

    def _step(self):
        self.steps.append(self._base + self._pos)
        super()._step()


@pytest.mark.parametrize("name", ["redis-7.0.15", "redis-7.4.1-lfu", "valkey-8.0.1-cluster", "redis-3.2.13"])
def test_find_boundary(name):
    # Every record start is accepted where it starts; from inside a record
    # of less than 10 KB the search finds the next record start, nearly
    # always.  (Inside big values of random bytes, and where the tail of a
    # record reads as a whole record, it may not: the stitch catches that.)
    data = dump_path(name).read_bytes()
    sc = _Steps(io.BytesIO(data), 1 << 20, False)
    sc.steps = steps = []
    sc.preamble()
    while sc.next_batch() is not None:
        pass
    keyspace = steps[next(i for i, s in enumerate(steps) if data[s] not in (0xFA, 0xF5, 0xF6, 0xF7)):]
    flavor, version = sc.flavor, sc.version
    assert all(find_boundary(data, s, s + 1, flavor, version, False) == s for s in keyspace)
    rng = random.Random(name)
    small = [(a, b) for a, b in zip(keyspace, keyspace[1:]) if 1 < b - a < 10_000]
    tries = [(rng.randrange(a + 1, b), b) for a, b in rng.sample(small, min(300, len(small)))]
    right = sum(find_boundary(data, x, len(data), flavor, version, False, floor=max(keyspace[0], x - 4096)) == b
                for x, b in tries)
    assert right >= 0.95 * len(tries)


def _true_steps(data):
    sc = _Steps(io.BytesIO(data), 1 << 20, False)
    sc.steps = steps = []
    try:
        sc.preamble()
        while sc.next_batch() is not None:
            pass
    except rdbscan.RDBFormatError:
        pass
    return steps


@pytest.mark.parametrize("name", ["redis-7.4.1-lfu", "valkey-8.0.1-cluster", "redis-2.8.24"])
def test_stitch_survives_any_sync(name, monkeypatch, tmp_path):
    # Whatever the search answers -- the right boundary, a later one (the
    # stitch decodes the gap), a wrong offset (a false sync), nothing -- the
    # stitched output is the sequential one.
    data = dump_path(name).read_bytes()
    steps = _true_steps(data)
    rng = random.Random(name)

    def chaos(self, start, end):
        import bisect
        i = bisect.bisect_left(steps, start)
        pick = rng.randrange(5)
        if pick == 0 or i + 1 >= len(steps):
            return steps[i] if i < len(steps) and steps[i] < end else None
        if pick == 1:
            later = steps[min(len(steps) - 1, i + rng.randrange(1, 6))]
            return later if later < end else None
        if pick == 2:
            return rng.randrange(start, end)
        if pick == 3:
            return None
        return min(end - 1, steps[i] + 1)
    monkeypatch.setattr(parallel.ParallelScanner, "_sync", chaos)
    assert_same(dump_path(name), [97, 1000, 20_000])
    stats = {k: sum(s[k] for s in assert_same.stats) for k in ("gaps", "redone", "unsynced")}
    assert all(stats.values()), stats
    # And on damaged copies: the same error and rows.
    for pos, bad in _damaged(data, rng, 4):
        path = tmp_path / "bad.rdb"
        path.write_bytes(bad)
        assert_same(path, [500])


def test_compressed_and_stdin_stay_sequential(tmp_path):
    raw = dump_path("redis-7.4.1").read_bytes()
    gz = tmp_path / "d.rdb.gz"
    gz.write_bytes(gzip.compress(raw))
    batches = rdbscan.scan_batches(str(gz), jobs=4, chunk_size=1000)
    assert sum(len(b) for b in batches) == 326 and batches.parallel_stats is None
    out = subprocess.run([sys.executable, "-m", "rdbscan", "scan", "-", "-o", str(tmp_path / "s.parquet"),
                          "--jobs", "4", "--chunk-size", "1000", "-q"], input=raw, capture_output=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert pq.read_metadata(tmp_path / "s.parquet").num_rows == 326
    help_text = subprocess.run([sys.executable, "-m", "rdbscan", "scan", "--help"], capture_output=True,
                               text=True, cwd=ROOT).stdout
    assert "--jobs" in help_text and "stdin" in help_text and "gzip/zstd/lz4/bzip2/xz" in help_text


def _cli(args):
    r = subprocess.run([sys.executable, "-m", "rdbscan", *args], capture_output=True, text=True, cwd=ROOT)
    return r.returncode, r.stderr


def test_cli_same_error_line_and_exit_code(tmp_path, big_dump):
    data = bytearray(big_dump.read_bytes())
    rng = random.Random(3)
    for _ in range(2):
        bad = bytearray(data)
        pos = rng.randrange(len(data) // 4, len(data) - 20)
        bad[pos:pos + 4] = b"\xff\xfe\x81\x00"
        path = tmp_path / "bad.rdb"
        path.write_bytes(bytes(bad))
        results = []
        for jobs in (["--jobs", "1"], ["--jobs", "3", "--chunk-size", "64KiB"]):
            out = tmp_path / "out.parquet"
            code, err = _cli(["scan", str(path), "-o", str(out), "--keep-going", "-q", *jobs])
            table = pq.read_table(out) if out.exists() else None
            results.append((code, err.replace(f"{out}", "OUT"),
                            None if table is None else table.drop_columns([]).to_pylist()))
            if out.exists():
                out.unlink()
        assert results[0] == results[1]
        assert results[0][0] == 2 and results[0][1].count("\n") == 2     # kept N keys; the error


def test_cli_jobs_option():
    code, err = _cli(["scan", str(dump_path("redis-7.4.1")), "--jobs", "0"])
    assert code == 2 and "--jobs" in err and "x>=1" in err


def test_parquet_parts_assemble_to_one_writers_file():
    # Row groups encoded apart and laid end to end under one footer: byte for
    # byte the file one ParquetWriter writes.
    from rdbscan.api import OUTPUT_SCHEMA, with_pattern
    from rdbscan.scanner.sink import DICTIONARY_COLUMNS, STATISTICS_COLUMNS, ParquetSink
    batches = [with_pattern(b) for b in rdbscan.scan_batches(str(dump_path("redis-7.4.1-lfu")), batch_size=97)]
    buf = pa.BufferOutputStream()
    opts = dict(compression="zstd", use_dictionary=DICTIONARY_COLUMNS, write_statistics=STATISTICS_COLUMNS,
                column_encoding={f.name: "DELTA_BINARY_PACKED" for f in OUTPUT_SCHEMA
                                 if pa.types.is_integer(f.type) and f.name not in DICTIONARY_COLUMNS})
    w = pq.ParquetWriter(buf, OUTPUT_SCHEMA, **opts)
    for b in batches:
        w.write_batch(b, row_group_size=len(b))
    w.add_key_value_metadata({b"rdbscan": b'{"x": 1}'})
    w.close()
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for threads in (1, 3):
            out = os.path.join(d, f"t{threads}.parquet")
            sink = ParquetSink(out, OUTPUT_SCHEMA, threads=threads)
            for b in batches:
                sink.write(b)
            sink.close({"x": 1})
            with open(out, "rb") as f:
                got = f.read()
            assert got == buf.getvalue().to_pybytes(), threads
    body, footer = pqfooter.split(got)
    length = struct.unpack_from("<I", got, len(got) - 8)[0]
    assert pqfooter.encode(footer) == got[len(got) - 8 - length:len(got) - 8]


def test_scan_files_equal_whatever_jobs(tmp_path, big_dump):
    metas = []
    for jobs in (1, 4):
        out = tmp_path / f"j{jobs}.parquet"
        meta = rdbscan.scan(str(big_dump), str(out), jobs=jobs, chunk_size=None if jobs == 1 else 100_000)
        metas.append({k: v for k, v in meta.items() if k not in ("parse_seconds", "output")})
    assert metas[0] == metas[1]
    a, b = pq.ParquetFile(tmp_path / "j1.parquet"), pq.ParquetFile(tmp_path / "j4.parquet")
    assert a.read().equals(b.read())
    assert [a.metadata.row_group(i).num_rows for i in range(a.num_row_groups)] == \
        [b.metadata.row_group(i).num_rows for i in range(b.num_row_groups)]


def test_imports_stay_light(tmp_path):
    # --help and start-up import neither pyarrow nor DuckDB; scan never imports DuckDB.
    out = str(tmp_path / "x.parquet")
    code = ("import sys, rdbscan.cli\n"
            "assert 'pyarrow' not in sys.modules and 'duckdb' not in sys.modules, 'heavy import'\n"
            "from rdbscan.cli import main\n"
            f"main(['scan', {str(dump_path('redis-7.4.1'))!r}, '-o', {out!r}, '-q'], standalone_mode=False)\n"
            "assert 'duckdb' not in sys.modules, 'scan imported duckdb'\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", ["redis-7.0.15", "redis-7.4.1-lfu", "redis-8.4.0-edge", "redis-6.2.16"])
def test_whatif_columns_alike(name):
    # A what-if scan (sizing slots of other releases and allocators, every
    # stream sizing, conversion points, the allocator evidence) stitched from
    # chunks equals the one-decoder scan, column for column.
    from rdbscan.analysis import whatif
    scenarios = whatif.scenarios_from_specs(["8.6", "8.4,allocator=libc", "valkey-8.1", "6.2",
                                             "hash-max-listpack-value=16"])
    batches, _ = assert_same(dump_path(name), [509, 4096], slots=whatif.slots_for(scenarios),
                             conv_limits=whatif.conv_limits_for(scenarios), allocator_evidence=True)
    names = batches[0].schema.names
    assert "_mem_blobs_4" in names and "_conv_at_3" in names and "_lp_bytes" in names
def test_hand_built_valkey_dumps(tmp_path):
    # Valkey 9 hash fields whose TTL passed before the dump's ctime (every
    # chunk needs that time), volatile sets past one vector, hashes that start
    # as listpacks, RDB 81 records: the same with several decoders.
    from rdbwriter import valkey_81_dump, valkey_grown_dump, valkey_hfe_dump
    for i, make in enumerate((valkey_hfe_dump, valkey_grown_dump, valkey_81_dump)):
        path = tmp_path / f"valkey-{i}.rdb"
        path.write_bytes(make(1_900_000_000))
        assert_same(path, [37, 509])
