"""Spark vs rdbscan on the same dumps: ``spark.read.format("rdb")...count()`` on local[2]
against ``rdbscan scan --jobs 2`` into Parquet.

    python benchmarks/bench_spark.py DIR [--rounds 3] [--master local[2]] [--jobs 2]

DIR holds the dumps (``*.rdb``; the issue's 8 dumps of ~200 k keys come from
``make_dump.py``).  Each round runs, as whole processes:

- ``rdbscan scan DUMP... -o OUT --jobs N`` (when this rdbscan has
  ``--jobs``; otherwise one ``rdbscan scan DUMP -o OUT`` after another, and
  the table says so);
- a Python process that starts a Spark session (``--master``), registers
  ``RdbDataSource`` and counts the rows of all dumps; it reports its session
  start-up and the count's time, so the ratio is shown with and without the
  JVM's start-up.

Prints medians over ``--rounds`` and the ratios Spark / rdbscan.  The rows
Spark counts must equal the keys rdbscan wrote.
"""

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SPARK_JOB = r"""
import json, sys, time
t0 = time.monotonic()
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master(sys.argv[1]).appName("bench-spark")
         .config("spark.ui.enabled", "false").config("spark.pyspark.python", sys.executable).getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
t1 = time.monotonic()
from rdbscan.integrations.spark import RdbDataSource
spark.dataSource.register(RdbDataSource)
rows = spark.read.format("rdb").load(sys.argv[2]).count()
t2 = time.monotonic()
spark.stop()
print(json.dumps({"startup": t1 - t0, "count": t2 - t1, "rows": rows}))
"""


def rdbscan_cmd():
    exe = shutil.which("rdbscan")
    return [exe] if exe else [sys.executable, "-m", "rdbscan"]


def has_jobs():
    """Whether this rdbscan's scan takes several sources and --jobs."""
    out = subprocess.run(rdbscan_cmd() + ["scan", "--help"], capture_output=True, text=True).stdout
    return "--jobs" in out


def run_rdbscan(dumps, out_dir, jobs, parallel):
    """Seconds of the whole rdbscan run (or runs), and the keys written."""
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    start = time.monotonic()
    if parallel:
        subprocess.run(rdbscan_cmd() + ["scan", *dumps, "-o", out_dir, "--jobs", str(jobs), "-q"], check=True)
    else:
        for i, d in enumerate(dumps):
            subprocess.run(rdbscan_cmd() + ["scan", d, "-o", os.path.join(out_dir, f"{i:03d}.parquet"), "-q"],
                           check=True)
    seconds = time.monotonic() - start
    import pyarrow.parquet as pq
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in glob.glob(os.path.join(out_dir, "**", "*.parquet"),
                                                                         recursive=True))
    return seconds, rows


def run_spark(dumps, master):
    """(whole process seconds, session start-up, count seconds, rows)."""
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-c", SPARK_JOB, master, ",".join(dumps)], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if res.returncode != 0:
        sys.exit(f"the Spark job failed:\n{res.stderr[-3000:]}")
    got = json.loads(res.stdout.strip().splitlines()[-1])
    return seconds, got["startup"], got["count"], got["rows"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="directory of dumps (*.rdb)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    ap.add_argument("--jobs", type=int, default=2, help="rdbscan scan --jobs (default 2)")
    args = ap.parse_args()
    dumps = sorted(os.path.abspath(p) for p in glob.glob(os.path.join(args.dir, "*.rdb")))
    if not dumps:
        sys.exit(f"{args.dir}: no *.rdb file in it (make them with benchmarks/make_dump.py)")
    parallel = has_jobs()
    size = sum(os.path.getsize(d) for d in dumps)
    print(f"{len(dumps)} dumps, {size / 1e6:,.1f} MB; rdbscan "
          + (f"scan --jobs {args.jobs}" if parallel else "scan, one dump after another (this rdbscan has no --jobs)"))
    work = tempfile.mkdtemp(prefix="bench-spark-")
    ours, theirs = [], []
    try:
        for r in range(args.rounds):
            s, rows = run_rdbscan(dumps, os.path.join(work, "out"), args.jobs, parallel)
            ours.append(s)
            whole, startup, count, spark_rows = run_spark(dumps, args.master)
            theirs.append((whole, startup, count))
            if spark_rows != rows:
                sys.exit(f"Spark counted {spark_rows:,} rows, rdbscan wrote {rows:,}")
            print(f"round {r + 1}: rdbscan {s:.2f} s; Spark {whole:.2f} s "
                  f"(session start-up {startup:.2f} s, count {count:.2f} s); {rows:,} keys")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rd = statistics.median(ours)
    sw = statistics.median(t[0] for t in theirs)
    sc = statistics.median(t[2] for t in theirs)
    print()
    print("| run | seconds (median) | Spark / rdbscan |")
    print("|---|---|---|")
    print(f"| rdbscan scan{' --jobs ' + str(args.jobs) if parallel else ' (sequential)'} | {rd:.2f} | |")
    print(f"| Spark {args.master}, whole process (JVM start-up included) | {sw:.2f} | {sw / rd:.2f}x |")
    print(f"| Spark {args.master}, count only (session already up) | {sc:.2f} | {sc / rd:.2f}x |")


if __name__ == "__main__":
    main()
