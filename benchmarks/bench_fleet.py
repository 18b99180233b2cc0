#!/usr/bin/env python3
"""Time fleet scans (many dumps into one dataset), whole commands, pair by pair.

    python benchmarks/make_dump.py --fleet 8           # 8 dumps of ~200 k keys in benchmarks/data/fleet/
    python benchmarks/bench_fleet.py [--rounds 3] [--skip-s3] [--json] [--data benchmarks/data]

Every run is a child process timed as in bench_scan.py (wall clock; user+sys
CPU and peak RSS from ``os.wait4``, workers included), pairs alternate
A B A B ... for --rounds rounds, and the ratio is the median of the
round-by-round ratios A/B. The dumps are read once first (page cache).

Pairs:

  jobs        ``rdbscan scan fleet/*.rdb -o NEW --jobs 2``  vs  the same with ``--jobs 1``
              (target <= 0.6 on a 2-core machine)
  rerun       the same command again into the finished dataset (every part reused)  vs  a full
              scan into a new directory, both with the default jobs (target <= 5 %)
  s3          ``rdbscan scan s3://bench/fleet/*.rdb -o NEW``  vs  the same dumps from local disk, both
              ``--jobs 2``; the S3 server is moto's standalone server on 127.0.0.1 (started here,
              the dumps uploaded first; --skip-s3 skips it)

The figures are printed with the targets next to them, never asserted. On a
shared machine they are noisy: compare ratios from one run.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_scan import run, warm  # noqa: E402  (the same timing as the scan benchmark)

DEFAULT_DATA = HERE / "data"
TARGETS = {"jobs": 0.6, "rerun": 0.05, "s3": None}


def rdbscan(*args):
    """The command line of ``python -m rdbscan ARGS`` (this interpreter's rdbscan)."""
    return [sys.executable, "-m", "rdbscan", *map(str, args)]


def fleet_dumps(data):
    """The fleet's dumps and their total key count (from make_dump.py's sidecars)."""
    dumps = sorted((data / "fleet").glob("shard-*.rdb"))
    if not dumps:
        hint = "python benchmarks/make_dump.py --fleet 8" + ("" if data == DEFAULT_DATA else f" --out {data}")
        raise SystemExit(f"bench_fleet.py: no dumps in {data / 'fleet'}: make them with `{hint}`")
    keys = 0
    for d in dumps:
        sidecar = Path(f"{d}.json")
        keys += json.loads(sidecar.read_text())["keys"] if sidecar.exists() else 0
    return dumps, keys


def timed(cmd, workdir, label, env=None):
    """Run one command, failing loudly when it fails."""
    log = workdir / f"{label}.log"
    if env is not None:
        old = dict(os.environ)
        os.environ.update(env)
    try:
        res = run(cmd, log)
    finally:
        if env is not None:
            os.environ.clear()
            os.environ.update(old)
    if res["exit"] != 0:
        raise SystemExit(f"bench_fleet.py: {' '.join(map(str, cmd))} exited {res['exit']}:\n{log.read_text()[-2000:]}")
    return res


def pair(name, title, a, b, rounds, workdir):
    """Alternate the thunks ``a`` and ``b`` (each returns a run dict) for ``rounds`` rounds."""
    runs_a, runs_b, ratios = [], [], []
    for i in range(rounds):
        ra, rb = a(i), b(i)
        runs_a.append(ra)
        runs_b.append(rb)
        ratios.append(ra["wall_s"] / rb["wall_s"])

    def med(runs):
        return {"wall_s": statistics.median(r["wall_s"] for r in runs),
                "cpu_s": statistics.median(r["cpu_s"] for r in runs),
                "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs)}
    return {"pair": name, "title": title, "a": med(runs_a), "b": med(runs_b),
            "ratio": statistics.median(ratios), "ratios": ratios, "target": TARGETS[name]}


def fresh(workdir, tag):
    """A new, empty output directory path (not created)."""
    fresh.n = getattr(fresh, "n", 0) + 1
    return workdir / f"{tag}-{fresh.n}"


def bench_jobs(dumps, rounds, workdir):
    glob = str(dumps[0].parent / "shard-*.rdb")
    return pair("jobs", "--jobs 2 vs --jobs 1, a new dataset each run",
                lambda i: timed(rdbscan("scan", glob, "-o", fresh(workdir, "j2"), "--jobs", "2", "-q"), workdir, f"j2-{i}"),
                lambda i: timed(rdbscan("scan", glob, "-o", fresh(workdir, "j1"), "--jobs", "1", "-q"), workdir, f"j1-{i}"),
                rounds, workdir)


def in_process_rerun(glob, done):
    """Seconds of the ``scan_many`` call alone on a finished dataset (no interpreter start-up)."""
    code = ("import sys, time, rdbscan; t = time.perf_counter(); "
            "r = rdbscan.scan_many([sys.argv[1]], sys.argv[2]); "
            "assert len(r.reused) == len(r); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code, glob, str(done)], capture_output=True, text=True, check=True)
    return float(out.stdout)


def bench_rerun(dumps, rounds, workdir):
    glob = str(dumps[0].parent / "shard-*.rdb")
    done = workdir / "rerun-dataset"
    timed(rdbscan("scan", glob, "-o", done, "-q"), workdir, "rerun-first")
    bench_rerun.in_process = statistics.median(in_process_rerun(glob, done) for _ in range(rounds))
    result = pair("rerun", "a rerun with nothing changed (every part reused) vs a full scan",
                  lambda i: timed(rdbscan("scan", glob, "-o", done, "-q"), workdir, f"rerun-{i}"),
                  lambda i: timed(rdbscan("scan", glob, "-o", fresh(workdir, "full"), "-q"), workdir, f"full-{i}"),
                  rounds, workdir)
    result["in_process_s"] = bench_rerun.in_process
    return result


def moto_server(workdir):
    """Start moto's S3 server on a free 127.0.0.1 port; returns (process, endpoint)."""
    import socket
    try:
        import moto.server  # noqa: F401
    except ImportError as e:
        raise SystemExit(f"bench_fleet.py: moto's server mode is missing ({e}): pip install -e '.[test]' "
                         "(or --skip-s3)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    log = open(workdir / "moto.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
            return proc, endpoint
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"bench_fleet.py: moto's server did not start; see {workdir / 'moto.log'}")
            time.sleep(0.1)


def bench_s3(dumps, rounds, workdir):
    import boto3
    proc, endpoint = moto_server(workdir)
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    try:
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")
        client.create_bucket(Bucket="bench")
        for d in dumps:
            client.upload_file(str(d), "bench", f"fleet/{d.name}")
        glob = str(dumps[0].parent / "shard-*.rdb")
        return pair("s3", "from the local S3 server vs from local disk, --jobs 2",
                    lambda i: timed(rdbscan("scan", "s3://bench/fleet/shard-*.rdb", "-o", fresh(workdir, "s3"),
                                            "--jobs", "2", "-q"), workdir, f"s3-{i}", env),
                    lambda i: timed(rdbscan("scan", glob, "-o", fresh(workdir, "disk"), "--jobs", "2", "-q"),
                                    workdir, f"disk-{i}"),
                    rounds, workdir)
    finally:
        proc.terminate()
        proc.wait(10)


def print_table(results, dumps, keys):
    size = sum(d.stat().st_size for d in dumps)
    print(f"\n{len(dumps)} dumps, {keys:,} keys, {size / 1e6:,.0f} MB; {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}); medians, whole processes\n")
    print(f"| pair | A | B | A/B | target |")
    print(f"|---|---|---|---|---|")
    for r in results:
        a, b = r["a"], r["b"]
        rate = f", {keys / a['wall_s'] / 1e6:.2f} M keys/s" if r["pair"] != "rerun" else ""
        target = "" if r["target"] is None else f"<= {r['target']:g}" + (
            " (met)" if r["ratio"] <= r["target"] else " (not met)")
        print(f"| {r['title']} | {a['wall_s']:.2f} s{rate}, {a['peak_rss_bytes'] / 1e6:.0f} MB | "
              f"{b['wall_s']:.2f} s, {b['peak_rss_bytes'] / 1e6:.0f} MB | {r['ratio']:.3f} | {target} |")
        if r.get("in_process_s") is not None:
            print(f"| the rerun's scan_many call alone (no start-up) | {r['in_process_s'] * 1000:.1f} ms | "
                  f"{b['wall_s']:.2f} s | {r['in_process_s'] / b['wall_s']:.4f} | |")


def main(argv=None):
    """Parse the arguments, run the pairs, print the table (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where make_dump.py wrote fleet/")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-s3", action="store_true", help="skip the S3 pair")
    ap.add_argument("--only", choices=sorted(TARGETS), action="append", help="run only this pair (repeatable)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)
    dumps, keys = fleet_dumps(args.data.resolve())
    for d in dumps:
        warm(d)
    chosen = args.only or [p for p in ("jobs", "rerun", "s3") if not (p == "s3" and args.skip_s3)]
    with tempfile.TemporaryDirectory(prefix="bench_fleet-") as tmp:
        workdir = Path(tmp)
        results = []
        for name in chosen:
            results.append({"jobs": bench_jobs, "rerun": bench_rerun, "s3": bench_s3}[name](dumps, args.rounds, workdir))
            for p in workdir.iterdir():      # the datasets of this pair: free the space
                if p.is_dir():
                    shutil.rmtree(p)
    if args.json:
        print(json.dumps({"dumps": [str(d) for d in dumps], "keys": keys, "results": results}, indent=2))
    else:
        print_table(results, dumps, keys)


if __name__ == "__main__":
    main()
