"""Many dumps into one dataset: :func:`scan_many`, the layer under ``rdbscan scan SOURCE... -o DIR``.

A fleet scan expands its sources (paths, globs, directories, ``s3://``,
``gs://`` and ``http(s)://`` locations) into dumps, gives each dump a part
``DIR/NAME.parquet`` (a name derived from the dump's location, made distinct
when two would collide, and kept from run to run), and scans the dumps whose
part is missing or out of date in worker processes, biggest first.

A part is up to date when its recorded fingerprint equals the dump's: size
and mtime (or the object's ETag), the model options, the filters, the
schema and the pattern inference version -- the same fingerprint the report
cache uses (:func:`fingerprint`).  So a rerun reuses what is done and an
interrupted run continues where it stopped.

Each dump's outcome is a :class:`DumpResult`: its part, or its one-line
error.  A dump that fails never stops the others.

Work is handed out by the parent, one job at a time per worker (the parent
knows what every worker is doing, so a worker that dies costs only its own
dump).  A job names the decoders it may use (``DumpJob.decoders``): when
fewer dumps than ``jobs`` remain, the spare cores go to the dumps still to
scan, for a scanner that splits one dump into chunks.
"""

import inspect
import multiprocessing
import os
import re
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from rdbscan import __version__, api, storage
from rdbscan.analysis import patterns
from rdbscan.errors import OutputError, RdbscanError
from rdbscan.scanner.parallel import default_jobs  # noqa: F401 (the one definition of the default)
from rdbscan.scanner.records import OUTPUT_SCHEMA

MODEL_OPTIONS = ("server", "target", "config", "allocator", "cluster")
FILTER_OPTIONS = ("db", "types", "match", "min_bytes")
SCHEMA_ID = ";".join(f"{f.name}:{f.type}" for f in OUTPUT_SCHEMA)
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".lz4", ".bz2", ".xz")
DUMP_MAGIC = (b"REDIS", b"VALKEY", b"VKCS", b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18", b"BZh",
              b"\xfd7zXZ")
_TMP = re.compile(r"^\.(.+)\.tmp-(\d+)$")


def is_dump(location):
    """True when a file or object starts like an RDB dump, a compressed file or an AOF with an RDB preamble."""
    head = storage.read_head(location, 9)
    return bool(head) and head.startswith(DUMP_MAGIC)


def _filters(options):
    out = {}
    for k in FILTER_OPTIONS:
        v = options.get(k)
        if v is None or v == () or v == []:
            continue
        out[k] = sorted(v) if isinstance(v, (set, list, tuple)) else v
    return out


def fingerprint(location, options, stat=None):
    """What a scan of ``location`` with ``options`` depends on; a stored scan equal to it is up to date.

    The dump's size and mtime (the ETag for objects that have one), the
    model options, the filters, rdbscan's version, the output schema and the
    pattern inference version.  Shared by fleet parts and the report cache.
    """
    stat = stat or storage.stat(location)
    return {"source": storage.canonical(location), **stat.fingerprint(),
            "options": {k: options.get(k) for k in MODEL_OPTIONS},
            "filters": _filters(options),
            "rdbscan": __version__, "schema": SCHEMA_ID, "patterns": patterns.INFERENCE_VERSION}


def is_current(meta, want):
    """True when a stored scan's metadata records exactly the fingerprint ``want`` and is complete."""
    return bool(meta) and meta.get("cache") == want and not meta.get("partial")


def part_stem(location):
    """A part's base name from its dump's file name: ``dump.rdb.gz`` -> ``dump``."""
    base = storage.basename(location)
    for ext in COMPRESSED_SUFFIXES:
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base[:-4] if base.endswith((".rdb", ".aof")) else base


def _clean(segment):
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", segment).strip("._") or "dump"
    return s[:80]


def part_names(locations, taken=()):
    """A distinct ``NAME.parquet`` for each location, deterministically.

    The name is the dump's stem; where two would collide (``node1/dump.rdb``
    and ``node2/dump.rdb``), parent directories are prefixed until they
    differ (``node1-dump``, ``node2-dump``), and a short hash of the
    location as the last resort.  ``taken`` names are never given out.
    """
    taken = set(taken)
    locations = sorted(set(locations))
    segs = {loc: storage.segments(loc) for loc in locations}
    depth = {loc: 0 for loc in locations}
    names = {}

    def name_at(loc, d):
        parts = segs[loc]
        stem = part_stem(loc)
        if d == 0:
            return _clean(stem) + ".parquet"
        parents = parts[:-1]
        if d > len(parents):
            import hashlib
            digest = hashlib.sha1(loc.encode("utf-8", "surrogateescape")).hexdigest()[:8]
            return f"{_clean(stem)}-{digest}.parquet"
        return "-".join(_clean(p) for p in parents[-d:] + [stem]) + ".parquet"

    remaining = list(locations)
    while remaining:
        cand = {loc: name_at(loc, depth[loc]) for loc in remaining}
        counts = {}
        for n in cand.values():
            counts[n.lower()] = counts.get(n.lower(), 0) + 1
        next_round = []
        for loc in remaining:
            n = cand[loc]
            if counts[n.lower()] > 1 or n.lower() in taken:
                depth[loc] += 1
                next_round.append(loc)
            else:
                names[loc] = n
        for loc in remaining:
            if loc in names:
                taken.add(names[loc].lower())
        remaining = next_round
    return names


@dataclass
class DumpResult:
    """What became of one dump: ``status`` is ``"scanned"``, ``"reused"`` (its part was up to date) or ``"failed"``."""
    source: str                 # the dump's location as expanded from the sources
    part: str = None            # its part (None when it failed without writing one)
    status: str = "failed"
    error: str = None           # the one-line error (file, byte offset, what was expected)
    offset: int = None          # the byte offset of a format error
    keys: int = 0               # rows in the part
    bytes: int = None           # the dump's size
    seconds: float = 0.0
    meta: dict = field(default=None, repr=False)   # the part's file-level facts

    @property
    def ok(self):
        """True unless the dump failed."""
        return self.status != "failed"


class Results(list):
    """One :class:`DumpResult` per dump, in the order the sources named them."""

    @property
    def scanned(self):
        """The dumps scanned in this run."""
        return [r for r in self if r.status == "scanned"]

    @property
    def reused(self):
        """The dumps whose part was already up to date."""
        return [r for r in self if r.status == "reused"]

    @property
    def failed(self):
        """The dumps that failed."""
        return [r for r in self if r.status == "failed"]

    def summary(self):
        """``"15 dumps scanned"`` or ``"14 of 15 dumps scanned; 1 failed"``."""
        ok, total = len(self) - len(self.failed), len(self)
        noun = "dump" if total == 1 else "dumps"
        if not self.failed:
            return f"{total} {noun} scanned"
        return f"{ok} of {total} {noun} scanned; {len(self.failed)} failed"


@dataclass
class DumpJob:
    """One dump to scan into one part (picklable: sent to a worker process)."""
    index: int
    source: str
    part: str
    want: dict
    options: dict
    size: int = None
    decoders: int = 1     # cores this dump may use (for a scanner that splits a dump into chunks)


@dataclass
class Progress:
    """The state of a fleet scan, handed to the ``progress`` callback as it changes."""
    dumps_total: int = 0
    dumps_done: int = 0
    dumps_failed: int = 0
    dumps_reused: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    keys: int = 0
    started: float = field(default_factory=time.monotonic)
    running: dict = field(default_factory=dict)    # job index -> (bytes read, keys)
    finished_bytes: int = 0
    finished_keys: int = 0

    @property
    def elapsed(self):
        """Seconds since the scan started."""
        return time.monotonic() - self.started

    @property
    def keys_per_second(self):
        """Keys scanned per second so far."""
        return self.keys / max(self.elapsed, 1e-6)

    @property
    def eta(self):
        """Seconds left, from the bytes still to read (None before there is a rate)."""
        if not self.bytes_total or self.bytes_done <= 0 or self.bytes_done >= self.bytes_total:
            return None
        return self.elapsed * (self.bytes_total - self.bytes_done) / self.bytes_done

    def _update(self):
        self.bytes_done = self.finished_bytes + sum(b for b, _ in self.running.values())
        self.keys = self.finished_keys + sum(k for _, k in self.running.values())


# -- planning -------------------------------------------------------------------

def _inside(location, directory):
    loc, d = storage.canonical(location), storage.canonical(directory).rstrip("/")
    sep = "/" if storage.is_remote(directory) else os.sep
    return loc == d or loc.startswith(d + sep)


def expand_dumps(sources, out_dir=None):
    """The dumps the SOURCE arguments name, each once, in order: ``[(location, size or None)]``.

    A directory (or object prefix) contributes the dumps in it, recognised by
    their first bytes; a glob or a named file is taken as it is (a file that
    is not a dump then fails on its own).  Raises a one-line error for a
    source that names nothing, and for one that is the run's own output.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    seen, out = set(), []
    for s in sources:
        s = os.fspath(s)
        if s == "-":
            raise RdbscanError("'-' (stdin) can only be scanned alone, into one file")
        for entry in storage.expand(s, keep=is_dump, what="dump"):
            loc = entry.location
            if out_dir is not None and _inside(loc, out_dir) and \
                    (loc.endswith(".parquet") or (not storage.is_remote(loc) and api.is_parquet(loc))):
                raise RdbscanError(f"{s}: names {loc}, a part of the output dataset {out_dir}; "
                                   "a source cannot be the run's own output")
            if not storage.is_remote(loc) and api.is_parquet(loc):
                raise RdbscanError(f"{loc}: a Parquet file, not a dump (rdbscan scan reads dumps; "
                                   "report, sql and diff read Parquet)")
            key = storage.canonical(loc)
            if key in seen:
                continue
            seen.add(key)
            out.append((loc, entry.size))
    return out


def _existing_parts(out_dir):
    """{canonical dump location: part name} for the rdbscan parts already in ``out_dir``, and every file name there."""
    from rdbscan.scanner.sink import read_meta
    owned, names = {}, set()
    for name in storage.list_files(out_dir):
        names.add(name.lower())
        if name.startswith(".") or not name.endswith(".parquet"):
            continue
        try:
            meta = read_meta(storage.join(out_dir, name))
        except Exception:   # not ours, or damaged: its name stays taken, it is not reused
            continue
        src = ((meta or {}).get("cache") or {}).get("source")
        if src and src not in owned:
            owned[src] = (name, meta)
    return owned, names


def _clean_stale_temps(out_dir):
    # Temporary parts of a run that was killed (its process is gone) are removed.
    if storage.is_remote(out_dir):
        return
    for name in storage.list_files(out_dir):
        m = _TMP.match(name)
        if not m:
            continue
        try:
            os.kill(int(m.group(2)), 0)
        except ProcessLookupError:
            storage.delete(storage.join(out_dir, name))
        except (PermissionError, OverflowError, ValueError):
            pass


def _check_out_dir(out_dir):
    out_dir = os.fspath(out_dir)
    if storage.is_url(out_dir):
        url = storage.parse_url(out_dir)
        if url.scheme not in storage.OBJECT_SCHEMES + ("file",):
            raise OutputError(f"{out_dir}: cannot write to {url.scheme}:// (write to a path, s3:// or gs://)")
    k = storage.kind(out_dir)
    if k == "file":
        raise OutputError(f"{out_dir}: exists and is a file; with a dataset -o names a directory")
    return out_dir


# -- running --------------------------------------------------------------------

# A scanner that splits one dump into chunks takes ``jobs`` (decoder threads):
# a worker passes on the share of cores its dump was given.
SCAN_ACCEPTS_JOBS = "jobs" in inspect.signature(api.ScanBatches.__init__).parameters


def run_job(job, emit=None):
    """Scan one dump into its part; returns a :class:`DumpResult` (never raises for a bad dump).

    ``emit(event)`` receives ``("progress", index, bytes_read, keys)`` now and then.
    """
    started = time.monotonic()
    last = [0.0]

    def progress(offset, raw_pos, size, rows):
        now = time.monotonic()
        if emit is not None and now - last[0] >= 0.2:
            last[0] = now
            emit(("progress", job.index, raw_pos if raw_pos is not None else offset, rows))

    options = dict(job.options)
    if SCAN_ACCEPTS_JOBS:
        options["jobs"] = job.decoders
    try:
        meta = api.scan(job.source, job.part, extra_meta={"cache": job.want}, progress=progress, **options)
    except RdbscanError as e:
        kept = getattr(e, "partial_output", None)
        return DumpResult(job.source, job.part if kept else None, "failed", str(e), getattr(e, "offset", None),
                          kept[1] if kept else 0, job.size, time.monotonic() - started)
    except Exception as e:   # a bug of ours: this dump fails, the others go on
        return DumpResult(job.source, None, "failed", f"{job.source}: internal error: {type(e).__name__}: {e}",
                          None, 0, job.size, time.monotonic() - started)
    return DumpResult(job.source, job.part, "scanned", None, None, meta.get("rows_written", 0),
                      job.size, time.monotonic() - started, meta)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def _worker_main(conn):
    # The parent stops workers with SIGTERM; turning it into SystemExit lets
    # the sink drop its temporary file.  Ctrl-C is the parent's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        api.lean_memory_pool()
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return
            if job is None:
                return
            conn.send(("done", job.index, run_job(job, conn.send)))
    except (SystemExit, BrokenPipeError):
        return


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child,), name="rdbscan-worker", daemon=True)
        self.proc.start()
        child.close()
        self.job = None

    def stop(self, timeout):
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(timeout)

    def terminate(self):
        if self.proc.is_alive():
            self.proc.terminate()     # SIGTERM: the worker drops its temporary file
            self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def _context():
    # fork is fast (no re-import), but not once this process holds a cloud
    # SDK's threads and connections; then workers start afresh.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and not storage.remote_clients_started:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _death(worker):
    code = worker.proc.exitcode
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code).name
        except ValueError:
            sig = f"signal {-code}"
        why = f"killed by {sig}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    else:
        why = f"exit status {code}"
    return f"{worker.job.source}: the worker process scanning it died ({why})"


def _assign_decoders(jobs, pending, running):
    # Spare cores go to the dumps in hand once fewer dumps than jobs remain.
    left = len(pending) + running
    return max(1, jobs // max(left, 1)) if left < jobs else 1


def start_workers(n):
    """Start ``n`` idle worker processes (to hand to :func:`run_jobs`)."""
    ctx = _context()
    return [_Worker(ctx) for _ in range(n)]


def stop_workers(workers):
    """Stop idle workers (a no-op for those already stopped)."""
    for w in workers:
        w.stop(10)
    for w in workers:
        w.terminate()


def run_jobs(job_list, jobs, on_event, workers=None):
    """Run ``job_list`` on ``jobs`` worker processes (in this process when one is enough).

    ``on_event`` receives progress events and ``("done", index, DumpResult)``
    as they happen.  Biggest dumps go first, so the last to finish is small.
    ``workers`` started beforehand (:func:`start_workers`) are used and stopped.
    """
    pending = sorted(job_list, key=lambda j: (-(j.size or 0), j.index))
    if jobs <= 1 or len(pending) <= 1:
        if workers:
            stop_workers(workers)
        for job in pending:
            job.decoders = jobs
            on_event(("done", job.index, run_job(job, on_event)))
        return
    ctx = _context()
    wanted = min(jobs, len(pending))
    workers = list(workers or [])
    stop_workers(workers[wanted:])
    workers = workers[:wanted] + [_Worker(ctx) for _ in range(wanted - len(workers))]
    try:
        while pending or any(w.job for w in workers):
            for w in workers:
                if w.job is None and pending:
                    w.job = pending.pop(0)
                    w.job.decoders = _assign_decoders(jobs, pending, sum(1 for x in workers if x.job))
                    w.conn.send(w.job)
            busy = [w for w in workers if w.job is not None]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=0.5)
            for w in busy:
                if w.conn in ready:
                    try:
                        while w.conn.poll():
                            event = w.conn.recv()
                            if event[0] == "done":
                                w.job = None
                            on_event(event)
                            if w.job is None:
                                break
                    except (EOFError, OSError):
                        pass
                if w.job is not None and not w.proc.is_alive() and not w.conn.poll():
                    w.proc.join()
                    on_event(("done", w.job.index,
                              DumpResult(w.job.source, None, "failed", _death(w), None, 0, w.job.size)))
                    w.job = None
                    workers[workers.index(w)] = _Worker(ctx) if pending else w
    except BaseException:
        for w in workers:
            w.terminate()
        raise
    stop_workers(workers)


def scan_many(sources, out_dir, *, jobs=None, progress=None, on_result=None, compression="zstd",
              keep_going=False, verify=True, pure=False, batch_size=65536,
              db=None, types=None, match=None, min_bytes=None, **model_options):
    """Scan every dump the ``sources`` name into the dataset directory ``out_dir``; one result per dump.

    ``sources``: paths, globs, directories, ``s3://``/``gs://`` objects,
    prefixes and globs, ``http(s)://`` URLs.  ``out_dir``: a local directory
    (created if missing) or an ``s3://``/``gs://`` prefix.  Each dump becomes
    ``out_dir/NAME.parquet`` (see :func:`part_names`) with its file-level
    facts, written under a temporary name and renamed when complete.  A part
    that is up to date (see :func:`fingerprint`) is reused, not rescanned.

    ``jobs`` worker processes (default: the machine's cores) scan dumps in
    parallel.  ``progress(state)`` receives a :class:`Progress` as the run
    advances; ``on_result(result)`` each :class:`DumpResult` as it is known.
    The other options are those of :func:`rdbscan.scan` (filters, model
    options, ``compression``, ``keep_going``, ``verify``, ``pure``).

    Returns :class:`Results` (a list of :class:`DumpResult`, in source
    order).  A dump that fails is reported in its result, and the others
    still complete.  Raises :class:`~rdbscan.RdbscanError` before writing
    anything when a source names nothing (no such file, a glob matching
    nothing, a directory without dumps, an unknown URL scheme, a missing
    bucket), when a source is the run's own output, or when ``out_dir`` is a
    file.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    sources = [os.fspath(s) for s in sources]
    workers = []
    if jobs > 1 and not storage.remote_clients_started and "fork" in multiprocessing.get_all_start_methods() \
            and any(storage.is_remote(x) for x in sources + [os.fspath(out_dir)]):
        # Fork the workers before this process starts a cloud client (listing
        # the sources does), so that they need not start afresh.
        workers = start_workers(jobs)
    try:
        return _scan_many(sources, out_dir, jobs, workers, progress, on_result, dict(
            db=db, types=types, match=match, min_bytes=min_bytes, verify=verify, pure=pure,
            batch_size=batch_size, keep_going=keep_going, compression=compression, **model_options))
    finally:
        stop_workers(workers)


def _scan_many(sources, out_dir, jobs, workers, progress, on_result, options):
    out_dir = _check_out_dir(out_dir)
    found = expand_dumps(sources, out_dir)
    if not found:
        raise RdbscanError("no input: name a dump, a directory, a glob or a URL")
    storage.make_dirs(out_dir)
    _clean_stale_temps(out_dir)
    owned, names_present = _existing_parts(out_dir)
    canon = [storage.canonical(loc) for loc, _ in found]
    fixed = {c: owned[c][0] for c in canon if c in owned}
    # every file name already there stays taken (a part of a dump not in this run included)
    fresh = part_names([c for c in canon if c not in fixed], names_present)
    names = {**fixed, **fresh}

    state = Progress()
    results = [None] * len(found)
    job_list = []
    for i, ((loc, size), c) in enumerate(zip(found, canon)):
        part = storage.join(out_dir, names[c])
        try:
            st = storage.stat(loc)
        except RdbscanError as e:
            results[i] = DumpResult(loc, None, "failed", str(e), None, 0, size)
            continue
        want = fingerprint(loc, options, st)
        if c in owned and is_current(owned[c][1], want):
            meta = owned[c][1]
            results[i] = DumpResult(loc, part, "reused", None, None, meta.get("rows_written", 0), st.size, 0.0, meta)
            continue
        scan_options = {k: v for k, v in options.items() if v is not None}
        job_list.append(DumpJob(i, loc, part, want, scan_options, st.size))

    state.dumps_total = len(found)
    state.bytes_total = sum(j.size or 0 for j in job_list)
    for r in results:
        if r is not None:
            state.dumps_done += 1
            state.dumps_reused += r.status == "reused"
            state.dumps_failed += r.status == "failed"
            if on_result:
                on_result(r)
    if progress:
        progress(state)

    def on_event(event):
        kind, index = event[0], event[1]
        if kind == "progress":
            state.running[index] = (event[2] or 0, event[3] or 0)
        elif kind == "done":
            result = event[2]
            if not result.ok and result.part is None and canon[index] in owned:
                # reports over DIR would still read the old part: say so
                result.error += f" ({storage.join(out_dir, owned[canon[index]][0])}, from an earlier scan, is kept)"
            results[index] = result
            state.running.pop(index, None)
            state.dumps_done += 1
            state.dumps_failed += not result.ok
            state.finished_bytes += result.bytes or 0
            state.finished_keys += (result.meta or {}).get("rows", result.keys) if result.ok else 0
            if on_result:
                on_result(result)
        state._update()
        if progress:
            progress(state)

    run_jobs(job_list, jobs, on_event, workers)
    return Results(results)
