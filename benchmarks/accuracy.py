"""How close ``memory_bytes`` comes to the server's own ``MEMORY USAGE ... SAMPLES 0``.

For every bundled fixture that records ``memory_usage`` (Redis 4.0 on), and
per (type, encoding) group: keys, exact matches, median and p95 of
|error| / truth, and the worst key.  Side by side, on the RDB <= 9 fixtures,
rdbtools' ``size_in_bytes`` against the same truth.  Then the what-if
targets: older fixtures estimated as Redis 8.0/8.4/8.6 (``--target-version``)
against what a real server of that release answered after loading them
(fixtures/loaded-by-redis-*).

    python benchmarks/accuracy.py [--fixtures DIR] [--only GLOB] [--no-rdbtools] [--json]
"""

import argparse
import fnmatch
import json
import pathlib
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rdbscan  # noqa: E402


sys.path.insert(0, str(ROOT / "tests"))
from conftest import model_options  # noqa: E402  (the fixtures' allocator and cluster mode)


def truth_of(fixture):
    """truth.jsonl rows keyed by (db, key bytes)."""
    rows = {}
    for line in open(fixture / "truth.jsonl", encoding="utf-8"):
        r = json.loads(line)
        rows[(r["db"], bytes.fromhex(r["key_hex"]))] = r
    return rows


def p95(values):
    """95th percentile (nearest rank)."""
    s = sorted(values)
    return s[min(len(s) - 1, int(0.95 * len(s)))] if s else 0.0


def summarize(pairs):
    """pairs: (key, estimate, truth) -> stats dict."""
    errs = [abs(e - t) / t for _, e, t in pairs if e is not None and t]
    exact = sum(1 for _, e, t in pairs if e == t)
    missing = sum(1 for _, e, _ in pairs if e is None)
    worst = max(pairs, key=lambda x: abs((x[1] or 0) - x[2]) / x[2] if x[2] else 0) if pairs else None
    return {"keys": len(pairs), "exact": exact, "missing": missing,
            "median": statistics.median(errs) if errs else None, "p95": p95(errs) if errs else None,
            "worst": None if worst is None else {"key": worst[0], "estimate": worst[1], "truth": worst[2]}}


def rdbtools_sizes(path):
    """rdbtools' size_in_bytes per (db, key bytes), or None when it cannot run."""
    try:
        from rdbtools import RdbParser
        from rdbtools.memprofiler import MemoryCallback
    except ImportError:
        return None
    sizes = {}

    class Collect:
        def next_record(self, record):
            if record.key is not None:
                key = record.key if isinstance(record.key, bytes) else str(record.key).encode()
                sizes[(record.database, key)] = record.bytes

        def end_rdb(self):
            pass

    callback = MemoryCallback(Collect(), 64, string_escape="raw")
    RdbParser(callback).parse(str(path))
    return sizes


def loaded_by(fixtures_dir):
    """The what-if targets against fixtures/loaded-by-redis-<release>: one entry per release."""
    out = []
    for folder in sorted(pathlib.Path(fixtures_dir).glob("loaded-by-redis-*")):
        release = folder.name[len("loaded-by-redis-"):]
        target = ".".join(release.split(".")[:2])
        pairs, groups, names = [], {}, []
        for sub in sorted(p for p in folder.iterdir() if (p / "truth.jsonl").exists()):
            names.append(sub.name)
            truth = truth_of(sub)
            for r in rdbscan.read_table(pathlib.Path(fixtures_dir) / sub.name / "dump.rdb",
                                        target=target).to_pylist():
                kb = r["key_bytes"] if r["key_bytes"] is not None else r["key"].encode()
                t = truth[(r["db"], kb)]
                item = (f"{sub.name}:{r['key']}", r["memory_bytes"], t["memory_usage"])
                pairs.append(item)
                groups.setdefault((r["type"], t["encoding"]), []).append(item)
        out.append({"release": release, "target": target, "fixtures": names, "all": summarize(pairs),
                    "groups": {f"{k[0]}/{k[1]}": summarize(v) for k, v in sorted(groups.items())}})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixtures", default=str(ROOT / "fixtures"))
    parser.add_argument("--no-rdbtools", action="store_true")
    parser.add_argument("--only", metavar="GLOB", help="only the fixtures whose name matches, e.g. 'valkey-unstable*'")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = []
    overall, overall_rt = [], []
    for fixture in sorted(pathlib.Path(args.fixtures).iterdir()):
        if not (fixture / "truth.jsonl").exists():
            continue
        if args.only and not fnmatch.fnmatch(fixture.name, args.only):
            continue
        truth = truth_of(fixture)
        if all(t["memory_usage"] is None for t in truth.values()):
            continue
        rows = rdbscan.read_table(fixture / "dump.rdb", **model_options(fixture.name)).to_pylist()
        groups = {}
        pairs = []
        for r in rows:
            kb = r["key_bytes"] if r["key_bytes"] is not None else r["key"].encode()
            t = truth[(r["db"], kb)]
            item = (r["key"], r["memory_bytes"], t["memory_usage"])
            pairs.append(item)
            groups.setdefault((r["type"], r["encoding"]), []).append(item)
        overall += pairs
        entry = {"fixture": fixture.name, "all": summarize(pairs),
                 "groups": {f"{k[0]}/{k[1]}": summarize(v) for k, v in sorted(groups.items())}}
        meta = json.loads(open(fixture / "server.json").read())
        if not args.no_rdbtools and meta["rdb_version"] <= 9:
            sizes = rdbtools_sizes(fixture / "dump.rdb")
            if sizes is not None:
                rt = [(r["key"], sizes.get((r["db"], r["key_bytes"] or r["key"].encode())),
                       truth[(r["db"], r["key_bytes"] or r["key"].encode())]["memory_usage"]) for r in rows]
                entry["rdbtools"] = summarize(rt)
                overall_rt += rt
        report.append(entry)
    result = {"fixtures": report, "overall": summarize(overall),
              "overall_rdbtools": summarize(overall_rt) if overall_rt else None,
              "loaded_by": loaded_by(args.fixtures)}
    if args.json:
        print(json.dumps(result, indent=1, default=str))
        return
    pct = lambda x: "-" if x is None else f"{100 * x:.2f}%"  # noqa: E731
    for e in report:
        a = e["all"]
        line = (f"{e['fixture']:<24} keys {a['keys']:>4}  exact {a['exact']:>4} ({100 * a['exact'] / a['keys']:.0f}%)  "
                f"median {pct(a['median']):>7}  p95 {pct(a['p95']):>7}")
        if "rdbtools" in e:
            rt = e["rdbtools"]
            line += f"   | rdbtools exact {rt['exact']:>3}  median {pct(rt['median']):>7}  p95 {pct(rt['p95']):>8}"
        print(line)
        for g, s in e["groups"].items():
            w = s["worst"]
            print(f"    {g:<22} keys {s['keys']:>4}  exact {s['exact']:>4}  median {pct(s['median']):>7}  "
                  f"p95 {pct(s['p95']):>7}  worst {w['key']!s:.30} {w['estimate']} vs {w['truth']}")
    a = result["overall"]
    print(f"OVERALL keys {a['keys']} exact {a['exact']} ({100 * a['exact'] / a['keys']:.1f}%) "
          f"median {pct(a['median'])} p95 {pct(a['p95'])}")
    if result["overall_rdbtools"]:
        rt = result["overall_rdbtools"]
        print(f"rdbtools (RDB <= 9 fixtures) keys {rt['keys']} exact {rt['exact']} median {pct(rt['median'])} "
              f"p95 {pct(rt['p95'])}")
    for e in result["loaded_by"]:
        a = e["all"]
        print(f"--target-version {e['target']} vs a real Redis {e['release']} that loaded {len(e['fixtures'])} "
              f"fixtures: keys {a['keys']} exact {a['exact']} ({100 * a['exact'] / a['keys']:.1f}%) "
              f"median {pct(a['median'])} p95 {pct(a['p95'])}")
        for g, s in e["groups"].items():
            if s["exact"] < s["keys"]:
                w = s["worst"]
                print(f"    {g:<22} keys {s['keys']:>4}  exact {s['exact']:>4}  median {pct(s['median']):>7}  "
                      f"p95 {pct(s['p95']):>7}  worst {w['key']!s:.40} {w['estimate']} vs {w['truth']}")


if __name__ == "__main__":
    main()
