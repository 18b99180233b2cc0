"""The command line and the API around the scanner: inputs, outputs, filters, errors."""

import bz2
import gzip
import json
import lzma
import os
import subprocess
import sys

import lz4.frame
import pyarrow.parquet as pq
import pytest
import zstandard

import rdbscan
from rdbscan.scanner.sink import read_meta
from conftest import ROOT, dump_path, key_bytes_of, load_truth

FIXTURE = "redis-7.4.1"


def run(*args, stdin=None, cwd=None):
    """Run ``python -m rdbscan ARGS``; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "rdbscan", *map(str, args)], input=stdin,
                          capture_output=True, cwd=cwd or ROOT, timeout=120)


def keyset(path):
    return {(r["db"], key_bytes_of(r)) for r in pq.read_table(path).to_pylist()}


def test_compiled_scanner_is_in_use():
    # The twin-comparison tests are only meaningful when the extension was built.
    if os.environ.get("RDBSCAN_PURE") == "1":
        pytest.skip("RDBSCAN_PURE=1 asks for the pure-Python scanner")
    import rdbscan.scanner._scanner  # noqa: F401  (fails when the build did not compile it)
    assert rdbscan.info(dump_path(FIXTURE))["scanner"] == "compiled"


def test_scan_writes_parquet_with_metadata(tmp_path):
    out = tmp_path / "keys.parquet"
    r = run("scan", dump_path(FIXTURE), "-o", out)
    assert r.returncode == 0, r.stderr
    assert keyset(out) == set(load_truth(FIXTURE))
    assert pq.read_schema(out).names == list(rdbscan.SCHEMA.names) + ["pattern"]
    meta = read_meta(out)
    assert meta["crc"] == "ok" and meta["rows"] == len(load_truth(FIXTURE))
    assert "keys written" in r.stderr.decode()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")], "temporary file left behind"


def test_default_output_beside_the_dump(tmp_path):
    dump = tmp_path / "prod.rdb"
    dump.write_bytes(dump_path(FIXTURE).read_bytes())
    assert run("scan", dump, "-q").returncode == 0
    assert (tmp_path / "prod.parquet").exists()


def test_stdin_and_default_name_in_cwd(tmp_path):
    r = run("scan", "-", "-q", stdin=dump_path(FIXTURE).read_bytes(), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert keyset(tmp_path / "dump.parquet") == set(load_truth(FIXTURE))


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress,
                                      lambda b: zstandard.ZstdCompressor().compress(b),
                                      lz4.frame.compress],
                         ids=["gzip", "bzip2", "xz", "zstd", "lz4"])
def test_compressed_input_by_magic(tmp_path, compress):
    src = tmp_path / "dump.bin"          # no telling extension: detection is by magic bytes
    src.write_bytes(compress(dump_path(FIXTURE).read_bytes()))
    out = tmp_path / "k.parquet"
    r = run("scan", src, "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    assert keyset(out) == set(load_truth(FIXTURE))
    assert read_meta(out)["compression"] in {"gzip", "bzip2", "xz", "zstd", "lz4"}


def test_aof_with_rdb_preamble(tmp_path):
    aof = tmp_path / "appendonly.aof"
    aof.write_bytes(dump_path(FIXTURE).read_bytes() + b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n")
    out = tmp_path / "k.parquet"
    r = run("scan", aof, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "AOF" in r.stderr.decode()
    assert keyset(out) == set(load_truth(FIXTURE))


@pytest.mark.parametrize("content,expect", [
    (b"", "empty"),
    (b'{"not": "an rdb"}\n', "JSON"),
    (b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n", "AOF"),
    (gzip.compress(b"hello world, plain text\n" * 10), "gzip-compressed"),
    (b"REDIS00xx\xff", "not an RDB file"),
])
def test_not_an_rdb_gives_one_clear_line(tmp_path, content, expect):
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(content)
    out = tmp_path / "k.parquet"
    r = run("scan", bad, "-o", out)
    err = r.stderr.decode()
    assert r.returncode == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(bad) in err and "byte 0" in err and expect in err
    assert not out.exists()


def test_truncated_dump_writes_nothing(tmp_path):
    data = dump_path(FIXTURE).read_bytes()
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "k.parquet"
    r = run("scan", cut, "-o", out)
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err and err.count("\n") == 1
    assert "unexpected end of data" in err and f"byte {len(data) // 2}" in err
    assert not out.exists() and os.listdir(tmp_path) == ["cut.rdb"]


def test_keep_going_keeps_the_keys_before_the_fault(tmp_path):
    data = dump_path(FIXTURE).read_bytes()
    full = rdbscan.read_table(dump_path(FIXTURE)).to_pylist()
    cut_at = full[len(full) // 2]["offset"] + 3      # inside the record of the middle key
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(data[:cut_at])
    out = tmp_path / "k.parquet"
    r = run("scan", cut, "-o", out, "--keep-going")
    assert r.returncode == 2
    rows = pq.read_table(out).to_pylist()
    assert [x["key"] for x in rows] == [x["key"] for x in full[: len(full) // 2]]
    meta = read_meta(out)
    assert meta["partial"]["offset"] == cut_at
    info = run("info", out)
    assert "PARTIAL" in info.stdout.decode()


def test_checksum_mismatch_and_no_verify(tmp_path):
    data = bytearray(dump_path(FIXTURE).read_bytes())
    data[-1] ^= 0xFF                                   # the stored CRC64, not the data
    bad = tmp_path / "crc.rdb"
    bad.write_bytes(bytes(data))
    r = run("scan", bad, "-o", tmp_path / "k.parquet")
    assert r.returncode == 2 and "CRC64 mismatch" in r.stderr.decode()
    r = run("scan", bad, "-o", tmp_path / "k.parquet", "--no-verify", "-q")
    assert r.returncode == 0 and read_meta(tmp_path / "k.parquet")["crc"] == "not verified"


def test_refuses_to_overwrite_input(tmp_path):
    dump = tmp_path / "d.rdb"
    dump.write_bytes(dump_path(FIXTURE).read_bytes())
    r = run("scan", dump, "-o", dump)
    assert r.returncode == 2 and "overwrite the input" in r.stderr.decode()
    assert dump.read_bytes() == dump_path(FIXTURE).read_bytes()


def test_unwritable_output(tmp_path):
    r = run("scan", dump_path(FIXTURE), "-o", tmp_path / "missing-dir" / "k.parquet")
    err = r.stderr.decode()
    assert r.returncode == 2 and "does not exist" in err and "Traceback" not in err


def test_filters_agree_with_truth(tmp_path):
    truth = load_truth(FIXTURE).values()
    out = tmp_path / "k.parquet"
    r = run("scan", dump_path(FIXTURE), "-o", out, "-q", "--db", 0, "--type", "hash", "--type", "zset",
            "--match", "user:*")
    assert r.returncode == 0, r.stderr
    want = {(t["db"], bytes.fromhex(t["key_hex"])) for t in truth
            if t["db"] == 0 and t["type"] in ("hash", "zset") and (t["key"] or "").startswith("user:")}
    assert want and keyset(out) == want
    meta = read_meta(out)
    assert meta["rows"] == len(truth) and meta["rows_written"] == len(want)


def test_min_bytes_filter():
    # memory_bytes is what --min-bytes compares; the server's MEMORY USAGE is the reference.
    table = rdbscan.read_table(dump_path(FIXTURE), min_bytes=10_000)
    truth = load_truth(FIXTURE).values()
    assert table.num_rows == sum(1 for t in truth if t["memory_usage"] >= 10_000) > 0


@pytest.mark.parametrize("pattern,regex", [
    ("tags:20[0-1]?", r"tags:20[01]\d"),
    ("tags:20[^0]?", r"tags:20[^0]\d"),
    ("user:*:profile", r"user:.*:profile"),
    ("str:len4\\?", None),                 # an escaped '?' matches only a literal '?'
])
def test_match_glob(pattern, regex):
    import re
    keys = {r["key"] for r in rdbscan.read_table(dump_path(FIXTURE), match=pattern).to_pylist()}
    truth = {t["key"] for t in load_truth(FIXTURE).values() if t["key"] is not None}
    want = {k for k in truth if regex and re.fullmatch(regex, k)}
    assert keys == want
    assert keys or regex is None


def test_info_json_on_dump_and_parquet(tmp_path):
    r = run("info", dump_path(FIXTURE), "--json")
    meta = json.loads(r.stdout)
    assert meta["aux"]["redis-ver"] == "7.4.1" and meta["functions"][0]["name"] == "corpuslib"
    out = tmp_path / "k.parquet"
    run("scan", dump_path(FIXTURE), "-o", out, "-q")
    again = json.loads(run("info", out, "--json").stdout)
    assert again["dbs"] == meta["dbs"] and again["crc"] == "ok"


def test_no_progress_when_not_a_terminal(tmp_path):
    r = run("scan", dump_path(FIXTURE), "-o", tmp_path / "k.parquet")
    assert "\r" not in r.stderr.decode()


def test_python_api_scan_batches():
    batches = rdbscan.scan_batches(dump_path(FIXTURE), batch_size=50)
    sizes = [len(b) for b in batches]
    assert max(sizes) <= 50 and sum(sizes) == len(load_truth(FIXTURE))
    assert batches.meta["rows"] == sum(sizes)


def test_filter_that_matches_nothing_writes_an_empty_file(tmp_path):
    out = tmp_path / "none.parquet"
    r = run("scan", dump_path(FIXTURE), "-o", out, "--type", "nosuch", "-q")
    assert r.returncode == 0, r.stderr
    assert pq.read_table(out).num_rows == 0 and read_meta(out)["rows"] == len(load_truth(FIXTURE))


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress], ids=["gzip", "xz"])
def test_cut_off_compressed_dump_keeps_going(tmp_path, compress):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(compress(dump_path(FIXTURE).read_bytes())[:60_000])
    out = tmp_path / "k.parquet"
    r = run("scan", cut, "-o", out, "--keep-going")
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err and "input is cut off" in err
    table = pq.read_table(out)
    meta = read_meta(out)
    assert table.num_rows > 0 and meta["partial"] and meta["crc"] == "not reached"
    assert meta["memory"]["keys_total"] == sum(table.column("memory_bytes").to_pylist())
    assert f"kept the {table.num_rows} keys" in err


@pytest.mark.parametrize("args,expect", [
    (["--min-bytes", "abc"], "not a size"),
    (["--db", "-1"], "--db"),
    (["--allocator", "tcmalloc"], "--allocator"),
])
def test_bad_option_values_are_one_line(args, expect):
    r = run("scan", dump_path(FIXTURE), *args)
    err = r.stderr.decode()
    assert r.returncode == 2 and err.count("\n") == 1 and expect in err and "Traceback" not in err


def test_output_into_a_directory_makes_a_dataset_of_one(tmp_path):
    # -o naming an existing directory: a dataset directory with the dump's part in it
    r = run("scan", dump_path(FIXTURE), "-o", tmp_path, "-q")
    assert r.returncode == 0, r.stderr
    assert os.listdir(tmp_path) == ["dump.parquet"]
    assert keyset(tmp_path / "dump.parquet") == set(load_truth(FIXTURE))


def test_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(tiny)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        r = run("scan", dump_path(FIXTURE), "-o", tiny / "k.parquet")
        err = r.stderr.decode()
        assert r.returncode == 2 and err.count("\n") == 1 and "No space left on device" in err
        assert os.listdir(tiny) == []
    finally:
        subprocess.run(["umount", str(tiny)], capture_output=True)
