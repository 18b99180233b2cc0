"""Time ``rdbscan diff`` on two synthetic 10 M-key scans (the issue's target: <= 15 s).

The two sides are Parquet files with the scan schema and rdbscan metadata
(taken from a real scan of a bundled fixture), generated once into
benchmarks/data/: OLD has 10 M keys over a dozen patterns; NEW drops 1 %,
adds 2 %, changes the memory of 3 % and the TTL of 0.5 % of them.

    python benchmarks/bench_diff.py [--keys 10000000]

prints the wall time and peak RSS of the whole ``rdbscan diff`` process.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
FIXTURE = os.path.join(HERE, "..", "fixtures", "redis-7.4.1", "dump.rdb")

PATTERNS = ["user:{}:profile", "session:{}", "cache:page:{}", "rate:{}:minute", "feed:{}:items",
            "order:{}", "cart:{}", "token:{}", "geo:{}:pos", "lock:{}", "queue:{}:jobs", "stats:{}:daily"]
TYPES = ["hash", "string", "string", "string", "list", "hash", "hash", "string", "zset", "string", "list", "hash"]
ENCODINGS = {"hash": "listpack", "string": "embstr", "list": "quicklist", "zset": "listpack"}


def side(ids, rng, meta, extra_seed=0):
    """A table of the scan schema for key numbers ``ids``."""
    from rdbscan.scanner.records import SCHEMA
    n = len(ids)
    which = ids % len(PATTERNS)
    keys = []
    for p, pat in enumerate(PATTERNS):
        mask = which == p
        head, tail = pat.split("{}")
        keys.append((mask, pc.binary_join_element_wise(head, pc.cast(pa.array(ids[mask] // len(PATTERNS)), pa.string()),
                                                        tail, "")))
    key = np.empty(n, dtype=object)
    for mask, arr in keys:
        key[mask] = arr.to_numpy(zero_copy_only=False)
    types = np.array(TYPES, dtype=object)[which]
    mem = (48 + (ids * 2654435761 % 977)).astype(np.int64)
    expire = np.where(ids % 3 == 0, 1_800_000_000_000 + ids, -1)
    cols = {
        "db": pa.array(np.zeros(n, np.uint16)),
        "key": pa.array(key, pa.string()),
        "key_bytes": pa.nulls(n, pa.binary()),
        "type": pa.array(types, pa.string()).dictionary_encode().cast(pa.dictionary(pa.int16(), pa.string())),
        "encoding": pa.array([ENCODINGS[t] for t in TYPES], pa.string()).take(pa.array(which))
                      .dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string())),
        "rdb_type": pa.array(np.full(n, 16, np.uint8)),
        "length": pa.array((ids % 50 + 1).astype(np.int64)),
        "max_element_bytes": pa.array((ids % 40).astype(np.int64)),
        "serialized_bytes": pa.array((mem // 2).astype(np.int64)),
        "memory_bytes": pa.array(mem),
        "expire_at": pa.array(np.where(expire < 0, None, expire), pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        "idle_seconds": pa.nulls(n, pa.int64()), "lfu_freq": pa.nulls(n, pa.uint8()),
        "slot": pa.array((ids % 16384).astype(np.uint16)),
        "offset": pa.array(ids.astype(np.int64) * 40),
        "stream_groups": pa.nulls(n, pa.int64()), "stream_consumers": pa.nulls(n, pa.int64()),
        "stream_pending": pa.nulls(n, pa.int64()), "hash_fields_with_ttl": pa.nulls(n, pa.int64()),
        "value_format": pa.nulls(n, pa.dictionary(pa.int8(), pa.string())),
    }
    from rdbscan import api
    from rdbscan.analysis import patterns
    table = pa.table([cols[f.name] for f in SCHEMA], schema=SCHEMA)
    table = pa.Table.from_batches([api.with_pattern(b) for b in table.to_batches(1 << 20)])   # as scan writes
    meta = {**meta, "rows_written": n, "pattern_inference": patterns.INFERENCE_VERSION}
    return table.replace_schema_metadata({b"rdbscan": json.dumps(meta).encode()})


def make(n, path_old, path_new):
    """Write the OLD and NEW sides."""
    import rdbscan
    meta = rdbscan.info(FIXTURE)
    rng = np.random.default_rng(7)
    ids = np.arange(n, dtype=np.int64)
    pq.write_table(side(ids, rng, meta), path_old, compression="zstd", row_group_size=1 << 20)
    keep = ids[ids % 100 != 0]                                   # 1 % vanish
    new_ids = np.concatenate([keep, np.arange(n, n + n // 50)])  # 2 % appear
    t = side(new_ids, rng, meta)
    mem = t["memory_bytes"].to_numpy()
    changed = new_ids % 33 == 1                                  # 3 % change size
    mem = np.where(changed, mem * 2, mem)
    expire = t["expire_at"]
    lost = pa.array((new_ids % 200 == 3) & (new_ids % 3 == 0))   # TTL lost
    expire = pc.if_else(lost, pa.scalar(None, expire.type), expire)
    md = t.schema.metadata
    t = t.set_column(t.schema.get_field_index("memory_bytes"), "memory_bytes", pa.array(mem))
    t = t.set_column(t.schema.get_field_index("expire_at"), "expire_at", expire).replace_schema_metadata(md)
    pq.write_table(t, path_new, compression="zstd", row_group_size=1 << 20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=10_000_000)
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    old = os.path.join(DATA, f"diff-old-{args.keys}-v2.parquet")   # v2: with the pattern column scan writes
    new = os.path.join(DATA, f"diff-new-{args.keys}-v2.parquet")
    if not (os.path.exists(old) and os.path.exists(new)):
        print(f"generating {args.keys:,}-key sides into {DATA} ...", file=sys.stderr)
        make(args.keys, old, new)
    cmd = [sys.executable, "-m", "rdbscan", "diff", old, new, "--format", "json", "-o", os.devnull]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"rdbscan diff, {args.keys:,} keys per side: {wall:.2f} s wall, peak RSS {rss:,.0f} MB")
    print("reproduce: " + " ".join(cmd[1:]))


if __name__ == "__main__":
    main()
