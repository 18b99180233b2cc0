"""Scan outputs opened in DuckDB: the ``keys``, ``meta``, ``slot_info`` and ``pattern_stats`` views.

A *source* is a dump (scanned once into a cached Parquet file, reused while
the dump is unchanged), an rdbscan Parquet file, a directory holding either,
or a glob.  :func:`open_dataset` resolves sources, then defines, on one DuckDB
connection:

``keys``
    one row per key: the scan schema, plus ``source`` (the dump the row came
    from, as given), ``file`` (the Parquet file the row came from) and
    ``pattern`` (the key's inferred pattern, see
    :mod:`rdbscan.analysis.patterns`); the ``--db`` / ``--type`` / ``--match`` filters
    are applied here, so every report sees the same keys.
``meta``
    one row per file: the file-level facts the scan recorded (source and its
    short ``shard`` name, server, RDB version, snapshot time, the dump's
    ``used-mem``, the dump's SLOT_INFO, ...).
``slot_info``
    the ``meta`` slot info unnested: one row per slot a cluster dump declares
    counts for (file, slot, keys, expires, keys with volatile items).
``pattern_stats``
    keys and memory per (db, type, pattern), with and without TTL: what the
    pattern reports and ``diff`` add up.  Computed once per connection when
    ``materialize`` is set (the key patterns are the costly part).
"""

import collections
import hashlib
import json
import os
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from rdbscan import fleet, storage
from rdbscan.analysis import patterns, rebalance
from rdbscan.errors import RdbscanError
from rdbscan.fleet import MODEL_OPTIONS
from rdbscan.scanner.records import internal_schema, redis_glob_to_regex
from rdbscan.scanner.sink import read_meta

META_SCHEMA = pa.schema([
    ("file", pa.string()), ("source", pa.string()), ("shard", pa.string()), ("source_bytes", pa.int64()),
    ("magic", pa.string()), ("rdb_version", pa.int32()), ("flavor", pa.string()),
    ("server", pa.string()), ("model_server", pa.string()), ("what_if", pa.bool_()),
    ("allocator", pa.string()), ("cluster", pa.bool_()),
    ("snapshot_time", pa.timestamp("s", tz="UTC")), ("used_mem", pa.int64()),
    ("keys", pa.int64()), ("keys_memory", pa.int64()), ("main_dict_buckets", pa.int64()),
    ("expires_overhead", pa.int64()), ("estimated_total", pa.int64()),
    ("partial", pa.bool_()), ("crc", pa.string()), ("scanned_filters", pa.string()),
    ("thresholds", pa.string()), ("aux", pa.string()),
    ("slot_info", pa.list_(pa.struct([("slot", pa.int32()), ("keys", pa.int64()), ("expires", pa.int64()),
                                      ("keys_with_volatile_items", pa.int64())]))),
    ("by_allocator", pa.string()), ("allocator_note", pa.string()), ("cluster_evidence", pa.string()),
    ("notes", pa.string()),
])
"""Columns of the ``meta`` view."""


HUMAN_BYTES_MACRO = """
CREATE MACRO human_bytes(n) AS CASE
    WHEN n IS NULL THEN '-'
    WHEN abs(n) < 1000 THEN format('{:,} B', n::BIGINT)
    WHEN abs(n) < 1e6 THEN format('{:,.1f} KB', n / 1e3)
    WHEN abs(n) < 1e9 THEN format('{:,.1f} MB', n / 1e6)
    WHEN abs(n) < 1e12 THEN format('{:,.1f} GB', n / 1e9)
    ELSE format('{:,.1f} TB', n / 1e12) END
"""
"""``human_bytes(n)``: sizes in text as the tables print them (decimal units: 2.1 GB)."""


def default_cache_dir():
    """Where cached scans go when the dump's own directory is not writable."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rdbscan")


def cache_path(dump, cache_dir=None):
    """The cached scan of ``dump``: ``DUMP.rdbscan.parquet`` beside it, else in the cache dir (always for URLs)."""
    dump = storage.canonical(dump)
    if cache_dir is None and not storage.is_remote(dump) and os.access(os.path.dirname(dump), os.W_OK):
        return dump + ".rdbscan.parquet"
    digest = hashlib.sha1(dump.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return os.path.join(cache_dir or default_cache_dir(), f"{storage.basename(dump)}.{digest}.parquet")


@dataclass
class Resolved:
    """One Parquet file to read, and how it was obtained."""
    parquet: str
    dump: str = None        # the dump it caches, when it is a cache
    cached: bool = False    # True when an up-to-date cache was reused
    meta: dict = field(default=None, repr=False)


def _read_cache(path):
    if not os.path.exists(path):
        return None
    try:
        return read_meta(path)
    except Exception:   # a damaged cache is rebuilt, not trusted
        return None


def _whatif_current(meta, whatif_slots, whatif_conv):
    """A cache holds the what-if columns asked for (none asked: any cache serves)."""
    if whatif_slots is None:
        return True
    had = meta.get("whatif_slots")
    had_conv = set((meta.get("whatif_conv_limits") or [])[1:])
    return had is not None and set(whatif_slots) <= set(had) and set(whatif_conv or ()) <= had_conv


def scan_cached(dumps, cache_dir=None, jobs=None, whatif_slots=None, whatif_conv=None, **options):
    """The Parquet scans of ``dumps``: caches still valid (see :func:`rdbscan.fleet.fingerprint`), or new scans.

    Stale or missing caches are scanned on ``jobs`` worker processes (default:
    the machine's cores), as ``rdbscan scan`` does for a fleet.  A dump that
    fails raises its one-line error once the others are done.  The scans
    carry the allocator evidence; ``whatif_slots`` (keys of
    :func:`rdbscan.model.scenario.slot_of`) asks for caches that also hold
    the what-if columns of those sizing slots and ``whatif_conv`` (hash
    value limits) the conversion points: any cache with at least those
    serves, and a new scan keeps the slots the old cache had too, so that
    reports and what-ifs share one file.
    """
    single = isinstance(dumps, (str, os.PathLike))
    dumps = [os.fspath(dumps)] if single else [os.fspath(d) for d in dumps]
    model = {k: options.get(k) for k in MODEL_OPTIONS}
    out, job_list = [None] * len(dumps), []
    for i, d in enumerate(dumps):
        st = storage.stat(d)
        want = fleet.fingerprint(d, model, st)
        path = cache_path(d, cache_dir)
        meta = _read_cache(path)
        if fleet.is_current(meta, want) and _whatif_current(meta, whatif_slots, whatif_conv):
            out[i] = Resolved(path, d, True, meta)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        scan_options = {k: v for k, v in model.items() if v is not None}
        scan_options["allocator_evidence"] = True
        if whatif_slots is not None:
            slots, conv = list(whatif_slots), set(whatif_conv or ())
            if fleet.is_current(meta, want) and meta.get("whatif_slots"):
                slots = list(meta["whatif_slots"]) + slots
                conv |= set((meta.get("whatif_conv_limits") or [])[1:])
            scan_options.update(slots=list(dict.fromkeys(slots)), conv_limits=sorted(conv))
        job_list.append(fleet.DumpJob(i, d, path, want, scan_options, st.size))
    failed = []

    def done(event):
        if event[0] == "done":
            r = event[2]
            if r.ok:
                out[event[1]] = Resolved(r.part, dumps[event[1]], False, r.meta)
            else:
                failed.append(r)
    fleet.run_jobs(job_list, jobs, done)
    if failed:
        failed.sort(key=lambda r: dumps.index(r.source))
        more = f" (and {len(failed) - 1} more dumps failed)" if len(failed) > 1 else ""
        raise RdbscanError(failed[0].error + more)
    return out[0] if single else out


def _is_parquet_or_dump(location):
    head = storage.read_head(location, 9)
    return bool(head) and (head.startswith(b"PAR1") or head.startswith(fleet.DUMP_MAGIC))


def _expand(source):
    """The files one SOURCE argument names: itself, a directory's (or prefix's) dumps and Parquet files, or a glob."""
    return [e.location for e in storage.expand(source, keep=_is_parquet_or_dump, what="dump or Parquet file")]


def resolve(sources, cache_dir=None, on_scan=None, jobs=None, whatif_slots=None, whatif_conv=None, **options):
    """Resolve SOURCE arguments to Parquet files, scanning (or reusing the caches of) dumps.

    A SOURCE is a dump, an rdbscan Parquet file, a directory, a glob, or
    the same on ``s3://`` / ``gs://`` (dumps there are cached locally, see
    :func:`cache_path`).  A Parquet file whose recorded source is a dump also
    given (a cache or ``rdbscan scan`` output lying beside it) is skipped, so
    no key is counted twice.  Dumps that need a scan are scanned in parallel
    (``jobs``); ``on_scan(resolved)`` is called for every dump.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    files = []
    for s in sources:
        for p in _expand(os.fspath(s)):
            if p not in files:
                files.append(p)
    dumps, parquets = [], []
    for p in files:
        head = storage.read_head(p, 9) or b""
        if head.startswith(b"PAR1"):
            meta = read_meta(p)
            if meta is None:
                raise RdbscanError(f"{p}: a Parquet file, but not one written by rdbscan scan")
            parquets.append(Resolved(p, meta=meta))
        elif head.startswith(fleet.DUMP_MAGIC) or (storage.is_remote(p) and not head):
            dumps.append(p)
        else:
            raise RdbscanError(f"{p}: neither an RDB dump nor a Parquet file written by rdbscan")
    dump_paths = {storage.canonical(d) for d in dumps}
    out = []
    for r in scan_cached(dumps, cache_dir, jobs=jobs, whatif_slots=whatif_slots, whatif_conv=whatif_conv,
                         **options):
        if on_scan:
            on_scan(r)
        out.append(r)
    for r in parquets:
        src = r.meta.get("cache", {}).get("source") or r.meta.get("source") or ""
        if src and storage.canonical(src) in dump_paths:
            continue
        out.append(r)
    if not out:
        raise RdbscanError("no input: name a dump, a Parquet file, a directory or a glob")
    return out


def location(path):
    """A Parquet file's location as DuckDB reads it: an absolute path, or its URL."""
    return storage.canonical(path)


def connect(resolved, threads=None):
    """A DuckDB connection that can read every resolved file (``s3://`` / ``gs://`` through pyarrow's filesystems)."""
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for fs in storage.fsspec_filesystems([r.parquet for r in resolved]):
        con.register_filesystem(fs)
    return con


def source_labels(resolved):
    """Each file's ``source``: the dump's path or URL as given, unique within the dataset.

    A dump's cache is labelled with the dump as named this time; an rdbscan
    Parquet file with the source its scan recorded.  Two files naming the
    same source (two scans of one dump) are told apart by their Parquet path.
    """
    labels = [r.dump if r.dump is not None else ((r.meta or {}).get("source") or location(r.parquet))
              for r in resolved]
    counts = collections.Counter(labels)
    return [location(r.parquet) if counts[label] > 1 else label for label, r in zip(labels, resolved)]


def shard_labels(sources):
    """Short names for sources: the path components they do not share.

    ``["/b/7000/dump.rdb", "/b/7001/dump.rdb"]`` -> ``["7000", "7001"]``;
    ``["s3://bkt/a.rdb", "s3://bkt/b.rdb"]`` -> ``["a.rdb", "b.rdb"]``.  One
    source keeps its own name.
    """
    if len(sources) < 2:
        return list(sources)
    parts = [s.split("/") for s in sources]
    shortest = min(len(p) for p in parts)
    head = 0
    while head < shortest - 1 and len({p[head] for p in parts}) == 1:
        head += 1
    tail = 0
    while head + tail < shortest - 1 and len({p[-1 - tail] for p in parts}) == 1:
        tail += 1
    labels = ["/".join(p[head:len(p) - tail]) for p in parts]
    return labels if len(set(labels)) == len(labels) and all(labels) else list(sources)


def _meta_row(r, source=None, shard=None):
    m = r.meta or {}
    aux = m.get("aux", {})
    memory = m.get("memory") or {}
    model = m.get("model") or {}

    def num(v):
        try:
            return int(v)
        except (TypeError, ValueError):
            return None

    return {
        "file": location(r.parquet), "source": source or m.get("source"),
        "shard": shard or source or m.get("source"), "source_bytes": m.get("source_bytes"),
        "magic": m.get("magic"), "rdb_version": m.get("rdb_version"), "flavor": m.get("flavor"),
        "server": m.get("server"), "model_server": model.get("server"), "what_if": model.get("what_if"),
        "allocator": model.get("allocator"), "cluster": model.get("cluster"),
        "snapshot_time": num(aux.get("ctime")), "used_mem": num(aux.get("used-mem")),
        "keys": m.get("rows_written"), "keys_memory": memory.get("keys_total"),
        "main_dict_buckets": memory.get("main_dict_buckets"), "expires_overhead": memory.get("expires"),
        "estimated_total": memory.get("estimated_total"), "partial": bool(m.get("partial")),
        "crc": m.get("crc"), "scanned_filters": json.dumps(m.get("filters") or {}),
        "thresholds": json.dumps(model.get("thresholds") or {}), "aux": json.dumps(aux, default=str),
        # Redis and Valkey 8: slot, keys, expires; Valkey 9 adds keys with volatile items.
        "slot_info": [{"slot": i[0], "keys": i[1], "expires": i[2],
                       "keys_with_volatile_items": i[3] if len(i) > 3 else None}
                      for i in m.get("slot_info") or [] if len(i) >= 3],
        "by_allocator": json.dumps(memory["by_allocator"]) if memory.get("by_allocator") else None,
        "allocator_note": memory.get("allocator_note"),
        "cluster_evidence": json.dumps(m["cluster_evidence"]) if m.get("cluster_evidence") else None,
        "notes": json.dumps(m.get("notes") or []),
    }


def meta_table(resolved):
    """The ``meta`` rows of resolved files, as a pyarrow Table of :data:`META_SCHEMA`."""
    sources = source_labels(resolved)
    shards = shard_labels(sources)
    return pa.Table.from_pylist([_meta_row(r, src, shard) for r, src, shard in zip(resolved, sources, shards)],
                                schema=META_SCHEMA)


def _sql_str(s):
    return "'" + s.replace("'", "''") + "'"


class Dataset:
    """Resolved scan outputs on a DuckDB connection with ``keys``, ``meta`` and ``pattern_stats``.

    Use :meth:`sql` for ad-hoc queries (a DuckDB relation), or
    :func:`rdbscan.analysis.reports.run` for the reports.
    """

    def __init__(self, resolved, *, db=None, types=None, match=None, delimiters=patterns.DEFAULT_DELIMITERS,
                 depth=0, rules=None, materialize=False, threads=None):
        self.resolved = resolved
        self.files = [location(r.parquet) for r in resolved]
        self.con = connect(resolved, threads)
        self.pattern_rules = patterns.PatternRules(delimiters=delimiters, depth=depth, rules=rules)
        self.pattern_rules.register(self.con)
        # key_pattern(text): the pattern of any key text, for queries that want it on a few rows only
        self.con.execute(f"CREATE MACRO key_pattern(k) AS {self.pattern_rules.sql('k')}")
        rebalance.register(self.con)      # rebalance_plan(): the slot moves of the rebalance report
        self.con.execute(HUMAN_BYTES_MACRO)
        self.con.register("meta_rows", meta_table(resolved))
        self.con.execute("CREATE VIEW meta AS SELECT * FROM meta_rows")
        self.con.execute("CREATE VIEW slot_info AS SELECT file, s.slot, s.keys, s.expires, "
                         "s.keys_with_volatile_items FROM meta, unnest(meta.slot_info) AS u(s)")
        where = []
        if db:
            where.append(f"db IN ({', '.join(str(int(d)) for d in sorted(db))})")
        if types:
            where.append(f"type IN ({', '.join(_sql_str(t) for t in sorted(types))})")
        if match is not None:
            where.append(f"regexp_full_match(key, {_sql_str(redis_glob_to_regex(match))}, 's')")
        stored = stored_patterns(resolved, self.pattern_rules)
        self.con.execute("CREATE VIEW keys AS " + keys_sql(resolved, self.pattern_rules.sql("key"), where,
                                                           stored=stored))
        self.keys_model_sql = keys_sql(resolved, self.pattern_rules.sql("key"), where, stored=stored, internal=True)
        self.con.execute("CREATE VIEW pattern_stats AS " + pattern_stats_sql("keys"))
        self.materialized = False
        if materialize:
            self.materialize_pattern_stats()

    def materialize_pattern_stats(self, idle=86400, big_value=10_000):
        """Compute ``pattern_stats`` once into a table: later queries reuse it instead of re-inferring patterns.

        ``idle`` and ``big_value`` set what its ``idle_*`` and ``big_text_*``
        columns count (the reports pass their own parameters).
        """
        if not self.materialized:
            self.con.execute("CREATE TEMP TABLE pattern_stats_table AS "
                             + pattern_stats_sql("keys", idle=idle, big_value=big_value))
            self.con.execute("DROP VIEW pattern_stats")
            self.con.execute("CREATE VIEW pattern_stats AS SELECT * FROM pattern_stats_table")
            self.materialized = True

    def sql(self, query, params=None):
        """Run ``query`` on the connection; returns a DuckDB relation (``.to_arrow_table()`` for a Table)."""
        return self.con.sql(query, params=params)

    def meta(self):
        """The file-level facts, one dict per file."""
        return self.con.sql("SELECT * FROM meta").to_arrow_table().to_pylist()

    def close(self):
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stored_patterns(resolved, rules):
    """True when every file carries patterns ``rdbscan scan`` inferred with these ``rules`` (the defaults)."""
    return rules.is_default() and all(
        (r.meta or {}).get("pattern_inference") == patterns.INFERENCE_VERSION for r in resolved)


def internal_names(resolved):
    """The ``_``-prefixed columns of the what-if scans among ``resolved``."""
    slots = max((len((r.meta or {}).get("whatif_slots") or []) for r in resolved), default=0)
    conv = max((len((r.meta or {}).get("whatif_conv_limits") or []) for r in resolved), default=0)
    return list(internal_schema(slots, conv).names) if slots else []


def _per_file(files, values):
    """A SQL expression taking each file's value (SQL text) by the row's ``filename``."""
    if len(set(values)) == 1:
        return values[0]
    return "CASE filename " + " ".join(f"WHEN {_sql_str(f)} THEN {v}" for f, v in zip(files, values)) + " END"


def keys_sql(resolved, pattern_sql, where=(), stored=False, internal=False):
    """The ``keys`` query over resolved files, with ``source``, ``file``, ``file_index``, ``snapshot_time`` and
    ``pattern`` columns.

    One ``read_parquet`` over the file list keeps DuckDB's top-N and column
    pruning working (a UNION of per-file scans reads every key's text for a
    top 10); ``source`` (see :func:`source_labels`) and ``snapshot_time``
    (each file's dump ctime) come from the file name, so no report needs a
    join; ``file_index`` numbers the files from 0 in the order given (with
    ``file_row_number``, a row's identity in a few bytes).  With ``stored``,
    the files' own ``pattern`` column is used, else ``pattern_sql`` infers
    it (and a stored one is left out).  ``internal`` keeps what-if scans'
    ``_``-prefixed columns.
    """
    files = [location(r.parquet) for r in resolved]
    times = []
    for r in resolved:
        ctime = _meta_row(r)["snapshot_time"]
        times.append(f"to_timestamp({int(ctime)})" if ctime is not None else "NULL::TIMESTAMPTZ")
    snapshot = _per_file(files, times)
    source = _per_file(files, [_sql_str(s) for s in source_labels(resolved)])
    file_list = "[" + ", ".join(_sql_str(f) for f in files) + "]"
    index = _per_file(files, [f"{i}::INTEGER" for i in range(len(files))])
    common = (f"{source} AS source, filename AS file, {index} AS file_index, file_row_number, "
              f"{snapshot} AS snapshot_time" + _missing_columns(files))
    # What-if scans carry the model's inputs as _-prefixed columns: not for
    # the keys view (only for keys_model, the what-if report's).
    hidden = [] if internal else internal_names(resolved)
    if stored:
        columns = f"* EXCLUDE ({', '.join(['filename', 'pattern'] + hidden)}), {common}, pattern"
    else:
        has = any((r.meta or {}).get("pattern_inference") for r in resolved)   # files that carry a column
        skip = ["filename"] + (["pattern"] if has else []) + hidden
        columns = f"* EXCLUDE ({', '.join(skip)}), {common}, {pattern_sql} AS pattern"
    return (f"SELECT {columns} "
            f"FROM read_parquet({file_list}, filename = true, union_by_name = true)"
            + (" WHERE " + " AND ".join(where) if where else ""))


# Columns later rdbscan releases added: a scan written before them reads as NULL there.
_LATER_COLUMNS = {"hash_fields_expired": "BIGINT", "hash_expired_bytes": "BIGINT"}


def _missing_columns(files):
    """``, NULL::T AS name`` for every added column that none of ``files`` has."""
    have = set()
    for f in files:
        try:
            path, fs = storage.open_parquet(f)
            have.update(pq.read_schema(path, filesystem=fs).names)
        except Exception:   # unreadable: DuckDB reports it with its name
            return ""
    return "".join(f", NULL::{t} AS {name}" for name, t in _LATER_COLUMNS.items() if name not in have)


BIGGEST = 5
"""How many of each pattern's biggest keys ``pattern_stats.biggest`` names."""


def pattern_stats_sql(keys, idle=86400, big_value=10_000, biggest=BIGGEST):
    """``pattern_stats`` over the view ``keys``: one row per (db, type, pattern).

    Besides keys and memory with and without TTL, it carries what the idle
    and advice reports group by pattern (keys idle longer than ``idle``
    seconds; JSON strings; text strings of ``big_value`` bytes or more), so
    patterns are inferred once for all reports.  ``biggest`` (a list, biggest
    first) names the group's ``biggest`` largest keys by memory as
    ``{memory_bytes, file_index, file_row_number}`` (ties: the later file
    and row), without reading their text; ``biggest=0`` leaves it out.
    """
    idle, big_value = int(idle), int(big_value)
    # max(struct, n) keeps the n largest (memory, file, row): one pass, deterministic under ties
    top = (f""",
       max({{'memory_bytes': memory_bytes, 'file_index': file_index, 'file_row_number': file_row_number}},
           {int(biggest)}) FILTER (WHERE memory_bytes IS NOT NULL) AS biggest""" if biggest else "")
    big = (f"type = 'string' AND length >= {big_value} "
           "AND coalesce(CAST(value_format AS VARCHAR), 'text') IN ('json', 'text', 'xml', 'html')")
    return f"""
SELECT db, type, pattern,
       count(*)                                                   AS keys,
       sum(memory_bytes)::BIGINT                                  AS memory_bytes,
       count(*) FILTER (WHERE expire_at IS NULL)                  AS keys_no_ttl,
       coalesce(sum(memory_bytes) FILTER (WHERE expire_at IS NULL), 0)::BIGINT AS memory_no_ttl,
       sum(length)::BIGINT                                        AS length,
       max(memory_bytes)                                          AS biggest_bytes,
       count(idle_seconds)                                        AS keys_with_idle,
       count(*) FILTER (WHERE idle_seconds > {idle})              AS idle_keys,
       coalesce(sum(memory_bytes) FILTER (WHERE idle_seconds > {idle}), 0)::BIGINT AS idle_memory,
       max(idle_seconds)                                          AS max_idle_seconds,
       count(*) FILTER (WHERE type = 'string' AND CAST(value_format AS VARCHAR) = 'json') AS json_keys,
       coalesce(sum(memory_bytes) FILTER (WHERE type = 'string' AND CAST(value_format AS VARCHAR) = 'json'), 0)::BIGINT
                                                                  AS json_memory,
       count(*) FILTER (WHERE {big})                              AS big_text_keys,
       coalesce(sum(memory_bytes) FILTER (WHERE {big}), 0)::BIGINT AS big_text_memory,
       coalesce(sum(greatest(length - serialized_bytes, 0)) FILTER (WHERE {big}), 0)::BIGINT AS big_text_saving,
       bool_or(CAST(value_format AS VARCHAR) = 'json') FILTER (WHERE {big}) AS big_text_has_json{top}
FROM {keys}
GROUP BY db, type, pattern
"""


def open_dataset(sources, *, cache_dir=None, on_scan=None, db=None, types=None, match=None,
                 delimiters=patterns.DEFAULT_DELIMITERS, depth=0, rules=None, materialize=False, jobs=None,
                 whatif_slots=None, whatif_conv=None, **model_options):
    """Resolve ``sources`` (see :func:`resolve`) and open them as a :class:`Dataset`.

    ``whatif_slots`` / ``whatif_conv``: dumps are scanned (or their caches
    reused) with the what-if columns of these sizing slots and value limits
    (see :mod:`rdbscan.analysis.whatif`).
    """
    resolved = resolve(sources, cache_dir=cache_dir, on_scan=on_scan, jobs=jobs, whatif_slots=whatif_slots,
                       whatif_conv=whatif_conv, **model_options)
    return Dataset(resolved, db=db, types=types, match=match, delimiters=delimiters, depth=depth,
                   rules=rules, materialize=materialize)
