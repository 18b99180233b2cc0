#!/usr/bin/env python3
"""What the what-if costs: the scan's hot loop, each sizing slot, each scenario.

    python benchmarks/bench_whatif.py [--data benchmarks/data] [--rounds 3] [--baseline /path/to/other/checkout]

On bench-7.0.rdb (1.5 M keys; ``python benchmarks/make_dump.py`` makes it):

  hot loop      the compiled scanner alone (no Arrow, no model, no Parquet), as a
                plain scan sets it up; with --baseline, the same loop of another
                checkout (its built extension, e.g. the main branch) alternating
                with this one, in child processes
  slots         the same loop with 0, 1, 2 and 4 what-if sizing slots (another
                release or allocator: every element sized again)
  scan          `rdbscan scan` into Parquet, plain vs a what-if scan keeping the
                model's inputs for the default scenarios (the cache
                `rdbscan report whatif` writes), and the file sizes
  scenarios     evaluating 1, 2 and 4 scenarios over that scan (the model run
                again per scenario, grouped by type and pattern), limits-only and
                other releases

Rounds alternate the variants; medians are printed.  The machine is shared:
read the figures as rough, and compare runs of one invocation only.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = HERE / "data"

LOOP = r"""
import sys, time
from rdbscan.scanner._scanner import Scanner
from rdbscan.model.encoding import profile_from_meta, ServerProfile
from rdbscan.model.memory import sizing_tables
path, nslots = sys.argv[1], int(sys.argv[2])
with open(path, "rb", buffering=0) as f:
    sc = Scanner(f, 65536, True)
    sc.preamble()
    profile = profile_from_meta(sc.meta)
    sc.set_sizing(*sizing_tables(profile))
    if hasattr(sc, "set_conversions"):      # what a plain scan sets up (rdbscan.api)
        sc.set_conversions([profile.thresholds.hash_max_value])
    if nslots:
        from rdbscan.model import scenario
        from rdbscan.model.memory import slot_sizing
        others = ["|jemalloc-16", "|libc", "valkey-8.1|", "6.2|"][:nslots]
        sc.set_slots([slot_sizing(scenario.Scenario(k, *scenario.parse_slot(k)).apply(profile))
                      for k in others])
    t = time.perf_counter()
    rows = 0
    while (b := sc.next_batch()) is not None:
        rows += b[0]
    print(time.perf_counter() - t, rows)
"""


def loop_seconds(tree, dump, nslots=0):
    """The scanner-only pass over ``dump`` with the extension built in ``tree``, in a child process."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", LOOP, str(dump), str(nslots)], capture_output=True, text=True,
                         env=env, cwd=tempfile.gettempdir())
    if out.returncode:
        raise SystemExit(f"scanner loop failed in {tree}: {out.stderr.strip().splitlines()[-1]}")
    return float(out.stdout.split()[0])


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="another checkout with its extensions built (e.g. main)")
    args = ap.parse_args()
    dump = args.data / "bench-7.0.rdb"
    if not dump.exists():
        raise SystemExit(f"{dump} not found: make it with `python benchmarks/make_dump.py"
                         f"{'' if args.data == DEFAULT_DATA else ' --out ' + str(args.data)}`")
    dump.read_bytes()      # warm the page cache

    print(f"# {dump} ({dump.stat().st_size / 1e6:.1f} MB), {args.rounds} rounds, medians")
    if args.baseline:
        ours, base = [], []
        for _ in range(args.rounds):
            base.append(loop_seconds(args.baseline, dump))
            ours.append(loop_seconds(ROOT, dump))
        print(f"hot loop      this tree {median(ours):.3f} s   baseline {median(base):.3f} s   "
              f"ratio {median([a / b for a, b in zip(ours, base)]):.3f}")

    slots = {n: [] for n in (0, 1, 2, 4)}
    for _ in range(args.rounds):
        for n in slots:
            slots[n].append(loop_seconds(ROOT, dump, n))
    zero = median(slots[0])
    print("slots         " + "   ".join(f"{n}: {median(v):.3f} s (+{100 * (median(v) / zero - 1):.1f} %)"
                                        for n, v in slots.items()))

    sys.path.insert(0, str(ROOT))
    import rdbscan
    from rdbscan.analysis import dataset, whatif
    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as tmp:
        tmp = Path(tmp)
        default = whatif.scenarios_from_specs([])
        plain, wide = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            rdbscan.scan(dump, tmp / "plain.parquet")
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            rdbscan.scan(dump, tmp / "whatif.parquet", slots=whatif.slots_for(default),
                         conv_limits=whatif.conv_limits_for(default), allocator_evidence=True)
            wide.append(time.perf_counter() - t)
        print(f"scan          plain {median(plain):.2f} s ({(tmp / 'plain.parquet').stat().st_size / 1e6:.1f} MB)   "
              f"what-if, default scenarios + allocator evidence {median(wide):.2f} s "
              f"({(tmp / 'whatif.parquet').stat().st_size / 1e6:.1f} MB)")

        sets = {"1 limits-only": ["hash-max-listpack-entries=1024"],
                "2 limits-only": ["hash-max-listpack-entries=1024", "zset-max-listpack-entries=1024"],
                "1 release": ["valkey-8.1"],
                "4 mixed": ["valkey-8.1", "8.6", "hash-max-listpack-entries=1024", "allocator=libc"]}
        cache = tmp / "cache"
        all_specs = [s for specs in sets.values() for s in specs]
        scenarios = whatif.scenarios_from_specs(all_specs)
        with dataset.open_dataset([dump], cache_dir=str(cache), whatif_slots=whatif.slots_for(scenarios),
                                  whatif_conv=whatif.conv_limits_for(scenarios)):
            pass     # the scan, once
        times = {name: [] for name in sets}
        for _ in range(args.rounds):
            for name, specs in sets.items():
                sc = whatif.scenarios_from_specs(specs)
                with dataset.open_dataset([dump], cache_dir=str(cache), whatif_slots=whatif.slots_for(scenarios),
                                          whatif_conv=whatif.conv_limits_for(scenarios)) as ds:
                    t = time.perf_counter()
                    whatif.materialize(ds, sc)
                    times[name].append(time.perf_counter() - t)
        print("scenarios     " + "   ".join(f"{name}: {median(v):.2f} s" for name, v in times.items()))


if __name__ == "__main__":
    main()
