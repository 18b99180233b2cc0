"""What would it take: every key's memory under other releases, encoding limits and allocators.

The ``whatif`` report section.  One pass over each dump computes, besides
the as-is estimate, every input the memory model reads per key
(``_``-prefixed columns of the cached scan) and the element sums once per
*sizing slot* (a release or allocator other than the scan's: they size
every element differently).  Each scenario is then the compiled model run
again over those columns with the scenario's profile
(:func:`rdbscan.model.derive`): limits and cluster mode need no slot of
their own, so any number of them, and the "compact encodings" scenario
chosen from the data, cost no pass over the dump.

:func:`materialize` leaves two tables on the dataset's connection, which
``whatif.sql`` reads: ``whatif_scenarios`` (one row per scenario, the
as-is first) and ``whatif_stats`` (keys, memory and keys changing encoding
per scenario, db, type, as-is encoding and pattern).
"""

import json
import os

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan import model
from rdbscan.errors import RdbscanError
from rdbscan.model import scenario as scenario_mod
from rdbscan.model.encoding import CONFIG_THRESHOLDS, Thresholds
from rdbscan.scanner.records import INTERNAL_FIXED, SLOT_SUMS, model_inputs

COMPACT = "compact encodings"
"""The label of the default scenario that raises the encoding limits the data needs."""

# The bound on the per-operation cost the compact scenario accepts: listpack
# lookups walk the entries one by one, so a listpack of 1,024 entries of up
# to 256 bytes is about as much as one command should scan (the same order
# as a default list node of 8 KiB; intsets are searched by bisection but
# grow by copying, so they get the same entry bound).
COMPACT_MAX_ENTRIES = 1024
COMPACT_MAX_VALUE = 256
_ENTRY_STEPS = (128, 256, 512, 1024)
_VALUE_STEPS = (64, 128, 256)

_STATS_SCHEMA = pa.schema([
    ("scenario_no", pa.int32()), ("db", pa.uint16()), ("type", pa.string()), ("encoding", pa.string()),
    ("pattern", pa.string()), ("keys", pa.int64()), ("memory_bytes", pa.int64()), ("asis_bytes", pa.int64()),
    ("keys_changing_encoding", pa.int64()),
])
_SCENARIOS_SCHEMA = pa.schema([("scenario_no", pa.int32()), ("scenario", pa.string()), ("why", pa.string()),
                               ("release", pa.string()), ("allocator", pa.string()), ("limits", pa.string())])


def scenarios_from_specs(specs):
    """The scenarios ``--scenario`` asks for, or the defaults: the newest Redis and Valkey layouts
    and the compact encodings (whose limits :func:`materialize` chooses from the data)."""
    if specs:
        out = []
        for spec in specs:
            try:
                out.append(scenario_mod.parse(spec))
            except ValueError as e:
                raise RdbscanError(f"--scenario: {e}") from None
        return out
    return [scenario_mod.Scenario(f"Redis {scenario_mod.NEWEST_REDIS}", release=scenario_mod.NEWEST_REDIS,
                                  why="the newest Redis release the model checks against a real server"),
            scenario_mod.Scenario(f"Valkey {scenario_mod.NEWEST_VALKEY.split('-', 1)[1]}",
                                  release=scenario_mod.NEWEST_VALKEY,
                                  why="the newest Valkey release the model knows"),
            scenario_mod.Scenario(COMPACT, limits=None)]


def slots_for(scenarios):
    """The sizing slots a scan must compute for ``scenarios`` (besides its own)."""
    return list(dict.fromkeys(s.slot for s in scenarios if s.slot != "|"))


def conv_limits_for(scenarios):
    """The hash value limits whose conversion points a scan keeps for ``scenarios``
    (the compact scenario picks among :data:`_VALUE_STEPS`)."""
    limits = set(_VALUE_STEPS)
    for s in scenarios:
        if s.limits and "hash_max_value" in s.limits:
            limits.add(s.limits["hash_max_value"])
    return sorted(limits)


def compact_limits(dataset, base=None):
    """``(limits, why)`` of the compact-encodings scenario for the dataset's collections.

    For each of hashes, sorted sets and sets: the smallest entry limit (128,
    256, 512, 1024) and value limit (64, 128, 256) under which every
    collection the loader now keeps as a hashtable or skiplist, but whose
    elements are within 1,024 entries of 256 bytes, would be a listpack (or,
    for sets of integers, an intset) -- never below the limits in force of
    ``base`` (the as-is :class:`ServerProfile`; set listpacks from 7.2).
    Bigger collections stay as they are: a listpack is scanned entry by
    entry on every command, so its size bounds each operation's cost.
    """
    release = base.redis_compat() if base is not None else (7, 4, 0)
    base = base.thresholds if base is not None else Thresholds()
    rows = dataset.sql(f"""
        SELECT type, (_flags & 1) <> 0 AS all_int, max(length) AS entries, max(max_element_bytes) AS value
        FROM keys_model
        WHERE type IN ('hash', 'zset', 'set') AND encoding IN ('hashtable', 'skiplist')
          AND length <= {COMPACT_MAX_ENTRIES} AND max_element_bytes <= {COMPACT_MAX_VALUE}
        GROUP BY ALL""").fetchall()
    need = {(t, bool(a)): (e, v) for t, a, e, v in rows}

    def step(x, steps, floor):
        return max(floor, next((s for s in steps if s >= x), steps[-1]))

    limits, reasons = {}, []
    for typ, entries_attr, value_attr, name in (
            ("hash", "hash_max_entries", "hash_max_value", "hash-max-listpack"),
            ("zset", "zset_max_entries", "zset_max_value", "zset-max-listpack")):
        e = max([need[k][0] for k in need if k[0] == typ] or [0])
        v = max([need[k][1] for k in need if k[0] == typ] or [0])
        if not e:
            continue
        limits[entries_attr] = step(e, _ENTRY_STEPS, getattr(base, entries_attr))
        limits[value_attr] = step(v, _VALUE_STEPS, getattr(base, value_attr))
        reasons.append(f"{name}-entries={limits[entries_attr]} and {name}-value={limits[value_attr]} "
                       f"fit every {typ} of up to {e} elements of up to {v} bytes")
    if ("set", True) in need:
        e = need[("set", True)][0]
        limits["set_max_intset_entries"] = step(e, _ENTRY_STEPS, base.set_max_intset_entries)
        reasons.append(f"set-max-intset-entries={limits['set_max_intset_entries']} fits every set of up to "
                       f"{e} integers")
    if ("set", False) in need and release >= (7, 2):
        e, v = need[("set", False)]
        limits["set_max_listpack_entries"] = step(e, _ENTRY_STEPS, base.set_max_listpack_entries)
        limits["set_max_listpack_value"] = step(v, _VALUE_STEPS, base.set_max_listpack_value)
        reasons.append(f"set-max-listpack-entries={limits['set_max_listpack_entries']} and "
                       f"set-max-listpack-value={limits['set_max_listpack_value']} fit every set of up to {e} "
                       f"members of up to {v} bytes (Redis 7.2+)")
    if not reasons:
        return {}, (f"no hashtable or skiplist collection has at most {COMPACT_MAX_ENTRIES} elements of at most "
                    f"{COMPACT_MAX_VALUE} bytes: the limits in force already keep every small one compact")
    return limits, ("; ".join(reasons) + f" (bigger collections stay as they are: a listpack is scanned entry by "
                    f"entry, so {COMPACT_MAX_ENTRIES} entries of {COMPACT_MAX_VALUE} bytes bound each "
                    "operation's cost)")


_NAMES = {v: k for k, v in CONFIG_THRESHOLDS.items() if "ziplist" not in k}


def limits_text(limits):
    """``hash-max-listpack-entries=512, ...`` for a limits dict."""
    return ", ".join(f"{_NAMES.get(k, k)}={v}" for k, v in limits.items())


def missing_columns(dataset, scenarios):
    """Why ``scenarios`` cannot be evaluated over ``dataset`` (a file lacks what-if columns), or None."""
    for r in dataset.resolved:
        have = (r.meta or {}).get("whatif_slots")
        missing = [s.slot for s in scenarios if have is None or s.slot not in have]
        if missing:
            what = f" for {', '.join(sorted(set(missing)))}" if have else ""
            return (f"{r.parquet}: this scan has no what-if columns{what}: give the dump itself "
                    "(rdbscan report whatif DUMP scans it once with them, into the cache beside it)")
    return None


def materialize(dataset, scenarios, batch_rows=65536):
    """Evaluate ``scenarios`` over ``dataset`` into the ``whatif_scenarios`` and ``whatif_stats`` tables.

    The compact-encodings scenario (``limits`` None) gets its limits here.
    Raises RdbscanError when a file is a scan without the what-if columns
    the scenarios need (a Parquet file from a plain ``rdbscan scan``).
    """
    con = dataset.con
    missing = missing_columns(dataset, scenarios)
    if missing:
        raise RdbscanError(missing)
    con.execute("CREATE OR REPLACE TEMP VIEW keys_model AS " + dataset.keys_model_sql)
    for s in scenarios:
        if s.limits is None:
            base = scenario_mod.profile_of_model((dataset.resolved[0].meta or {}).get("model") or {})
            s.limits, s.why = compact_limits(dataset, base)
            s.label = COMPACT + (f" ({limits_text(s.limits)})" if s.limits else " (no change)")
    rows = [{"scenario_no": 0, "scenario": "as-is", "why": "the dump as scanned", "release": None,
             "allocator": None, "limits": "{}"}]
    for i, s in enumerate(scenarios, 1):
        rows.append({"scenario_no": i, "scenario": s.label, "why": s.why, "release": s.release,
                     "allocator": s.allocator, "limits": json.dumps(s.limits or {})})
    con.register("whatif_scenarios_rows", pa.Table.from_pylist(rows, schema=_SCENARIOS_SCHEMA))
    con.execute("CREATE OR REPLACE TEMP TABLE whatif_scenarios AS SELECT * FROM whatif_scenarios_rows")
    con.unregister("whatif_scenarios_rows")

    parts = []
    for r in dataset.resolved:
        meta = r.meta or {}
        base = scenario_mod.profile_of_model(meta.get("model") or {})
        slots = meta["whatif_slots"]
        conv = meta.get("whatif_conv_limits") or []
        profiles = []
        for i, s in enumerate(scenarios, 1):
            profile = s.apply(base)
            limit = profile.thresholds.hash_max_value
            profiles.append((i, profile, slots.index(s.slot),
                             f"_conv_at_{conv.index(limit)}" if limit in conv else None))
        # only the columns the model and the grouping read (not the key text)
        needed = ["db", "type", "encoding", "pattern", "memory_bytes", "rdb_type", "length", "max_element_bytes",
                  "expire_at", "stream_groups", "stream_consumers", "stream_pending", "hash_fields_with_ttl",
                  "hash_fields_expired"]
        needed += [name for name, _ in INTERNAL_FIXED]
        needed += [f"_{name}_{slot}" for slot in sorted({p[2] for p in profiles}) for name in SLOT_SUMS]
        needed += sorted({p[3] for p in profiles if p[3]})
        result = con.sql(f"SELECT {', '.join(needed)} FROM keys_model WHERE file = $file",
                         params={"file": os.path.abspath(r.parquet)})
        # DuckDB 1.x names it fetch_record_batch, 2.x to_arrow_reader
        reader = (getattr(result, "to_arrow_reader", None) or result.fetch_record_batch)(batch_rows)
        # DuckDB groups each evaluated batch (on a cursor of its own: the
        # reader streams on the main connection)
        sums = ", ".join(["sum(asis)::BIGINT AS asis"] + [f"sum(m{i})::BIGINT AS m{i}, sum(c{i})::BIGINT AS c{i}"
                                                           for i in range(1, len(scenarios) + 1)])
        with con.cursor() as cur:
            for batch in reader:
                if batch.num_rows:
                    cur.register("whatif_batch", _evaluate(batch, profiles))
                    parts.append(cur.sql(f"SELECT db, type::VARCHAR AS type, encoding::VARCHAR AS encoding, "
                                             f"pattern::VARCHAR AS pattern, count(*) AS keys, {sums} "
                                             f"FROM whatif_batch GROUP BY ALL").to_arrow_table())
                    cur.unregister("whatif_batch")
    con.execute("CREATE OR REPLACE TEMP TABLE whatif_stats (scenario_no INTEGER, db USMALLINT, type VARCHAR, "
                "encoding VARCHAR, pattern VARCHAR, keys BIGINT, memory_bytes BIGINT, asis_bytes BIGINT, "
                "keys_changing_encoding BIGINT)")
    if parts:
        con.register("whatif_parts", pa.concat_tables(parts))
        # one row per group and batch holds every scenario's sums: unpivot them
        selects = ["SELECT 0 AS scenario_no, db, type, encoding, pattern, keys, asis AS memory_bytes, asis, 0 AS chg "
                   "FROM whatif_parts"]
        selects += [f"SELECT {i}, db, type, encoding, pattern, keys, m{i}, asis, c{i} FROM whatif_parts"
                    for i in range(1, len(scenarios) + 1)]
        con.execute(f"""INSERT INTO whatif_stats
            SELECT scenario_no, db, type, encoding, pattern, sum(keys)::BIGINT, sum(memory_bytes)::BIGINT,
                   sum(asis)::BIGINT, sum(chg)::BIGINT
            FROM ({' UNION ALL '.join(selects)}) GROUP BY ALL""")
        con.unregister("whatif_parts")


def _evaluate(batch, profiles):
    """One batch of keys_model rows with every scenario's figures per key.

    Columns: the grouping ones (db, type, as-is encoding, pattern), ``asis``
    (the as-is memory), and ``mN`` (memory) and ``cN`` (1 when the
    encoding changes) for scenario N.
    """
    n = batch.num_rows
    table = pa.Table.from_batches([batch])
    asis_enc = table.column("encoding").combine_chunks()
    asis_codes = asis_enc.indices if pa.types.is_dictionary(asis_enc.type) else None
    columns = {"db": table.column("db"), "type": table.column("type"), "encoding": asis_enc,
               "pattern": table.column("pattern"), "asis": table.column("memory_bytes")}
    inputs = {}
    for number, profile, slot, conv in profiles:
        if (slot, conv) not in inputs:
            inputs[(slot, conv)] = model_inputs(table, slot, conv)
        rows, cols, arrays = inputs[(slot, conv)]
        encoding, memory = model.derive(rows, cols, arrays, profile)
        if asis_codes is not None and encoding.dictionary.equals(asis_enc.dictionary):
            changed = pc.not_equal(encoding.indices, asis_codes)
        else:
            changed = pc.not_equal(pc.cast(encoding, pa.string()), pc.cast(asis_enc, pa.string()))
        columns[f"m{number}"] = memory
        columns[f"c{number}"] = pc.cast(changed, pa.int8())
    return pa.table(columns)


def ensure_tables(dataset):
    """Empty ``whatif_scenarios`` / ``whatif_stats`` when no what-if ran (the advice section joins them)."""
    con = dataset.con
    have = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    if "whatif_scenarios" not in have:
        con.register("whatif_empty_s", _SCENARIOS_SCHEMA.empty_table())
        con.execute("CREATE TEMP TABLE whatif_scenarios AS SELECT * FROM whatif_empty_s")
        con.unregister("whatif_empty_s")
    if "whatif_stats" not in have:
        con.register("whatif_empty_w", _STATS_SCHEMA.empty_table())
        con.execute("CREATE TEMP TABLE whatif_stats AS SELECT * FROM whatif_empty_w")
        con.unregister("whatif_empty_w")
