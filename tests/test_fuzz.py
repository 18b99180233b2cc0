"""Hostile input: absurd lengths, impossible LZF claims, random damage.

Every input either scans or fails with one RDBFormatError naming an offset;
both twins give the same answer; nothing allocates what a length claims.
"""

import io
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import rdbscan
from conftest import ROOT, dump_path
from fuzz_harness import SEEDS, SYNTHETIC, check, hand_built_seeds, mutate, outcome

pytest.importorskip("rdbscan.scanner._scanner", reason="compiled scanner not built")
from rdbscan.scanner._scanner import Scanner as CScanner  # noqa: E402
from rdbscan.scanner.pyscanner import Scanner as PyScanner  # noqa: E402


def dump(body):
    """A minimal RDB 9 file around one key record, zero CRC (not checked)."""
    return b"REDIS0009\xfe\x00" + body + b"\xff" + b"\x00" * 8


ABSURD = {
    "string of 2^40 bytes": b"\x00\x03key\x81" + (1 << 40).to_bytes(8, "big") + b"abc",
    "string of 2^32-1 bytes": b"\x00\x03key\x80\xff\xff\xff\xff" + b"abc",
    "listpack of 2^62 bytes": b"\x10\x03key\x81" + (1 << 62).to_bytes(8, "big") + b"abc",
    "LZF claiming 2^40 bytes from 5": b"\x00\x03key\xc3\x05\x81" + (1 << 40).to_bytes(8, "big") + b"abcde",
    "set of 2^50 members": b"\x02\x03key\x81" + (1 << 50).to_bytes(8, "big") + b"\x01a",
    "length of 2^63": b"\x00\x03key\x81" + (1 << 63).to_bytes(8, "big"),
    "LZF back-reference before the start": b"\x0e\x03key\x01\xc3\x04\x0c\xe0\x00\x20",
    "quicklist node container 7": b"\x12\x03key\x01\x07\x01a",
    "module type 6": b"\x06\x03key\x01",
    "unused type 8": b"\x08\x03key\x01",
    "LZF claim past 64 bits of arithmetic": b"\x00\x03key\xc3\x81" + (1 << 60).to_bytes(8, "big") + b"\x81"
                                          + (1 << 62).to_bytes(8, "big"),
}


@pytest.mark.parametrize("db", [1 << 31, (1 << 32) + 5, 65536])
def test_database_numbers_do_not_wrap(db):
    data = b"REDIS0009\xfe\x81" + db.to_bytes(8, "big") + b"\x00\x01k\x01v\xff" + b"\x00" * 8
    a = outcome(CScanner, data, True)
    assert a == outcome(PyScanner, data, True)
    assert a[2] is not None and f"database number {db} is out of range" in a[2][1]


@pytest.mark.parametrize("name", sorted(ABSURD))
def test_absurd_input_is_one_clear_error(name):
    data = dump(ABSURD[name])
    a = outcome(CScanner, data, True)
    assert a == outcome(PyScanner, data, True)
    assert a[2] is not None, "accepted"
    cls, message, offset = a[2]
    assert "\n" not in message and f"byte {offset}" in message and 9 <= offset <= len(data)


def test_absurd_lengths_allocate_nothing_big(tmp_path):
    # A subprocess scans each absurd dump through the CLI; its peak RSS stays
    # at the scanner's usual size, far below what the lengths claim.
    for i, body in enumerate(ABSURD.values()):
        (tmp_path / f"{i}.rdb").write_bytes(dump(body))
    code = ("import resource, subprocess, sys, glob\n"
            "for p in sorted(glob.glob(sys.argv[1] + '/*.rdb')):\n"
            "    r = subprocess.run([sys.executable, '-m', 'rdbscan', 'scan', p, '-o', p + '.parquet'],"
            " capture_output=True)\n"
            "    assert r.returncode == 2 and b'Traceback' not in r.stderr, (p, r.stderr)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) < 200 * 1024      # KiB


SEED_BYTES = [p.read_bytes() for p in SEEDS] + hand_built_seeds()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(0, len(SEED_BYTES) - 1))
def test_mutated_fixtures(rng, which):
    data = mutate(SEED_BYTES[which], rng)
    check(data, (CScanner, PyScanner))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(0, len(SYNTHETIC) - 1))
def test_mutated_rdb_13_to_15_records(rng, which):
    check(mutate(SYNTHETIC[which], rng), (CScanner, PyScanner))


def test_synthetic_seeds_scan():
    for data in SYNTHETIC:
        a = outcome(CScanner, data, True)
        assert a == outcome(PyScanner, data, True) and a[2] is None, a[2]


def test_harness_runs_and_reports():
    out = subprocess.run([sys.executable, "tests/fuzz_harness.py", "--seconds", "3"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "both twins and the parallel decode, no disagreement" in out.stdout and int(out.stdout.split()[0]) > 5


def _keep_going(data):
    """Rows (keys) written before the fault and the error, through the API with keep_going."""
    batches = rdbscan.scan_batches(io.BytesIO(data), keep_going=True, verify=False)
    keys = []
    try:
        for b in batches:
            keys += b.column("key").to_pylist()
    except rdbscan.RDBFormatError as e:
        return keys, e
    return keys, None


@pytest.mark.parametrize("name", ["redis-2.8.24", "redis-7.0.15-lfu", "redis-7.4.1-cluster", "valkey-8.0.1",
                                  "valkey-unstable-cluster", "valkey-unstable-hfe"])
def test_truncation_at_every_record_keeps_exactly_the_keys_before(name):
    data = dump_path(name).read_bytes()
    rows = rdbscan.read_table(dump_path(name)).to_pylist()
    for i, row in enumerate(rows):
        start = row["offset"]
        # At the record's first byte, one byte in, and inside its value
        # (its last byte is at least serialized_bytes past the start).
        for cut in (start, start + 1, start + row["serialized_bytes"] - 1):
            keys, error = _keep_going(data[:cut])
            assert isinstance(error, rdbscan.RDBTruncatedError), (cut, error)
            assert keys == [r["key"] for r in rows[:i]], cut


def test_every_fixture_truncated_at_random_offsets():
    rng = random.Random(7)
    for path in SEEDS:
        data = path.read_bytes()
        for cut in sorted(rng.sample(range(len(data) - 1), 12)):
            keys, error = _keep_going(data[:cut])
            assert isinstance(error, rdbscan.RDBFormatError), (path, cut)
            assert error.offset <= cut
