"""Time ``rdbscan report`` (every section) on a synthetic 10 M-key scan (the issue's target: <= 5 s),
and its HTML page against its JSON (targets: <= 1 s more, <= 2 MB).

The dataset is one Parquet file with the scan schema and rdbscan metadata
(copied from a real scan of a bundled fixture, counts adjusted), generated
once into benchmarks/data/reports-<keys>.parquet: keys from about fifty
realistic patterns (``user:{id}:profile``, ``session:{uuid}``,
``cache:page:{hex}``, ``rate:{ip}:{id}``, ``login:{email}``,
``events:{date}``, ...), with plausible types, encodings, sizes (log-normal,
a few big collections), TTLs (about 40 % of keys), LRU idle times (every
key, as in a dump made under an allkeys-lru policy) and streams.

    python benchmarks/bench_reports.py [--keys 10000000] [--rounds 3] [--skip-sections] [--skip-html]

prints, as medians over the rounds: the whole ``rdbscan report SOURCE
--format json -o /dev/null`` process; the same with ``--format html -o
FILE`` (run in pairs with the JSON one, round by round, so machine noise
hits both) and the page's size; each section alone (in-process, on a fresh
connection, so the sections that need ``pattern_stats`` pay for it); the
pattern UDF alone over every key; and the commands to reproduce.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rdbscan.analysis.reports import SECTIONS

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
FIXTURE = os.path.join(HERE, "..", "fixtures", "redis-7.4.1-lru", "dump.rdb")
TARGET = 5.0
HTML_EXTRA = 1.0         # seconds the HTML page may add to the JSON report
HTML_SIZE = 2_000_000    # bytes

# (template, type, encoding, weight, median memory, sigma, ttl share, value_format)
# Placeholders in templates: {id} {uid} {uuid} {hex40} {hex16} {ip} {email} {date} {dt} {minute} {ts}
# {token} {word} {lang}.
PATTERNS = [
    ("user:{uid}:profile", "hash", "listpack", 8.0, 400, 0.4, 0.0, None),
    ("user:{uid}:settings", "hash", "listpack", 4.0, 250, 0.3, 0.0, None),
    ("user:{uid}:json", "string", "raw", 3.0, 320, 0.3, 0.0, "json"),
    ("user:{uid}:followers", "set", "intset", 1.5, 300, 1.0, 0.0, None),
    ("user:{uid}:feed", "list", "quicklist", 1.5, 900, 1.2, 0.3, None),
    ("user:{uid}:notifications", "zset", "listpack", 1.0, 500, 0.8, 0.5, None),
    ("user:{uid}:cart", "hash", "listpack", 1.0, 300, 0.5, 1.0, None),
    ("user:email:{email}", "string", "int", 2.0, 72, 0.0, 0.0, None),
    ("session:{uuid}", "string", "embstr", 9.0, 180, 0.3, 0.97, "json"),
    ("session:{uuid}:data", "hash", "listpack", 3.0, 350, 0.4, 0.95, None),
    ("sess:{token}", "string", "raw", 3.0, 200, 0.2, 1.0, "text"),
    ("cache:page:{hex40}", "string", "raw", 5.0, 9000, 1.0, 0.9, "html"),
    ("cache:api:v2:{hex16}", "string", "raw", 4.0, 1200, 0.9, 0.95, "json"),
    ("cache:query:{hex40}", "string", "raw", 3.0, 2500, 1.1, 0.8, "json"),
    ("cache:thumb:{id}:{word}", "string", "raw", 1.0, 6000, 0.6, 0.7, "binary"),
    ("rate:{ip}:{minute}", "string", "int", 6.0, 64, 0.0, 1.0, None),
    ("ratelimit:api:{token}", "string", "int", 2.0, 72, 0.0, 1.0, None),
    ("login:attempts:{email}", "string", "int", 1.0, 72, 0.0, 1.0, None),
    ("counter:{word}:{id}", "string", "int", 3.0, 64, 0.0, 0.0, None),
    ("counter:daily:{date}:{word}", "string", "int", 0.3, 72, 0.0, 0.0, None),
    ("order:{id}", "hash", "listpack", 4.0, 600, 0.5, 0.1, None),
    ("order:{id}:items", "list", "quicklist", 2.0, 500, 0.7, 0.1, None),
    ("order:{date}:{id}", "hash", "listpack", 1.0, 550, 0.5, 0.0, None),
    ("invoice:{uuid}", "string", "raw", 1.0, 1500, 0.5, 0.0, "json"),
    ("product:{id}", "hash", "listpack", 2.5, 900, 0.6, 0.0, None),
    ("product:{id}:reviews", "zset", "listpack", 0.8, 1100, 1.0, 0.0, None),
    ("product:{id}:stock", "string", "int", 1.5, 64, 0.0, 0.0, None),
    ("inventory:{word}:{id}", "hash", "listpack", 0.8, 400, 0.4, 0.0, None),
    ("cart:{uuid}", "hash", "listpack", 2.0, 300, 0.6, 0.9, None),
    ("token:refresh:{token}", "string", "embstr", 2.0, 120, 0.1, 1.0, "text"),
    ("token:access:{hex40}", "string", "embstr", 2.0, 110, 0.1, 1.0, "text"),
    ("otp:{email}", "string", "embstr", 0.5, 80, 0.0, 1.0, "int"),
    ("lock:{word}:{id}", "string", "embstr", 0.8, 80, 0.0, 1.0, "text"),
    ("job:{uuid}", "hash", "listpack", 1.5, 700, 0.7, 0.6, None),
    ("queue:{word}:pending", "list", "quicklist", 0.0005, 200000, 1.5, 0.0, None),
    ("queue:delayed:{word}", "zset", "skiplist", 0.0005, 150000, 1.5, 0.0, None),
    ("leaderboard:{word}:{date}", "zset", "skiplist", 0.01, 80000, 1.3, 0.3, None),
    ("feed:global:{lang}", "list", "quicklist", 0.0003, 2000000, 1.0, 0.0, None),
    ("geo:drivers:{word}", "zset", "skiplist", 0.002, 60000, 1.0, 0.0, None),
    ("online:{date}", "set", "hashtable", 0.003, 300000, 1.2, 0.5, None),
    ("bloom:{word}:{id}", "string", "raw", 0.05, 120000, 0.8, 0.0, "binary"),
    ("hll:visitors:{date}", "string", "raw", 0.02, 14000, 0.1, 0.5, "binary"),
    ("stats:{word}:{dt}", "hash", "listpack", 1.5, 300, 0.3, 0.8, None),
    ("metrics:{word}:{ts}", "string", "embstr", 2.0, 90, 0.1, 0.9, "text"),
    ("audit:{date}:{uid}", "list", "quicklist", 0.8, 800, 0.9, 0.6, None),
    ("events:{date}", "stream", "stream", 0.0002, 400000, 1.0, 0.0, None),
    ("events:{word}:{id}", "stream", "stream", 0.0005, 80000, 1.0, 0.2, None),
    ("ip:{ip}:country", "string", "embstr", 3.0, 60, 0.0, 0.5, "text"),
    ("ab:{word}:{uid}", "string", "int", 1.5, 64, 0.0, 0.0, None),
    ("i18n:{lang}:{word}", "string", "raw", 0.001, 3000, 0.8, 0.0, "json"),
    ("feature_flags", "hash", "hashtable", 0.0, 40000, 0.0, 0.0, None),
    ("config:{word}", "string", "raw", 0.0005, 5000, 1.0, 0.0, "json"),
]

WORDS = np.array(["alpha", "billing", "search", "checkout", "email", "push", "sms", "image", "video", "report",
                  "export", "import", "sync", "login", "signup", "payment", "refund", "shipping", "catalog",
                  "profile", "comments", "likes", "shares", "views", "clicks", "orders", "users", "admin"],
                 dtype=object)
LANGS = np.array(["en", "de", "fr", "es", "it", "pt", "nl", "pl", "ja", "zh"], dtype=object)
DOMAINS = np.array(["gmail.com", "yahoo.com", "example.org", "corp.example.com", "mail.ru", "web.de"], dtype=object)
RDB_TYPE = {("string", None): 0, ("list", None): 18, ("set", "intset"): 11, ("set", "hashtable"): 2,
            ("set", "listpack"): 20, ("zset", "listpack"): 17, ("zset", "skiplist"): 5, ("hash", "listpack"): 16,
            ("hash", "hashtable"): 4, ("stream", None): 21}
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)


def _fixed(chars):
    """A (n, width) uint8 array of ASCII as a pyarrow string array."""
    n, width = chars.shape
    chars = np.ascontiguousarray(chars)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())])


def _hex(rng, n, width):
    return HEX[rng.integers(0, 16, (n, width), dtype=np.uint8)]


def _ints(values):
    return pc.cast(pa.array(values), pa.string())


def _part(name, n, rng, ids):
    """One placeholder's values for ``n`` keys."""
    if name == "id":
        return _ints(ids)
    if name == "uid":            # user ids shared between the user:* patterns
        return _ints(1_000_000 + rng.integers(0, 3_000_000, n))
    if name == "uuid":
        h = _hex(rng, n, 36)
        h[:, [8, 13, 18, 23]] = ord("-")
        return _fixed(h)
    if name == "hex40":
        return _fixed(_hex(rng, n, 40))
    if name == "hex16":
        return _fixed(_hex(rng, n, 16))
    if name == "token":
        return _fixed(B62[rng.integers(0, 62, (n, 24), dtype=np.uint8)])
    if name == "ip":
        octets = [_ints(rng.integers(1, 255, n)) for _ in range(4)]
        return pc.binary_join_element_wise(*octets, ".")
    if name == "email":
        local = pc.binary_join_element_wise(pa.array(WORDS[rng.integers(0, len(WORDS), n)], pa.string()),
                                            _ints(ids), ".")
        return pc.binary_join_element_wise(local, pa.array(DOMAINS[rng.integers(0, len(DOMAINS), n)],
                                                           pa.string()), "@")
    if name in ("date", "dt", "minute", "ts"):
        t = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 2 * 365 * 86400, n).astype("timedelta64[s]")
        if name == "date":
            return pa.array(np.datetime_as_string(t.astype("datetime64[D]")), pa.string())
        if name == "dt":
            return pa.array(np.datetime_as_string(t, unit="s"), pa.string())
        if name == "ts":
            return _ints(t.astype(np.int64))
        s = np.datetime_as_string(t.astype("datetime64[m]"))            # 2024-05-01T10:20
        return pc.replace_substring_regex(pa.array(s, pa.string()), "[-T:]", "")
    if name == "word":           # a few names per pattern: each is a pattern of its own
        return pa.array(WORDS[rng.integers(0, 3, n)], pa.string())
    if name == "lang":
        return pa.array(LANGS[rng.integers(0, len(LANGS), n)], pa.string())
    raise ValueError(name)


def _keys(template, n, rng, base):
    parts, rest = [], template
    ids = base + np.arange(n, dtype=np.int64) * 3 + rng.integers(0, 3, n)
    while "{" in rest:
        head, _, rest = rest.partition("{")
        name, _, rest = rest.partition("}")
        if head:
            parts.append(head)
        parts.append(_part(name, n, rng, ids))
    if rest:
        parts.append(rest)
    arrays = [p for p in parts if not isinstance(p, str)]
    if not arrays:
        return pa.array([template] * n, pa.string())
    return pc.binary_join_element_wise(*[p if not isinstance(p, str) else pa.scalar(p) for p in parts],
                                       pa.scalar(""))


def _dict(values, index_type):
    return pa.array(values, pa.string()).dictionary_encode().cast(pa.dictionary(index_type, pa.string()))


def make(n, path, meta):
    """Write the ``n``-key dataset to ``path``."""
    from rdbscan.scanner.records import SCHEMA
    rng = np.random.default_rng(11)
    weights = np.array([p[3] for p in PATTERNS])
    counts = np.floor(weights / weights.sum() * n).astype(np.int64)
    counts = np.maximum(counts, 1)
    counts[0] += n - counts.sum()
    snapshot = int(meta["aux"]["ctime"])
    tables = []
    for i, ((template, typ, enc, _, median, sigma, ttl_share, fmt), c) in enumerate(zip(PATTERNS, counts)):
        key = _keys(template, c, rng, 1000 + i * 1000)
        mem = np.exp(rng.normal(np.log(median), sigma, c)) if sigma else np.full(c, float(median))
        mem = (np.maximum(mem, 48).astype(np.int64) + 7) // 8 * 8
        if typ == "string":
            length = np.maximum(mem - 40, 1) if enc != "int" else rng.integers(1, 8, c)
            max_elem = length
        else:
            length = np.maximum(mem // rng.integers(12, 60, c), 1)
            max_elem = rng.integers(4, 64, c)
        if typ == "set" and enc == "intset":
            length = np.maximum((mem - 40) // 8, 1)
        serialized = np.maximum(mem * rng.uniform(0.25, 0.9, c), 4).astype(np.int64)
        ttl = np.where(rng.random(c) < ttl_share,
                       np.exp(rng.uniform(np.log(30), np.log(40 * 86400), c)), np.nan)
        ttl[rng.random(c) < 0.003] = -rng.uniform(1, 600)                # a few already expired
        expire = np.where(np.isnan(ttl), 0, snapshot * 1000 + np.nan_to_num(ttl) * 1000).astype(np.int64)
        idle = np.exp(rng.normal(np.log(3600), 2.2, c)).astype(np.int64)
        db = np.where(rng.random(c) < (0.3 if template.startswith(("job:", "lock:")) else 0.01), 1, 0)
        is_stream = typ == "stream"
        cols = {
            "db": pa.array(db.astype(np.uint16)),
            "key": key,
            "key_bytes": pa.nulls(c, pa.binary()),
            "type": pa.array(np.full(c, typ, dtype=object), pa.string()),
            "encoding": pa.array(np.full(c, enc, dtype=object), pa.string()),
            "rdb_type": pa.array(np.full(c, RDB_TYPE.get((typ, enc), RDB_TYPE.get((typ, None), 0)), np.uint8)),
            "length": pa.array(length.astype(np.int64)),
            "max_element_bytes": pa.array(max_elem.astype(np.int64)),
            "serialized_bytes": pa.array(serialized),
            "memory_bytes": pa.array(mem),
            "expire_at": pa.array(expire, pa.int64(), mask=np.isnan(ttl)).cast(pa.timestamp("ms", tz="UTC")),
            "idle_seconds": pa.array(idle),
            "lfu_freq": pa.nulls(c, pa.uint8()),
            "slot": pa.array(rng.integers(0, 16384, c).astype(np.uint16)),
            "offset": pa.array(np.zeros(c, np.int64)),
            "stream_groups": pa.array(rng.integers(0, 4, c)) if is_stream else pa.nulls(c, pa.int64()),
            "stream_consumers": pa.array(rng.integers(0, 9, c)) if is_stream else pa.nulls(c, pa.int64()),
            "stream_pending": pa.array(rng.integers(0, 5000, c)) if is_stream else pa.nulls(c, pa.int64()),
            "hash_fields_with_ttl": pa.nulls(c, pa.int64()),
            "value_format": pa.array(np.full(c, fmt, dtype=object), pa.string()),
            "hash_fields_expired": pa.nulls(c, pa.int64()),
            "hash_expired_bytes": pa.nulls(c, pa.int64()),
        }
        tables.append(pa.table(cols))
    table = pa.concat_tables(tables)
    table = table.take(pa.array(rng.permutation(len(table))))           # hash-table order, not by pattern
    offsets = np.cumsum(table["serialized_bytes"].to_numpy() + pc.utf8_length(table["key"]).to_numpy() + 2)
    table = table.set_column(table.schema.get_field_index("offset"), "offset", pa.array(offsets - offsets[0] + 9))
    for name, index in (("type", pa.int16()), ("encoding", pa.int8()), ("value_format", pa.int8())):
        table = table.set_column(table.schema.get_field_index(name), name,
                                 _dict(table[name].combine_chunks(), index))
    table = table.cast(SCHEMA)
    mem_total = int(pc.sum(table["memory_bytes"]).as_py())
    expires = int(pc.sum(pc.is_valid(table["expire_at"])).as_py())
    dbs = {}
    for d in (0, 1):
        mask = pc.equal(table["db"], d)
        dbs[str(d)] = {"keys": int(pc.sum(mask).as_py()),
                       "expires": int(pc.sum(pc.and_(mask, pc.is_valid(table["expire_at"]))).as_py())}
    meta = dict(meta)
    meta.pop("cache", None)
    buckets = 8 * (1 << int(np.ceil(np.log2(n))))
    meta.update({"source": f"synthetic-{n}.rdb", "source_bytes": int(offsets[-1]), "rows": n, "rows_written": n,
                 "output": path, "dbs": dbs, "resizedb": dbs, "parse_seconds": None, "functions": [],
                 "memory": {"keys_total": mem_total, "main_dict_buckets": buckets, "expires": expires * 32,
                            "estimated_total": mem_total + buckets + expires * 32,
                            "used_mem_aux": int(mem_total * 1.1)},
                 "aux": {**meta["aux"], "used-mem": int(mem_total * 1.1)}})
    from rdbscan.api import output_sink   # as rdbscan scan writes: patterns added on the writer thread
    sink = output_sink(path)
    for batch in table.to_batches(max_chunksize=1 << 20):
        sink.write(batch)
    sink.close(meta)


def fixture_meta():
    """The metadata of a real scan of the bundled redis-7.4.1-lru fixture (written to a temporary file)."""
    import tempfile

    import rdbscan
    from rdbscan.scanner.sink import read_meta
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "fixture.parquet")
        rdbscan.scan(FIXTURE, out)
        return read_meta(out)


def timed(cmd):
    """Wall seconds and peak RSS (MB) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if status:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024


def in_process(path, rounds):
    """Per-section and pattern-UDF timings, in this process (medians over ``rounds``)."""
    from rdbscan.analysis import dataset, patterns, reports
    out = {}
    resolved = dataset.resolve([path])
    for section in reports.SECTIONS:
        if section in reports.ASKED_SECTIONS:      # whatif needs a scan with its columns (bench_whatif.py)
            continue
        times = []
        for _ in range(rounds):
            with dataset.Dataset(resolved) as ds:
                t = time.perf_counter()
                reports.run(ds, [section])
                times.append(time.perf_counter() - t)
        out[section] = statistics.median(times)
    keys = pq.read_table(path, columns=["key"])["key"]
    for label, pure in (("pattern UDF alone (compiled, over every key)", False),):
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            for chunk in keys.chunks:
                patterns.key_patterns(chunk, pure=pure)
            times.append(time.perf_counter() - t)
        out[label] = statistics.median(times)
    times = []
    for _ in range(rounds):
        with dataset.Dataset(resolved) as ds:
            t = time.perf_counter()
            ds.sql("SELECT count(DISTINCT pattern) FROM keys").fetchall()
            times.append(time.perf_counter() - t)
    out["pattern column in DuckDB (count distinct pattern)"] = statistics.median(times)
    times = []
    for _ in range(rounds):
        with dataset.Dataset(resolved) as ds:
            t = time.perf_counter()
            ds.materialize_pattern_stats()
            times.append(time.perf_counter() - t)
    out["materialize pattern_stats"] = statistics.median(times)
    return out


def render_times(path, rounds):
    """Rendering the same sections as JSON and as the HTML page, in this process (medians): the page's own cost."""
    from rdbscan.analysis import dataset, reports
    from rdbscan.render import formats
    with dataset.open_dataset([path]) as ds:
        result = reports.run(ds)
        out = {}
        for fmt in ("json", "html"):
            times = []
            for _ in range(max(rounds, 3)):
                t = time.perf_counter()
                formats.render(result, fmt, ds.files)
                times.append(time.perf_counter() - t)
            out[f"  render as {fmt.upper()} alone (in-process, the same sections)"] = statistics.median(times)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-sections", action="store_true", help="time only the whole command")
    ap.add_argument("--skip-html", action="store_true", help="do not time the HTML page")
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, f"reports-{args.keys}-v2.parquet")
    if not os.path.exists(path):
        print(f"generating {args.keys:,} keys into {path} ...", file=sys.stderr)
        t = time.perf_counter()
        make(args.keys, path, fixture_meta())
        print(f"  done in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    cmd = [sys.executable, "-m", "rdbscan", "report", path, "--format", "json", "-o", os.devnull]
    startup = statistics.median(timed([sys.executable, "-c", "import rdbscan.cli, duckdb, pyarrow"])[0]
                                for _ in range(args.rounds))
    page = os.path.join(DATA, f"report-{args.keys}.html")
    html_cmd = cmd[:-4] + ["--format", "html", "-o", page]
    runs, html_runs = [], []
    for _ in range(args.rounds):          # JSON and HTML in pairs: noise on the shared machine hits both
        runs.append(timed(cmd))
        if not args.skip_html:
            html_runs.append(timed(html_cmd))
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs + html_runs)
    rows = [("rdbscan report (all sections), whole process", wall)]
    if html_runs:
        extra = statistics.median(h[0] - j[0] for h, j in zip(html_runs, runs))
        rows.append(("  --format html instead of json (whole process)", statistics.median(h[0] for h in html_runs)))
        rows.append(("  html minus json, median of paired rounds", extra))
        rows += list(render_times(path, args.rounds).items())
    if not args.skip_sections:
        rows += [(f"  section {k}" if k in SECTIONS else f"  {k}", v)
                 for k, v in in_process(path, args.rounds).items()]
    width = max(len(r[0]) for r in rows)
    print(f"{args.keys:,} keys, {os.path.getsize(path) / 1e6:,.0f} MB Parquet; medians of {args.rounds} rounds; "
          f"{os.cpu_count()} CPUs")
    print(f"{'what':<{width}}  seconds")
    for label, v in rows:
        print(f"{label:<{width}}  {v:7.3f}" if v < 1 else f"{label:<{width}}  {v:7.2f}")
    print(f"interpreter start-up and imports: {startup:.2f} s; peak RSS {rss:,.0f} MB")
    print(f"target: all sections <= {TARGET:.0f} s: {'met' if wall <= TARGET else 'NOT met'} ({wall:.2f} s)")
    if html_runs:
        size = os.path.getsize(page)
        print(f"target: HTML page <= {HTML_EXTRA:.0f} s more than JSON: {'met' if extra <= HTML_EXTRA else 'NOT met'} "
              f"({extra:+.2f} s); <= {HTML_SIZE / 1e6:.0f} MB: {'met' if size <= HTML_SIZE else 'NOT met'} "
              f"({size / 1e6:.2f} MB, {page})")
    print("reproduce: python benchmarks/bench_reports.py --keys %d\n           %s"
          % (args.keys, " ".join(["python"] + cmd[1:])))
    if html_runs:
        print("           " + " ".join(["python"] + html_cmd[1:]))
    print(json.dumps({"keys": args.keys, "wall": wall, "rss_mb": rss, "rows": dict(rows)}), file=sys.stderr)


if __name__ == "__main__":
    main()
