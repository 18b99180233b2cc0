"""Mutation fuzzing of both scanners: every input either scans or fails with RDBFormatError.

Each input also goes through the parallel decode (small chunks, two
decoders), which must give exactly what the sequential compiled scanner
gives.  Run directly for a bounded time and a count of executions::

    python tests/fuzz_harness.py --seconds 60

The pytest suite (tests/test_fuzz.py) runs the same check through
hypothesis for a bounded number of examples.
"""

import argparse
import io
import os
import pathlib
import random
import resource
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rdbscan.errors import RDBFormatError  # noqa: E402
from rdbscan.model.encoding import profile_from_meta  # noqa: E402
from rdbscan.model.memory import sizing_tables, slot_sizing  # noqa: E402

SEEDS = sorted((ROOT / "fixtures").glob("*/dump.rdb"))
sys.path.insert(0, str(ROOT / "tests"))
from rdbgen import synthetic_seeds  # noqa: E402

# The RDB 13-15 records no fixture dump holds (arrays, template hashes, GCRA, KEY_META, v5 streams).
SYNTHETIC = synthetic_seeds()


# What-if sizing slots every scan also keeps: another layout family and
# stream sizing (8.6), the pre-7.0 ziplist sizes (6.2), another allocator,
# Valkey 9's layouts (volatile sets, the stream's own trees).
SLOTS = ("8.6|libc", "6.2|jemalloc-16", "valkey-9.0|")


def hand_built_seeds():
    """Dumps no server of ours wrote (Valkey 9 expired field TTLs, RDB 81, volatile sets past one
    vector, hashes that start as listpacks), built by tests/rdbwriter.py."""
    from rdbwriter import valkey_81_dump, valkey_grown_dump, valkey_hfe_dump
    return [valkey_hfe_dump(1_900_000_000), valkey_81_dump(1_900_000_000), valkey_grown_dump(1_900_000_000)]


def _scan(sc):
    # Every batch and the facts of a scanner (either twin, or the parallel decode).
    from rdbscan.model.scenario import Scenario, parse_slot
    sc.preamble()
    profile = profile_from_meta(sc.meta)
    sc.set_sizing(*sizing_tables(profile))
    sc.set_slots([slot_sizing(Scenario(k, *parse_slot(k)).apply(profile)) for k in SLOTS])
    sc.set_conversions([16, profile.thresholds.hash_max_value])
    batches = []
    while (b := sc.next_batch()) is not None:
        batches.append(b)
    return batches, sc.meta, None


def outcome(cls, data, verify):
    """Scan ``data`` with one twin: (batches, meta, error) where error is (class, message, offset)."""
    try:
        return _scan(cls(io.BytesIO(data), 97, verify))
    except RDBFormatError as e:
        return None, None, (type(e).__name__, str(e), e.offset)


SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def outcome_parallel(data, verify, chunk_size):
    """:func:`outcome` through the parallel decode of ``data`` written to a file."""
    from rdbscan.scanner.parallel import ParallelScanner
    fd, path = tempfile.mkstemp(suffix=".rdb", dir=SCRATCH)
    sc = None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        with open(path, "rb") as f:
            sc = ParallelScanner(path, f, None, 97, verify, jobs=2, chunk_size=chunk_size)
            return _scan(sc)
    except RDBFormatError as e:
        return None, None, (type(e).__name__, str(e), e.offset)
    finally:
        if sc is not None:
            sc.close()
        os.unlink(path)


def mutate(data, rng):
    """One random damage: bit flips, a cut, an overwritten length, inserted or deleted bytes."""
    data = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0:
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(data))
            data[pos] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del data[rng.randrange(len(data)):]
    elif kind == 2:
        # An absurd length in RDB encoding: 32- or 64-bit big-endian.
        pos = rng.randrange(9, len(data))
        big = rng.choice([b"\x80" + rng.randbytes(4), b"\x81" + rng.randbytes(8),
                          b"\x81\x7f" + b"\xff" * 7, b"\x80\xff\xff\xff\xff"])
        data[pos:pos + len(big)] = big
    elif kind == 3:
        pos = rng.randrange(len(data))
        data[pos:pos] = rng.randbytes(rng.randrange(1, 16))
    elif kind == 4:
        pos = rng.randrange(len(data))
        del data[pos:pos + rng.randrange(1, 16)]
    else:
        pos = rng.randrange(len(data))
        data[pos] = rng.choice([0xc3, 0xff, 0xfe, 0xfb, 0x0e, 0x12, 0x15, 0x19, 0x07, 0x16, 0x17, 0xf2, 0xf3])
    return bytes(data)


def check(data, twins, parallel=True):
    """Both twins agree, the parallel decode agrees, and none raises anything but RDBFormatError."""
    compiled, pure = twins
    for verify in (True, False):
        a = outcome(compiled, data, verify)
        if pure is not None:
            b = outcome(pure, data, verify)
            assert a == b, "the twins disagree"
        if parallel:
            chunk = (509, 4096, 32768)[(len(data) + verify) % 3]
            assert outcome_parallel(data, verify, chunk) == a, f"the parallel decode disagrees ({chunk}-byte chunks)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compiled-only", action="store_true", help="skip the (slow) pure-Python twin")
    args = parser.parse_args()
    from rdbscan.scanner._scanner import Scanner as compiled
    pure = None
    if not args.compiled_only:
        from rdbscan.scanner.pyscanner import Scanner as pure
    rng = random.Random(args.seed)
    seeds = [p.read_bytes() for p in SEEDS] + SYNTHETIC + hand_built_seeds()
    started, runs = time.monotonic(), 0
    while time.monotonic() - started < args.seconds:
        data = mutate(rng.choice(seeds), rng)
        check(data, (compiled, pure))
        runs += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    twins = ("compiled scanner only" if pure is None else "both twins") + \
        " and the parallel decode, no disagreement"
    print(f"{runs} mutated inputs in {args.seconds:.0f} s ({twins}), no crash; peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
