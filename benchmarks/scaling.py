#!/usr/bin/env python3
"""A scaling model of the parallel decode, from per-chunk timings: what a big dump on many cores should take.

    python benchmarks/scaling.py [--dump benchmarks/data/bench-coll-7.0.rdb] [--jobs 2]
                                 [--size 50GB] [--cores 16] [--read-gbps 0] [--json]

Scans the dump once in this process, as ``rdbscan scan --jobs J`` does (its
chunks decoded by J threads, Parquet encoded by J/2 threads), and measures
CPU time per thread (``time.thread_time``, so the noise of a shared machine
weighs less than on wall times):

  decode    per byte: every chunk's boundary search and decode, on the decoder threads
            (chunks decoded again after a false sync included)
  stitch    per key: the scanning thread (stitching chunks, regrouping rows into batches,
            queueing them for the writer)
  encode    per key: on the writer threads, Arrow arrays, the memory model, filters, key
            patterns and Parquet encoding

then projects a dump of --size bytes (the same mix: keys grow with bytes)
on --cores cores (cores decoders, cores/2 encoders) as

  start-up + max(all CPU / cores, stitch alone, encode / encoders, bytes / read bandwidth)
           + one chunk's decode (the last chunk to finish)

The stitch runs on one thread, so it bounds the speed-up; the projection
says which term is the wall.  It is a projection from one machine's
measurements, not a measurement: the 50 GB dump and the 16 cores were not
there.  --read-gbps 0 assumes the dump is in the page cache.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def parse_size(text):
    """``50GB`` -> 50e9."""
    text = text.strip().upper()
    for unit, mult in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if text.endswith(unit):
            return int(float(text[:-len(unit)]) * mult)
    return int(text)


def measure(dump, jobs):
    """One scan of ``dump`` with ``jobs`` decoders: the CPU seconds of each part, and counts."""
    from rdbscan import api
    api.lean_memory_pool()
    seen = {}

    class Batches(api.ScanBatches):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen["batches"] = self

    class Sink(api.ParquetSink):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen["sink"] = self

    api.ScanBatches, api.ParquetSink = Batches, Sink     # api.scan as rdbscan scan runs it, watched
    with tempfile.TemporaryDirectory(prefix="scaling-") as d:
        wall = time.perf_counter()
        main_cpu = time.thread_time()
        api.scan(str(dump), os.path.join(d, "x.parquet"), jobs=jobs)
        main_cpu = time.thread_time() - main_cpu
        wall = time.perf_counter() - wall
    batches, sink = seen["batches"], seen["sink"]
    stats = batches.parallel_stats
    if not stats:
        raise SystemExit(f"scaling.py: {dump} was not decoded in parallel (compressed, too small, or --jobs 1?)")
    size = dump.stat().st_size
    return {
        "dump": str(dump), "bytes": size, "keys": batches.meta["rows"], "jobs": jobs, "wall_s": wall,
        "chunks": stats["chunks"], "redone": stats["redone"], "unsynced": stats["unsynced"], "gaps": stats["gaps"],
        "decode_cpu_s": sum(stats["chunk_cpu"]) + stats["exact_cpu"],
        "max_chunk_cpu_s": max(stats["chunk_cpu"]),
        "median_chunk_bytes": statistics.median(stats["chunk_bytes"]),
        "exact_cpu_s": stats["exact_cpu"],
        "stitch_cpu_s": main_cpu - stats["exact_cpu"],     # exact decodes run on the stitch thread
        "encode_cpu_s": sink.cpu_seconds,
    }


def startup(rdbscan):
    """Median wall time of ``rdbscan --version`` (interpreter and imports), 5 runs."""
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([*rdbscan, "--version"], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def project(m, size, cores, read_gbps, start):
    """The projected seconds for a dump of ``size`` bytes on ``cores`` cores, with each bound."""
    keys = m["keys"] * size / m["bytes"]
    decode = m["decode_cpu_s"] / m["bytes"] * size
    stitch = m["stitch_cpu_s"] / m["keys"] * keys
    encode = m["encode_cpu_s"] / m["keys"] * keys
    encoders = max(1, (cores + 1) // 2)
    bounds = {
        "all CPU / cores": (decode + stitch + encode) / cores,
        "stitch thread alone": stitch,
        f"encode / {encoders} encoders": encode / encoders,
    }
    if read_gbps:
        bounds[f"reading at {read_gbps} GB/s"] = size / (read_gbps * 1e9)
    wall_term = max(bounds, key=bounds.get)
    last_chunk = m["decode_cpu_s"] / m["chunks"]
    total = start + bounds[wall_term] + last_chunk
    return {"size": size, "cores": cores, "keys": keys, "decode_cpu_s": decode, "stitch_cpu_s": stitch,
            "encode_cpu_s": encode, "bounds": bounds, "wall_term": wall_term, "startup_s": start,
            "last_chunk_s": last_chunk, "projected_s": total, "keys_per_s": keys / total}


def main(argv=None):
    """Measure, project and print the model (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--dump", type=Path, default=HERE / "data" / "bench-coll-7.0.rdb")
    ap.add_argument("--jobs", type=int, default=2, help="decoders for the measured scan")
    ap.add_argument("--size", type=parse_size, default=parse_size("50GB"), help="the dump size to project")
    ap.add_argument("--cores", type=int, default=16)
    ap.add_argument("--read-gbps", type=float, default=0.0,
                    help="disk read bandwidth in GB/s (0: the dump is in the page cache)")
    ap.add_argument("--rdbscan", default=shlex.join([sys.executable, "-m", "rdbscan"]))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.dump.exists():
        raise SystemExit(f"scaling.py: {args.dump} not found: make it with "
                         "`python benchmarks/make_dump.py --collection-heavy`")
    start = startup(shlex.split(args.rdbscan))
    m = measure(args.dump, args.jobs)
    p = project(m, args.size, args.cores, args.read_gbps, start)
    if args.json:
        json.dump({"measured": m, "projection": p}, sys.stdout, indent=2)
        print()
        return
    mb = m["bytes"] / 1e6
    print(f"measured: {args.dump.name}, {mb:,.0f} MB, {m['keys']:,} keys, --jobs {m['jobs']}: "
          f"{m['wall_s']:.2f} s wall in this process; {m['chunks']} chunks (median {m['median_chunk_bytes'] / 1e6:.1f} MB), "
          f"{m['gaps']} gaps filled, {m['redone'] + m['unsynced']} decoded again")
    print(f"  decode   {m['decode_cpu_s']:7.2f} s CPU  = {m['decode_cpu_s'] / mb * 1e3:6.2f} ms/MB"
          f"   (of it decoded again on the stitch thread: {m['exact_cpu_s']:.2f} s)")
    print(f"  stitch   {m['stitch_cpu_s']:7.2f} s CPU  = {m['stitch_cpu_s'] / m['keys'] * 1e9:6.0f} ns/key  (one thread)")
    print(f"  encode   {m['encode_cpu_s']:7.2f} s CPU  = {m['encode_cpu_s'] / m['keys'] * 1e9:6.0f} ns/key")
    print(f"  start-up {start:7.2f} s wall")
    print(f"projection (not a measurement): {p['size'] / 1e9:,.0f} GB of the same mix, {p['keys'] / 1e6:,.0f} M keys, "
          f"on {p['cores']} cores:")
    for name, v in p["bounds"].items():
        print(f"  {name:<28}{v:8.1f} s{'   <- the wall' if name == p['wall_term'] else ''}")
    print(f"  + start-up {p['startup_s']:.2f} s + the last chunk {p['last_chunk_s']:.3f} s")
    print(f"  = {p['projected_s']:.1f} s ({p['keys_per_s'] / 1e6:.1f} M keys/s)")


if __name__ == "__main__":
    main()
