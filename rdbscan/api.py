"""The Python API: scan a dump into RecordBatches, a Table, or a Parquet file.

The CLI is a thin layer over these functions::

    import rdbscan
    for batch in rdbscan.scan_batches("dump.rdb"):     # pyarrow RecordBatches
        ...
    table = rdbscan.read_table("dump.rdb", types=["hash"])
    meta = rdbscan.scan("dump.rdb", "keys.parquet")   # file-level facts
    facts = rdbscan.info("keys.parquet")
"""

import json
import os
import re
import stat
import sys
import threading
import time
import warnings

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan import __version__, storage
from rdbscan.analysis import patterns
from rdbscan.scanner._common import header_info
from rdbscan.model.encoding import parse_server, profile_from_meta, thresholds_from_config
from rdbscan.model.memory import layout_for, sizing_tables, slot_sizing
from rdbscan.model.valkey import keyspace_bytes
from rdbscan.errors import OutputError, RDBFormatError, RdbscanError
from rdbscan import model
from rdbscan.model import scenario as scenario_mod
from rdbscan.model.alloc import ALLOCATORS, jemalloc_size
from rdbscan.model.evidence import allocator_fit, cluster_slot_ranges, describe_ranges
from rdbscan.scanner.records import (OUTPUT_SCHEMA, SCHEMA, build_batch, filter_batch, internal_columns,
                                     internal_schema)
from rdbscan.scanner.sink import ParquetSink, read_meta
from rdbscan.scanner.source import not_rdb_error, open_source

_warned = False


def scanner_class(pure=False):
    """The scanner to use: the compiled one unless ``pure`` (or RDBSCAN_PURE=1) asks otherwise.

    When the compiled extension cannot be imported, warn once (naming the
    cause) and fall back to the pure-Python twin.
    """
    global _warned
    if not pure and os.environ.get("RDBSCAN_PURE") != "1":
        try:
            from rdbscan.scanner._scanner import Scanner
            return Scanner
        except ImportError as e:
            if not _warned:
                warnings.warn(f"rdbscan: compiled scanner unavailable ({e}); "
                              "using the pure-Python scanner, which is much slower", stacklevel=2)
                _warned = True
    from rdbscan.scanner.pyscanner import Scanner
    return Scanner


class _Prefixed:
    """A stream with bytes already read put back in front (for the magic check)."""

    def __init__(self, head, stream):
        self.head = memoryview(head)
        self.stream = stream

    def readinto(self, b):
        """Fill ``b``: the put-back bytes first, then the stream's."""
        if len(self.head):
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.stream.readinto(b)

    def read(self, n=-1):
        """Up to ``n`` bytes: the put-back bytes first, then the stream's."""
        if len(self.head):
            out = bytes(self.head[:n] if n >= 0 else self.head)
            self.head = self.head[len(out):]
            return out
        return self.stream.read(n)


def _read_head(stream, n):
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _library_info(code):
    first = code.split("\n", 1)[0]
    m = re.match(r"#!(\w+)\s+name=(\S+)", first)
    return {"name": m.group(2) if m else None, "engine": m.group(1) if m else None,
            "bytes": len(code.encode("utf-8", "surrogateescape"))}


class ScanBatches:
    """Iterate over a dump as pyarrow RecordBatches of :data:`rdbscan.SCHEMA`.

    After iteration, :attr:`meta` holds the file-level facts (magic,
    version, aux fields, functions, per-db counts, CRC result, ...).
    Filters: ``db`` (iterable of ints), ``types`` (iterable of type names),
    ``match`` (Redis glob on the key), ``min_bytes``.  The memory model
    follows the server named by the dump unless ``server`` (``"7.2.4"``,
    ``"valkey-8.0"``) says otherwise; ``target`` estimates for another
    release instead (what-if); ``config`` is a redis.conf whose encoding
    thresholds apply; ``allocator`` (``"jemalloc"``, the bundled
    8-byte-quantum build, or ``"jemalloc-16"`` for distribution packages)
    and ``cluster`` (default: when the dump has slot info) cover what a dump
    cannot tell.  With ``keep_going`` the rows parsed before a fault are
    yielded before the error is raised, and ``meta["partial"]`` describes
    the fault.  ``slots`` (what-if sizing slots, keys of
    :func:`rdbscan.model.scenario.slot_of`) adds the model's per-key inputs
    as ``_``-prefixed columns (:func:`rdbscan.scanner.records.internal_schema`),
    element sums once per slot, so that scenarios can be evaluated later
    without another pass over the dump; ``conv_limits`` the hash value
    limits whose conversion points those columns keep; ``allocator_evidence``
    the whole dump's estimate under every allocator, next to its used-mem.

    ``jobs`` decoder threads share one dump (default: the machine's cores,
    but one on a machine of two cores or fewer, see
    :func:`rdbscan.process.default_decoders`);
    only an uncompressed dump in a regular file is split, compressed input
    and stdin are read by one.  The batches, rows and :attr:`meta` are the
    same whatever ``jobs``.  ``chunk_size`` (bytes) fixes the size of the
    pieces the dump is cut into (default: adaptive); tests force it small.
    """

    def __init__(self, source, *, db=None, types=None, match=None, min_bytes=None,
                 batch_size=65536, pure=False, verify=True, keep_going=False, progress=None,
                 server=None, target=None, allocator=None, cluster=None, config=None, slots=None,
                 conv_limits=None, allocator_evidence=False, jobs=None, chunk_size=None):
        self.source = source
        self.filters = dict(db=set(db) if db else None, types=set(types) if types else None,
                            match=match, min_bytes=min_bytes)
        self.batch_size = batch_size
        self.pure = pure
        self.verify = verify
        self.keep_going = keep_going
        self.progress = progress
        self.server = server
        self.target = target
        self.allocator = allocator
        self.cluster = cluster
        self.jobs = jobs
        self.chunk_size = chunk_size
        self.parallel_stats = None
        self.thresholds = None
        if config is not None:
            try:
                self.thresholds = thresholds_from_config(config)
            except ValueError as e:
                raise RdbscanError(str(e)) from None
        for name, value in (("redis-version", server), ("target-version", target)):
            if value is not None:
                try:
                    flavor, version = parse_server(value)
                except ValueError as e:
                    raise RdbscanError(f"--{name}: {e}") from None
                if name == "target-version" and flavor == "redis" and version < (4, 0):
                    raise RdbscanError("--target-version: the memory model starts at Redis 4.0, "
                                       "the first release with MEMORY USAGE")
        self.slots = None
        # Allocator evidence: the whole dump's estimate under every allocator,
        # next to its used-mem (sizing slots of their own, no columns kept).
        self.allocator_evidence = allocator_evidence
        self.allocator_totals = {name: 0 for name in ALLOCATORS} if allocator_evidence else None
        self.internal = slots is not None
        if allocator_evidence:
            slots = list(slots or []) + [scenario_mod.slot_of(None, name) for name in ALLOCATORS]
        if slots is not None:
            self.slots = ["|"] + [k for k in dict.fromkeys(slots) if k != "|"]
            for key in self.slots:
                release, _ = scenario_mod.parse_slot(key)
                if release is not None:
                    try:
                        parse_server(release)
                    except ValueError as e:
                        raise RdbscanError(f"what-if slot {key!r}: {e}") from None
        # Hash value limits whose conversion points a what-if scan keeps (the
        # loader's own is found once the dump names its server).
        self.conv_limits = sorted({int(v) for v in conv_limits or ()})[:7] if self.internal else []
        self.memory_total = 0
        self.cluster_evidence = None
        self.slot_counts = None     # per slot: keys, expires, keys with volatile items (when slot info)
        self._deferred = False        # scan() builds the Arrow batches on its writer threads ...
        self._decoders = 1            # ... when several decoders share the dump
        self._raw_meta = None
        self._profile_used = None     # the server profile the memory model used (set by _finish)
        self._totals_lock = threading.Lock()
        self.meta = None
        self.schema = SCHEMA
        if self.internal:
            self.schema = pa.schema(list(SCHEMA) + list(internal_schema(len(self.slots), 1 + len(self.conv_limits))))
        self.rows_scanned = 0
        self.rows_kept = 0
        self.notes = []

    def __iter__(self):
        started = time.monotonic()
        src = open_source(self.source)
        self.source_name = src.name
        scanner = None
        try:
            head = _read_head(src.stream, 9)
            if header_info(head) is None:
                raise not_rdb_error(src, head + _read_head(src.stream, 7))
            cls = scanner_class(self.pure)
            try:
                if self._parallel(src, cls):
                    from rdbscan.process import bounded_mmap
                    from rdbscan.scanner.parallel import ParallelScanner
                    bounded_mmap()
                    scanner = ParallelScanner(src.name, _Prefixed(head, src.stream), src.stream, self.batch_size,
                                              self.verify, jobs=self.jobs, chunk_size=self.chunk_size)
                    self.parallel_stats = scanner.stats
                    self._decoders = scanner.jobs
                else:
                    scanner = cls(_Prefixed(head, src.stream), self.batch_size, self.verify)
                # The file-level records before the first key name the writing
                # server; the scanner needs its allocation sizes before keys.
                scanner.preamble()
            except RDBFormatError as e:
                self._fault(e, src)
                if scanner is not None and self.keep_going:
                    self._finish(scanner, src, started, None, error=e)
                raise
            for note in scanner.meta.get("notes", []):
                self.notes.append(note)
            profile = self._profile(scanner.meta)
            scanner.set_sizing(*sizing_tables(profile))
            limits = [profile.thresholds.hash_max_value]
            if self.slots is not None:
                self._set_slots(scanner, profile)
                limits += self.conv_limits
            self.conv_limits = limits
            scanner.set_conversions(limits)
            while True:
                try:
                    result = scanner.next_batch()
                except RDBFormatError as e:
                    self._fault(e, src)
                    partial = scanner.flush() if self.keep_going else None
                    batch = None if partial is None else self._batch(partial, scanner, profile)
                    self._finish(scanner, src, started, profile, error=e)
                    if batch is not None:
                        yield batch
                    raise
                except OSError as e:
                    raise RdbscanError(f"{src.name}: read failed: {e.strerror or e}") from None
                if result is None:
                    break
                yield self._batch(result, scanner, profile)
                if self.progress is not None:
                    # (With chunks decoded ahead, the file's read position says nothing: the
                    # stitched offset does.)
                    raw = None if self.parallel_stats is not None else src.raw_position()
                    self.progress(scanner.offset, raw, src.size, self.rows_scanned)
            self._check_tail(scanner, src)
            self._finish(scanner, src, started, profile)
        finally:
            if hasattr(scanner, "close"):
                self.parallel_stats = scanner.stats
                scanner.close()
            src.close()

    def _parallel(self, src, cls):
        # Split the dump only where it pays and is possible: the compiled
        # scanner, several jobs, an uncompressed regular file.
        from rdbscan.scanner import parallel
        if self.jobs == 1 or cls.__module__.endswith("pyscanner") or not parallel.supported():
            return False
        if src.compression is not None or src.size is None or src.raw is getattr(sys.stdin, "buffer", None):
            return False
        try:
            if not stat.S_ISREG(os.fstat(src.raw.fileno()).st_mode):
                return False
        except (OSError, AttributeError, ValueError):
            return False
        from rdbscan.process import default_decoders
        jobs = self.jobs or default_decoders()
        return jobs > 1 and (self.chunk_size is not None or src.size >= 2 * parallel.FIRST_CHUNK)

    @staticmethod
    def _fault(error, src):
        # Name the file; say when a compressed input was cut off.
        error.path = src.name
        if getattr(src.stream, "ended_early", False) and "compressed input" not in error.message:
            error.message += f" (the {src.compression} input is cut off)"

    def _profile(self, meta):
        # The rules of the release that loads the dump: the writer, or the
        # what-if target.
        return profile_from_meta(meta, self.target or self.server, self.allocator, self.cluster,
                                 self.thresholds)

    def _set_slots(self, scanner, profile):
        # One scanner slot per distinct sizing among the requested slots; the
        # requested ones map onto them (0: the scan's own sums).
        own = slot_sizing(profile)
        distinct, self.scanner_slots = [], []
        for key in self.slots:
            release, allocator = scenario_mod.parse_slot(key)
            sizing = slot_sizing(scenario_mod.Scenario(key, release, allocator).apply(profile))
            if sizing == own:
                self.scanner_slots.append(0)
                continue
            if sizing not in distinct:
                distinct.append(sizing)
            self.scanner_slots.append(distinct.index(sizing) + 1)
        if len(distinct) > 7:
            raise RdbscanError(f"at most 7 what-if scenarios with another release or allocator in one scan "
                               f"({len(distinct)} asked)")
        scanner.set_slots(distinct)

    def _infer_cluster(self, cols, n, profile):
        # A 7.0/7.2 node of a multi-master cluster keeps slot links per key;
        # the dump says so only through which slots its keys occupy.
        if self.cluster is not None or profile.cluster or self.rows_scanned or not (
                (profile.flavor == "redis" and (7, 0) <= profile.version < (7, 4))
                or (profile.flavor == "valkey" and profile.version < (8, 0))):
            return
        found = cluster_slot_ranges(memoryview(cols["slot"]).cast("H")[:n])
        if found:
            profile.cluster = True
            self.cluster_evidence = found
            self.notes.append(
                f"cluster mode assumed: the keys occupy {found['slots']} of 16384 hash slots, in "
                f"{len(found['ranges'])} contiguous range{'s' if len(found['ranges']) > 1 else ''} "
                f"({describe_ranges(found['ranges'])}): a node of a multi-master cluster, whose per-key slot "
                f"links the estimate counts (--no-cluster if it was not one; a single-node cluster "
                f"cannot be told apart: --cluster)")

    def _allocator_totals(self, n, cols, profile, module_names):
        sums = {}
        for name in ALLOCATORS:
            j = self.scanner_slots[self.slots.index(scenario_mod.slot_of(None, name))]
            own = {} if j == 0 else {s: cols[f"{s}_{j}"] for s in ("mem_elements", "mem_values", "mem_blobs")}
            p = scenario_mod.Scenario(name, allocator=name).apply(profile)
            if self.pure or model._model is None:
                memory = build_batch(n, {**cols, **own}, module_names, p, compiled_model=False).column("memory_bytes")
            else:
                _, memory = model.derive(n, {**cols, **own, "conv_at": cols.get("conv_at_0")}, None, p)
            sums[name] = pc.sum(memory).as_py() or 0
        with self._totals_lock:           # scan() builds batches on several writer threads
            for name, total in sums.items():
                self.allocator_totals[name] += total

    def _batch(self, result, scanner, profile):
        n, cols = result
        self._infer_cluster(cols, n, profile)
        self.rows_scanned += n
        if scanner.meta["slot_info"]:
            self._count_slots(n, cols)
        if self._deferred and self._decoders > 1:
            return _Deferred(self._build, n, cols, list(scanner.module_names), profile)
        batch = self._build(n, cols, scanner.module_names, profile)
        self.rows_kept += len(batch)
        self.memory_total += pc.sum(batch.column("memory_bytes")).as_py() or 0
        return batch

    def _build(self, n, cols, module_names, profile):
        # One scanner batch as a RecordBatch (with the what-if columns), its
        # allocator totals counted, filtered.  On scan()'s writer threads.
        batch = build_batch(n, cols, module_names, profile, compiled_model=not self.pure)
        if self.allocator_totals is not None:
            self._allocator_totals(n, cols, profile, module_names)
        if self.internal:
            batch = pa.RecordBatch.from_arrays(
                batch.columns + internal_columns(batch, n, cols, self.scanner_slots), schema=self.schema)
        return filter_batch(batch, **self.filters)

    def _count_slots(self, n, cols):
        # What the keys hold per slot, to hold the dump's slot info against
        # (every key, before the filters): keys, with expiry, with volatile items.
        if self.slot_counts is None:
            self.slot_counts = [[0] * SLOTS for _ in range(3)]
        slots = pa.Array.from_buffers(pa.uint16(), n, [None, pa.py_buffer(cols["slot"])])
        _add_slot_counts(self.slot_counts[0], slots)
        _add_slot_counts(self.slot_counts[1], slots, _valid_mask(cols["expire_valid"], n))
        volatile = None
        for name, valid in (("hash_fields_with_ttl", "hfe_valid"), ("hash_fields_expired", "expired_valid")):
            if cols[name] is None:
                continue
            values = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(cols[name])])
            has = pc.greater(values, 0)
            mask = _valid_mask(cols[valid], n)
            if mask is not None:
                has = pc.and_(has, mask)
            volatile = has if volatile is None else pc.or_(volatile, has)
        if volatile is not None:
            _add_slot_counts(self.slot_counts[2], slots, volatile)

    def _slot_info_check(self, slot_info):
        # Slot info (Redis SLOT_INFO, Valkey slot-info aux) against the keys
        # that followed it: a mismatch is worth a warning, not a failure.
        if not slot_info or self.slot_counts is None:
            return None
        declared = [[0] * SLOTS for _ in range(3)]
        has_volatile = [False] * SLOTS
        for info in slot_info:
            slot = info[0]
            if 0 <= slot < SLOTS:
                declared[0][slot] += info[1]
                declared[1][slot] += info[2]
                if len(info) > 3:
                    declared[2][slot] += info[3]
                    has_volatile[slot] = True
        # 3-field slot info says nothing of volatile items
        counted = [self.slot_counts[0], self.slot_counts[1],
                   [c if v else 0 for c, v in zip(self.slot_counts[2], has_volatile)]]
        bad = [slot for slot in range(SLOTS) if any(declared[i][slot] != counted[i][slot] for i in range(3))]
        names = ("keys", "expires", "keys_with_volatile_items")
        examples = []
        for slot in bad[:5]:
            say = {f"{name}_declared": declared[i][slot] for i, name in enumerate(names)}
            say.update({f"{name}_found": counted[i][slot] for i, name in enumerate(names)})
            examples.append({"slot": slot, **say})
        return {"slots_declared": len(slot_info), "slots_mismatched": len(bad), "examples": examples}

    def _check_tail(self, scanner, src):
        tail = scanner.trailing() or src.stream.read(1)
        if not tail:
            return
        if tail[:1] == b"*":
            self.notes.append("the file continues with AOF commands after its RDB preamble; "
                              "read the RDB part only (stopped at its EOF opcode)")
        else:
            self.notes.append(f"bytes after the RDB EOF opcode at offset {scanner.meta.get('eof_offset')} "
                              "were ignored")

    def _settle(self, rows_kept, memory_total):
        # The counts of batches built on scan()'s writer threads, once they are done.
        self.rows_kept, self.memory_total = rows_kept, memory_total
        if self.meta is not None:
            self.meta["rows_written"] = rows_kept
            self.meta["memory"] = memory_summary(self._raw_meta, memory_total, self._profile_used,
                                                 self._slot_totals(), self.allocator_totals)

    def _slot_totals(self):
        # Keys and expires per slot (when the dump has slot info), for the keyspace's tables.
        return None if self.slot_counts is None else self.slot_counts[:2]

    def _finish(self, scanner, src, started, profile, error=None):
        raw = self._raw_meta = dict(scanner.meta) if scanner is not None else {}
        profile = self._profile_used = profile or self._profile(raw)
        writer = profile_from_meta(raw, self.server)
        meta = {
            "rdbscan_version": __version__,
            "source": src.name,
            "source_bytes": src.size,
            "compression": src.compression,
            "magic": raw.get("magic"),
            "rdb_version": raw.get("rdb_version"),
            "flavor": raw.get("flavor"),
            "server": writer.label,
            "server_from": writer.source,
            # Slot info comes with the keys, after the profile was picked: it still says "cluster".
            "model": {"server": profile.label, "what_if": self.target is not None,
                      "allocator": profile.allocator,
                      "cluster": profile.cluster or (self.cluster is None and bool(raw.get("slot_info"))),
                      "thresholds": vars(profile.thresholds)},
            "whatif_slots": self.slots if self.internal else None,
            "whatif_conv_limits": self.conv_limits if self.internal and profile is not None else None,
            "cluster_evidence": self.cluster_evidence,
            "memory": memory_summary(raw, self.memory_total, profile, self._slot_totals(), self.allocator_totals),
            "aux": raw.get("aux", {}),
            "functions": [_library_info(code) for code in raw.get("functions", [])],
            "module_aux": raw.get("module_aux", []),
            "module_types": list(scanner.module_names) if scanner is not None else [],
            "dbs": {str(db): {"keys": c[0], "expires": c[1]} for db, c in sorted(raw.get("dbs", {}).items())},
            "resizedb": {str(db): v for db, v in sorted(raw.get("resizedb", {}).items())},
            "slot_info": raw.get("slot_info", []),
            "slot_imports": raw.get("slot_imports", []),
            "key_meta": raw.get("key_meta", {}),          # RDB 13+: KEY_META records per metadata class
            "hash_templates": raw.get("hash_templates", 0),   # RDB 15: HASH_TEMPLATE records
            "crc": raw.get("crc") or ("not reached" if error is not None else None),
            "rows": self.rows_scanned,
            "rows_written": self.rows_kept,
            "filters": {k: (sorted(v) if isinstance(v, set) else v) for k, v in self.filters.items()
                        if v is not None},
            "parse_seconds": round(time.monotonic() - started, 3),
            "scanner": "pure-python" if type(scanner).__module__.endswith("pyscanner") else "compiled",
            "notes": list(self.notes),
        }
        check = self._slot_info_check(meta["slot_info"]) if error is None else None
        if check is not None:
            meta["slot_info_check"] = check
            if check["slots_mismatched"]:
                first = check["examples"][0]
                meta["notes"].append(
                    f"warning: the slot info disagrees with the keys that follow it in "
                    f"{check['slots_mismatched']:,} of {check['slots_declared']:,} slots (e.g. slot "
                    f"{first['slot']}: says {first['keys_declared']} keys / {first['expires_declared']} "
                    f"with expiry, holds {first['keys_found']} / {first['expires_found']})")
        if raw.get("update_commands"):
            meta["update_commands"] = raw["update_commands"]
            meta["notes"].append(
                f"{raw['update_commands']:,} inline replication commands (UPDATE opcode) were skipped: "
                "the keys they change on load are as the snapshot holds them")
        if error is not None:
            meta["partial"] = {"error": str(error), "offset": getattr(error, "offset", None)}
        self.meta = meta


SLOTS = 16384


def _valid_mask(valid, n):
    """Rows where a column is set, from a scanner validity bitmap: a boolean array, None for all rows."""
    if valid is None:
        return None
    if valid is False:
        return pa.nulls(n, pa.bool_()).fill_null(False)
    return pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(valid)])


def _add_slot_counts(counts, slots, mask=None):
    """Add to ``counts`` (one per slot) the rows of ``slots`` (where ``mask``)."""
    if mask is not None:
        slots = pc.filter(slots, mask)
    found = pc.value_counts(slots)
    for slot, count in zip(found.field("values").to_pylist(), found.field("counts").to_pylist()):
        counts[slot] += count


class _Deferred:
    """A scanner batch whose Arrow arrays are built later, on a writer thread (see :func:`scan`)."""

    __slots__ = ("builder", "n", "cols", "module_names", "profile")

    def __init__(self, builder, n, cols, module_names, profile):
        self.builder, self.n, self.cols, self.module_names, self.profile = builder, n, cols, module_names, profile

    def __len__(self):
        return self.n

    def build(self):
        """The batch as :class:`ScanBatches` yields it: built, then filtered."""
        return self.builder(self.n, self.cols, self.module_names, self.profile)


def _pow2(n):
    return 1 << max(2, (n - 1).bit_length()) if n else 0


def memory_summary(meta, keys_total, profile=None, slot_counts=None, allocator_totals=None):
    """The dataset's estimated memory next to the dump's ``used-mem``.

    ``MEMORY USAGE`` leaves out what the keyspace itself costs: the main
    dict's bucket array (8 bytes per bucket, a power of two per db) and the
    expires dict (a 24-byte entry per key with a TTL, plus its buckets).
    From Valkey 8.1 both are hashtables of 64-byte buckets holding the
    objects themselves, one per db or, in a cluster, one per slot
    (``slot_counts``: keys and expires per slot, when the dump has slot info).
    ``allocator_totals`` (every key's estimate summed under each allocator)
    adds ``by_allocator``: each total's share of used-mem and whether it
    fits (:func:`rdbscan.model.evidence.allocator_fit`); ``profile`` names
    the allocator the estimate assumes.
    """
    dbs = list(meta.get("dbs", {}).values())
    layout = layout_for(profile).valkey if profile is not None else None
    if layout is not None:
        if slot_counts is not None:
            main = keyspace_bytes(layout, slot_counts[0])
            expires = keyspace_bytes(layout, slot_counts[1])
        else:
            main = keyspace_bytes(layout, [c[0] for c in dbs])
            expires = keyspace_bytes(layout, [c[1] for c in dbs])
        entry_bytes = None          # the objects sit in the buckets: no dict entries
    else:
        main = sum(8 * _pow2(c[0]) for c in dbs)
        expires = sum(24 * c[1] + 8 * _pow2(c[1]) for c in dbs)
        entry_bytes = 24
    used = meta.get("aux", {}).get("used-mem")
    out = {"keys_total": keys_total, "main_dict_buckets": main, "expires": expires,
           "estimated_total": keys_total + main + expires, "used_mem_aux": used}
    if allocator_totals is not None:
        try:
            used_int = int(used) if used is not None else None
        except (TypeError, ValueError):
            used_int = None
        # used-mem counts what the allocator handed out: the 24-byte dict
        # entries of the keyspace and the expires in that allocator's class
        # (MEMORY USAGE counts 24), the buckets exactly (powers of two); a
        # keyspace still rehashing holds half as many buckets again.
        entries = sum(c[0] + c[1] for c in dbs)
        totals = {a: t + main + expires
                  + (entries * (jemalloc_size(entry_bytes, ALLOCATORS[a]) - entry_bytes) if entry_bytes else 0)
                  for a, t in allocator_totals.items()}
        assumed = profile.allocator if profile is not None else "jemalloc"
        rows, note = allocator_fit(totals, used_int, assumed, slack=main // 2)
        out["by_allocator"] = rows
        out["allocator_note"] = note
    return out


def scan_batches(source, **options):
    """Scan ``source`` (path, ``"-"`` or binary file object) lazily; see :class:`ScanBatches`."""
    return ScanBatches(source, **options)


def read_table(source, **options):
    """Scan ``source`` into one pyarrow Table (file-level facts in ``table.schema.metadata``)."""
    batches = ScanBatches(source, **options)
    table = pa.Table.from_batches(list(batches), schema=batches.schema)
    return table.replace_schema_metadata({b"rdbscan": json.dumps(batches.meta, default=str).encode()})


def default_output(source):
    """Where ``scan`` writes without ``-o``: ``NAME.parquet`` beside the dump (cwd for stdin and URLs)."""
    if source == "-" or hasattr(source, "read"):
        return "dump.parquet"
    if storage.is_remote(str(source)):
        source = storage.basename(str(source)) or "dump"
    base = os.path.basename(str(source))
    for ext in (".gz", ".zst", ".zstd", ".lz4", ".bz2", ".xz"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    stem = base[:-4] if base.endswith((".rdb", ".aof")) else base
    return os.path.join(os.path.dirname(str(source)), stem + ".parquet")


def encoders(jobs=None):
    """Parquet encoder threads for ``jobs`` decoders: one for every two (encoding a batch
    costs about what decoding it does, and each thread in flight holds a batch)."""
    if jobs is None:
        from rdbscan.scanner.parallel import default_jobs
        jobs = default_jobs()
    return max(1, (jobs + 1) // 2)


def with_pattern(batch):
    """A batch of :data:`SCHEMA` with its keys' inferred ``pattern`` appended (:data:`OUTPUT_SCHEMA`)."""
    return batch.append_column(OUTPUT_SCHEMA.field("pattern"),
                               patterns.key_patterns(batch.column("key")).dictionary_encode())


def output_schema(schema=SCHEMA):
    """What ``scan`` writes for batches of ``schema`` (wider for what-if scans): the pattern column follows it."""
    return schema.append(OUTPUT_SCHEMA.field("pattern"))


def output_sink(out, compression="zstd", threads=1, schema=SCHEMA):
    """The Parquet sink ``scan`` writes with: :func:`output_schema`, patterns added on the writer threads."""
    return ParquetSink(out, output_schema(schema), compression=compression, transform=with_pattern,
                       threads=threads)


def scan(source, out=None, *, compression="zstd", keep_going=False, extra_meta=None, **options):
    """Scan ``source`` into a Parquet file at ``out``; returns the file-level facts.

    ``jobs`` (see :class:`ScanBatches`) also sets how many threads encode Parquet (:func:`encoders`).
    The file appears only when complete (written under a temporary name and
    renamed).  On a fault nothing is written, unless ``keep_going``: then
    the rows before the fault are written, the metadata says ``partial``,
    and the error is raised afterwards.  ``extra_meta`` is merged into the
    file-level facts stored in the file.
    """
    out = out or default_output(source)
    if isinstance(source, (str, os.PathLike)) and source != "-" and os.path.exists(out) \
            and os.path.exists(source) and os.path.samefile(out, source):
        raise OutputError(f"{out}: refusing to overwrite the input with the output")
    batches = ScanBatches(source, keep_going=keep_going, **options)
    # With several decoders the scanning thread only hands over the scanners'
    # buffers: Arrow arrays, the memory model, filters and patterns are made
    # on the writer threads, alongside the Parquet encoding (the one scanning
    # thread would otherwise be the wall).  With one decoder it builds them
    # itself and the writer thread keeps patterns and Parquet: piling it all
    # on the writer made a sequential scan of the string-heavy dump 12 % slower.
    batches._deferred = True
    lock = threading.Lock()
    counts = [0, 0]

    def build(item):
        if isinstance(item, _Deferred):      # built here: counted here (ScanBatches counts its own)
            item = item.build()
            memory = pc.sum(item.column("memory_bytes")).as_py() or 0
            with lock:
                counts[0] += len(item)
                counts[1] += memory
        return with_pattern(item) if len(item) else item

    sink = ParquetSink(out, output_schema(batches.schema), compression=compression, transform=build,
                       threads=encoders(options.get("jobs")))

    def finish():
        sink.drain()
        if batches._decoders > 1:
            batches._settle(*counts)
        batches.meta["output"] = os.path.abspath(out)
        batches.meta["pattern_inference"] = patterns.INFERENCE_VERSION
        batches.meta.update(extra_meta or {})
        sink.close(batches.meta)

    # From here until the file is in place, any exception -- a fault, an
    # output error, Ctrl-C, a worker's SIGTERM landing between two lines --
    # drops the temporary file (abort does nothing once close is done).
    try:
        try:
            for batch in batches:
                sink.write(batch)
        except RDBFormatError as e:
            if keep_going and batches.meta is not None:
                finish()
                e.partial_output = (batches.meta["output"], batches.meta["rows_written"])
            raise
        finish()
    except BaseException:
        sink.abort()
        raise
    return batches.meta


def is_parquet(path):
    """True when ``path`` (a local path or an s3:// / gs:// URL) is a Parquet file, by its magic bytes."""
    return storage.read_head(os.fspath(path), 4) == b"PAR1"


def lean_memory_pool():
    """Use jemalloc (else the system allocator) for Arrow buffers.

    pyarrow's default mimalloc pool keeps freed batches around; jemalloc (or
    the system allocator) hands them back, keeping peak RSS down.
    """
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, AttributeError):
        pa.set_memory_pool(pa.system_memory_pool())


def info(source, **options):
    """File-level facts of a dump (scanned, nothing written) or of an rdbscan Parquet file.

    A dump's facts include the allocator evidence (``memory.by_allocator``:
    the estimate under every allocator next to used-mem).
    """
    if isinstance(source, (str, os.PathLike)) and source != "-" and is_parquet(source):
        meta = read_meta(source)   # the facts as scanned; model options apply to dumps only
        if meta is None:
            raise RdbscanError(f"{source}: a Parquet file, but not one written by rdbscan")
        return meta
    options.setdefault("allocator_evidence", True)
    batches = ScanBatches(source, **options)
    for _ in batches:
        pass
    return batches.meta


if sys.byteorder != "little":  # the column buffers are little-endian C arrays
    raise ImportError("rdbscan supports little-endian machines only")
