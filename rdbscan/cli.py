"""The ``rdbscan`` command line: a thin layer over :mod:`rdbscan.api`."""

import json
import os
import re
import shutil
import sys
import time

import click

from rdbscan import __version__
from rdbscan.errors import RdbscanError

# Commands import what they need (the API brings pyarrow, reports bring
# DuckDB) when they run, so that --help and start-up stay fast.

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]?i?b?)$")


def parse_size(text):
    """``"10MB"`` -> 10000000, ``"64KiB"`` -> 65536, ``"512"`` -> 512."""
    m = _SIZE.match(str(text).strip().lower().replace("_", ""))
    if not m or m.group(2) not in _UNITS:
        raise click.BadParameter(f"not a size: {text!r} (examples: 512, 64KiB, 10MB)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


class SizeType(click.ParamType):
    """A byte size with an optional unit."""
    name = "size"

    def convert(self, value, param, ctx):
        """Parse the option's text into bytes."""
        return value if isinstance(value, int) else parse_size(value)


def _human(n):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000


class Progress:
    """A one-line progress display on a terminal: bytes, keys, keys/s, ETA."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, offset, raw_pos, size, keys):
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        done = raw_pos if raw_pos is not None else offset
        parts = [_human(done) + (f" / {_human(size)}" if size else "")]
        if size and done:
            frac = min(done / size, 1.0)
            parts.append(f"{frac * 100:5.1f}%")
            if frac > 0.01:
                eta = elapsed * (1 - frac) / frac
                parts.append(f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")
        parts.append(f"{keys:,} keys")
        parts.append(f"{keys / elapsed / 1e6:.2f} M keys/s")
        self._show(parts)

    def _show(self, parts):
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self.stream.write("\r" + "  ".join(parts)[:width] + "\033[K")
        self.stream.flush()
        self.shown = True

    def done(self):
        """Clear the progress line."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


_progress = None   # the progress line on screen, cleared before any message


def _say(message):
    if _progress is not None:
        _progress.done()
    click.echo(f"rdbscan: {message}", err=True)


def _fail(e, debug):
    if debug:
        import traceback
        traceback.print_exc()
    kept = getattr(e, "partial_output", None)
    if kept:
        _say(f"kept the {kept[1]:,} keys before the fault in {kept[0]} (marked partial)")
    _say(e)
    sys.exit(2)


def _run(debug, fn, *args, **kwargs):
    _lean_memory_pool()
    return _guarded(debug, fn, *args, **kwargs)


def _guarded(debug, fn, *args, **kwargs):
    # _run without importing anything: a fleet rerun with nothing to scan never loads pyarrow.
    try:
        return fn(*args, **kwargs)
    except RdbscanError as e:
        _fail(e, debug)
    except KeyboardInterrupt:
        name = getattr(fn, "__name__", "")
        if name == "scan":
            _say("interrupted; nothing was written")
        elif name == "scan_many":
            _say("interrupted; the parts completed so far are kept: run the same command again to continue")
        else:
            _say("interrupted")
        sys.exit(130)
    except Exception as e:  # a bug of ours: still one line unless --debug
        if debug:
            raise
        _say(f"internal error: {type(e).__name__}: {e} (run with --debug for details)")
        sys.exit(3)


_pool_set = False


def _scan_api():
    """The API, for commands that only scan (scan, info): pyarrow without NumPy (see :func:`rdbscan.process.scan_api`)."""
    from rdbscan import process
    return process.scan_api()


def _lean_memory_pool():
    # Once, before the first command that uses pyarrow (see api.lean_memory_pool).
    global _pool_set
    if _pool_set:
        return
    _pool_set = True
    from rdbscan import api
    api.lean_memory_pool()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rdbscan")
def main():
    """Offline analyzer for Redis and Valkey RDB snapshots.

    \b
    rdbscan scan dump.rdb -o keys.parquet   # one row per key, into Parquet
    rdbscan info dump.rdb                   # file-level facts of a dump or Parquet
    """


_common_filters = [
    click.option("--db", "dbs", type=click.IntRange(0, 65535), multiple=True,
                 help="Only this database (repeatable)."),
    click.option("--type", "types", multiple=True,
                 help="Only keys of this type: string, list, set, zset, hash, stream or a module type name (repeatable)."),
    click.option("--match", help="Only keys matching this Redis glob, e.g. 'user:*'."),
    click.option("--min-bytes", type=SizeType(),
                 help="Only keys at least this big (memory_bytes when known, else serialized_bytes), e.g. 10KB."),
]


def _filters(f):
    for opt in reversed(_common_filters):
        f = opt(f)
    return f


_model_options = [
    click.option("--redis-version", "server",
                 help="The server that wrote the dump, when its aux fields are wrong or missing (7.2.4, valkey-8.0)."),
    click.option("--target-version", "target",
                 help="What-if: estimate memory_bytes and encoding as this release would load the dump (8.0, valkey-8.0)."),
    click.option("--config", type=click.Path(dir_okay=False),
                 help="redis.conf / valkey.conf whose *-max-listpack-* / set-max-intset-entries settings apply."),
    click.option("--allocator", type=click.Choice(["jemalloc", "jemalloc-16", "libc"]),
                 help="jemalloc: the allocator Redis bundles (default); jemalloc-16: distribution packages "
                      "(Debian, Ubuntu) linking the system jemalloc with a 16-byte quantum; libc: a server "
                      "built with MALLOC=libc (glibc malloc).  `rdbscan info` shows which fits the dump's used-mem."),
    click.option("--cluster/--no-cluster", default=None,
                 help="Whether the server ran in cluster mode (default: when the dump carries slot info, or, "
                      "for 7.0/7.2, when its keys occupy a few slot ranges: a note says so)."),
]


def _model(f):
    for opt in reversed(_model_options):
        f = opt(f)
    return f


class FleetProgress(Progress):
    """The one progress line of a fleet scan: dumps done/total, bytes, keys/s, ETA."""

    def __call__(self, state):
        now = time.monotonic()
        if now - self.last < 0.2 and state.dumps_done < state.dumps_total:
            return
        self.last = now
        parts = [f"{state.dumps_done}/{state.dumps_total} dumps"]
        if state.bytes_total:
            parts.append(f"{_human(state.bytes_done)} / {_human(state.bytes_total)}")
            parts.append(f"{min(state.bytes_done / state.bytes_total, 1.0) * 100:5.1f}%")
        parts.append(f"{state.keys:,} keys")
        parts.append(f"{state.keys_per_second / 1e6:.2f} M keys/s")
        if state.eta is not None:
            eta = int(state.eta)
            parts.append(f"ETA {eta // 60}:{eta % 60:02d}")
        if state.dumps_failed:
            parts.append(f"{state.dumps_failed} failed")
        self._show(parts)


def _one_file_source(sources, output):
    """The single dump to scan into one file as before, or None for a dataset directory.

    ``-o`` names a dataset directory when it ends with a slash or is one, or
    when the sources are several (or a directory, a prefix or a glob) and it
    does not end with ``.parquet``.
    """
    import os
    from rdbscan import fleet, storage
    if output is not None and (output.endswith("/") or storage.kind(output) == "dir"):
        return None
    if len(sources) == 1:
        s = sources[0]
        remote = storage.is_remote(s)
        plain = s == "-" or (not storage.has_glob(s.split("://", 1)[1] if remote else s)
                             and not s.endswith("/") and (remote or not os.path.isdir(storage.local_path(s))))
        if plain:
            return s
    if output is None:
        raise RdbscanError(f"{' '.join(sources)}: several dumps (or a directory, prefix or glob): "
                           "give -o DIR, the dataset directory to write one Parquet file per dump into")
    if not output.lower().endswith(".parquet"):
        return None
    found = fleet.expand_dumps(sources)
    if len(found) != 1:
        raise RdbscanError(f"{output}: names one Parquet file, but the sources name {len(found)} dumps; "
                           "give a directory (-o DIR) for a dataset")
    return found[0][0]


@main.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("-o", "--output",
              help="With one dump: the Parquet file to write (default: NAME.parquet beside the dump; "
                   "./dump.parquet for stdin). With several: the dataset directory (local, s3:// or gs://).")
@_filters
@_model
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Cores to use (default: all): decoders for one dump, dumps at once for several "
                   "(see below).")
@click.option("--compression", type=click.Choice(["zstd", "lz4", "snappy", "none"]), default="zstd",
              show_default=True, help="Parquet compression.")
@click.option("--keep-going", is_flag=True,
              help="On a malformed dump, still write the keys parsed before the fault (marked partial); exit 2.")
@click.option("--no-verify", is_flag=True, help="Do not check the CRC64 at the end of the dump.")
@click.option("--pure", is_flag=True, help="Use the pure-Python scanner (slow; for debugging; one decoder).")
@click.option("--chunk-size", type=SizeType(),
              help="With one dump and several jobs: the size of the chunks it is cut into (default: adaptive, "
                   "about 16k keys each, 256KiB to 16MiB).")
@click.option("-q", "--quiet", is_flag=True, help="No progress display and no summary (errors are still shown).")
@click.option("--debug", is_flag=True, help="Show Python tracebacks on errors.")
def scan(sources, output, dbs, types, match, min_bytes, server, target, config, allocator, cluster,
         jobs, compression, keep_going, no_verify, pure, chunk_size, quiet, debug):
    """Stream dumps into Parquet: one row per key.

    SOURCE is an RDB file (also gzip/zstd/lz4/bzip2/xz-compressed, or an AOF
    with an RDB preamble), - for stdin, a directory, a glob, or a URL:
    s3://BUCKET/KEY, gs://BUCKET/KEY (an object, a prefix or a glob) or
    http(s)://. One dump is written to one file (-o FILE.parquet); several
    make a dataset directory (-o DIR): one Parquet file per dump, scanned in
    parallel, each reused on a rerun while its dump is unchanged.

    --jobs N (default: the machine's cores) is how many cores the scan
    uses (without it, one dump on a two-core machine gets one decoder:
    the Parquet writer needs the other core).  One uncompressed dump in a file is cut into chunks decoded by N
    threads, with the same result as one decoder; gzip/zstd/lz4/bzip2/xz
    input, stdin and URLs are decoded by one.  Several dumps are scanned N
    at a time, and once fewer than N remain the spare cores decode their
    chunks.

    \b
    Examples:
      rdbscan scan dump.rdb -o keys.parquet
      rdbscan scan dump.rdb.gz --db 0 --type hash --match 'user:*'
      rdbscan scan big.rdb --jobs 8 -o keys.parquet
      ssh replica 'cat /var/lib/redis/dump.rdb' | rdbscan scan - -o keys.parquet
      rdbscan scan 'backups/*/dump.rdb' -o fleet/ --jobs 4
      rdbscan scan s3://backups/redis/2024-06-01/ -o s3://analysis/redis/2024-06-01/
    """
    global _progress
    compression = None if compression == "none" else compression
    model = dict(server=server, target=target, config=config, allocator=allocator, cluster=cluster)
    filters = dict(db=dbs, types=types, match=match, min_bytes=min_bytes)
    single = _guarded(debug, _one_file_source, sources, output)
    if single is None:
        return _scan_fleet(sources, output, filters, model, jobs, compression, keep_going, no_verify, pure,
                           quiet, debug)
    api = _scan_api()
    progress = _progress = Progress() if (not quiet and sys.stderr.isatty()) else None
    try:
        meta = _run(debug, api.scan, single, output, compression=compression,
                    keep_going=keep_going, verify=not no_verify, pure=pure, progress=progress,
                    chunk_size=chunk_size, jobs=jobs, **filters, **model)
    finally:
        if progress:
            progress.done()
    if not quiet:
        for note in meta.get("notes", []):
            click.echo(f"rdbscan: note: {note}", err=True)
        dbs_text = ", ".join(f"db{db} {c['keys']:,}" for db, c in meta["dbs"].items()) or "no keys"
        click.echo(
            f"{meta['output']}: {meta['rows_written']:,} keys written ({dbs_text}); "
            f"{meta['server']}, RDB {meta['rdb_version']}, CRC {meta['crc']}, "
            f"{_human(meta['memory']['keys_total'])} estimated"
            f"{' as ' + meta['model']['server'] + ' (what-if)' if meta['model']['what_if'] else ''}, "
            f"{meta['parse_seconds']:.2f} s", err=True)


def _scan_fleet(sources, out_dir, filters, model, jobs, compression, keep_going, no_verify, pure, quiet, debug):
    global _progress
    from rdbscan import fleet
    progress = _progress = FleetProgress() if (not quiet and sys.stderr.isatty()) else None
    started = time.monotonic()

    def said(result):
        if result.status == "failed":
            _say(result.error)
        elif result.status == "scanned" and not quiet:
            for note in (result.meta or {}).get("notes", []):
                _say(f"note: {result.source}: {note}")
    try:
        # pyarrow is loaded (without NumPy) only when a dump is to be scanned: a rerun with
        # nothing changed reads the dataset's manifest and stats files, nothing more.
        results = _guarded(debug, fleet.scan_many, list(sources), out_dir, jobs=jobs, progress=progress,
                           on_result=said, compression=compression, keep_going=keep_going,
                           verify=not no_verify, pure=pure, prepare=_scan_api, **filters, **model)
    finally:
        if progress:
            progress.done()
    if not quiet:
        keys = sum(r.keys for r in results if r.ok)
        done = [f"{len(results.scanned)} scanned"]
        if results.reused:
            done.append(f"{len(results.reused)} reused (up to date)")
        if results.failed:
            done.append(f"{len(results.failed)} failed")
        click.echo(f"{out_dir}: {len(results)} dumps, {keys:,} keys; {', '.join(done)}; "
                   f"{time.monotonic() - started:.2f} s", err=True)
    if results.failed:
        _say(results.summary())
        sys.exit(2)


def _format_info(meta):
    lines = []

    def row(name, value):
        lines.append(f"{name:<18}{value}")

    row("source", f"{meta.get('source')}" + (f" ({_human(meta['source_bytes'])})" if meta.get("source_bytes") else "")
        + (f", {meta['compression']}-compressed" if meta.get("compression") else ""))
    row("magic", f"{meta.get('magic')}  (RDB version {meta.get('rdb_version')}, {meta.get('flavor')})")
    row("server", f"{meta.get('server')}  (from {meta.get('server_from')})")
    for k, v in meta.get("aux", {}).items():
        row(f"aux {k}", v)
    for db, c in meta.get("dbs", {}).items():
        hint = meta.get("resizedb", {}).get(db)
        hint_text = f"  (RESIZEDB hint {hint['keys']:,} / {hint['expires']:,})" if hint else ""
        row(f"db {db}", f"{c['keys']:,} keys, {c['expires']:,} with expiry{hint_text}")
    for lib in meta.get("functions", []):
        row("function library", f"{lib['name']} ({lib['engine']}, {lib['bytes']:,} bytes)")
    for mod in meta.get("module_aux", []):
        row("module aux", f"{mod['module']} encver {mod['encver']}, {mod['bytes']:,} bytes")
    if meta.get("module_types"):
        row("module types", ", ".join(meta["module_types"]))
    if meta.get("slot_info"):
        slots = meta["slot_info"]
        volatile = sum(s[3] for s in slots if len(s) > 3)
        row("slot info", f"{len(slots):,} slots, {sum(s[1] for s in slots):,} keys, "
                         f"{sum(s[2] for s in slots):,} with expiry"
            + (f", {volatile:,} with field TTLs" if any(len(s) > 3 for s in slots) else ""))
        check = meta.get("slot_info_check")
        if check:
            row("", "matches the keys in every slot" if not check["slots_mismatched"] else
                f"WARNING: disagrees with the keys in {check['slots_mismatched']:,} slots (see notes)")
    for job in meta.get("slot_imports", []):
        ranges = ", ".join(f"{a}-{b}" for a, b in job["ranges"])
        row("slot import", f"job {job['job']}: slots {ranges}")
    if meta.get("key_meta"):
        row("key metadata", ", ".join(f"{name} on {n:,} keys" for name, n in sorted(meta["key_meta"].items())))
    if meta.get("hash_templates"):
        row("hash templates", f"{meta['hash_templates']:,}")
    memory = meta.get("memory")
    if memory:
        model = meta.get("model", {})
        what_if = " (what-if)" if model.get("what_if") else ""
        row("memory", f"{_human(memory['keys_total'])} in keys by MEMORY USAGE as {model.get('server')}{what_if}, "
                      f"allocator {model.get('allocator')}")
        row("", f"+ {_human(memory['main_dict_buckets'])} main-dict buckets + {_human(memory['expires'])} "
                f"expires = {_human(memory['estimated_total'])}"
            + (f"; the dump's used-mem: {_human(memory['used_mem_aux'])}" if memory.get("used_mem_aux") else ""))
        for r in memory.get("by_allocator") or []:
            share = f"{100 * r['share_of_used_mem']:.1f} % of used-mem, {r['fit']}" \
                if r.get("share_of_used_mem") is not None else "no used-mem to compare"
            row("", f"under {r['allocator']}: {_human(r['estimated_total'])} ({share})"
                    + ("  <- assumed" if r["allocator"] == model.get("allocator") else ""))
        if memory.get("allocator_note"):
            row("note", memory["allocator_note"])
    row("crc64", meta.get("crc"))
    row("rows", f"{meta.get('rows', 0):,} scanned, {meta.get('rows_written', 0):,} written")
    row("parse time", f"{meta.get('parse_seconds')} s ({meta.get('scanner')} scanner)")
    if meta.get("partial"):
        row("PARTIAL", f"stopped at byte {meta['partial']['offset']}: {meta['partial']['error']}")
    for note in meta.get("notes", []):
        row("note", note)
    return "\n".join(lines)


@main.command()
@click.argument("source")
@_model
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
@click.option("--no-verify", is_flag=True, help="Do not check the CRC64 of a dump.")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Decoder threads for a dump (default: the machine's cores, one on two cores or fewer; "
                   "compressed input and stdin: one).")
@click.option("--chunk-size", type=SizeType(), help="With several jobs: the size of the chunks a dump is cut into.")
@click.option("--debug", is_flag=True, help="Show Python tracebacks on errors.")
def info(source, server, target, config, allocator, cluster, as_json, no_verify, jobs, chunk_size, debug):
    """File-level facts of a dump or of a Parquet file written by rdbscan.

    Magic and RDB version, the writing server, every aux field, function
    libraries, module aux data, keys per db with RESIZEDB hints, cluster slot
    info, the CRC result, rows and parse time.

    \b
    Examples:
      rdbscan info dump.rdb
      rdbscan info keys.parquet --json
    """
    api = _scan_api()
    meta = _run(debug, api.info, source, verify=not no_verify, server=server, target=target,
                config=config, allocator=allocator, cluster=cluster, jobs=jobs, chunk_size=chunk_size)
    if as_json:
        click.echo(json.dumps(meta, indent=2, default=str))
    else:
        click.echo(_format_info(meta))


_dataset_options = [
    click.option("--db", "dbs", type=click.IntRange(0, 65535), multiple=True, help="Only this database (repeatable)."),
    click.option("--type", "types", multiple=True, help="Only keys of this type (repeatable)."),
    click.option("--match", help="Only keys matching this Redis glob, e.g. 'user:*'."),
    click.option("--delimiters", default=":/|.-_", show_default=True,
                 help="Characters that separate key segments when inferring patterns."),
    click.option("--depth", type=click.IntRange(0), default=0,
                 help="Fold patterns into their first N segments (user:{id}:profile at 1 is user:*); 0: no folding."),
    click.option("--pattern-rules", "pattern_rules", multiple=True,
                 help="A file of pattern rules (globs or re:REGEX, '=> name'), or one rule; tried before inference."),
    click.option("--cache-dir", type=click.Path(file_okay=False),
                 help="Where scans of dumps are cached (default: beside the dump, else ~/.cache/rdbscan)."),
    click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown", "html"]),
                 default="table", show_default=True,
                 help="Output format; html: one self-contained page of charts and tables (with -o FILE)."),
    click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the output to this file."),
    click.option("--debug", is_flag=True, help="Show Python tracebacks on errors."),
]


def _dataset(f):
    f = _model(f)
    for opt in reversed(_dataset_options):
        f = opt(f)
    return f


def _open(sources, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, model, debug, materialize):
    from rdbscan.analysis import dataset

    def said(r):
        if r.cached:
            _say(f"using the cached scan of {r.dump}: {r.parquet}")
        else:
            _say(f"scanned {r.dump} ({r.meta.get('rows_written', 0):,} keys) into {r.parquet} "
                 "(reused while the dump is unchanged)")
    if not sources:
        _fail(RdbscanError("give a SOURCE: a dump, a Parquet file from rdbscan scan, a directory or a glob"), debug)
    return _run(debug, dataset.open_dataset, list(sources), cache_dir=cache_dir, on_scan=said, db=dbs,
                types=types, match=match, delimiters=delimiters, depth=depth, rules=list(pattern_rules),
                materialize=materialize, **model)


def _emit(text, output, debug, open_page=False):
    temporary = open_page and not output
    if temporary:                     # --open without -o: the page goes to a file of its own
        import tempfile
        fd, output = tempfile.mkstemp(prefix="rdbscan-", suffix=".html")
        os.close(fd)
    if output:
        from rdbscan.scanner.sink import write_text_atomic
        _run(debug, write_text_atomic, output, text)
        if temporary:
            _say(f"wrote {output}")
    else:
        click.echo(text, nl=False)
    if open_page:
        _open_in_browser(output)


_open_page_option = click.option(
    "--open", "open_page", is_flag=True,
    help="Open the HTML page in the default browser when there is a display (implies --format html; "
         "without -o the page goes to a temporary file).")


def _page_format(fmt, output, open_page, debug):
    """The format to write: --open means html; an HTML page is not printed on a terminal."""
    if open_page:
        source = click.get_current_context().get_parameter_source("fmt")
        if fmt != "html" and source is not click.core.ParameterSource.DEFAULT:
            _fail(RdbscanError(f"--open shows an HTML page: use it with --format html, not {fmt}"), debug)
        return "html"
    if fmt == "html" and not output and sys.stdout.isatty():
        _fail(RdbscanError("--format html writes a whole page: give -o FILE (or --open to see it now)"), debug)
    return fmt


def _has_display():
    """Whether a browser window can be shown: always on macOS and Windows, else with an X11 or Wayland display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_in_browser(path):
    import pathlib
    import webbrowser
    if not _has_display():
        _say(f"no display (DISPLAY and WAYLAND_DISPLAY are unset), so no browser opened: the page is {path}")
        return
    try:
        opened = webbrowser.open(pathlib.Path(path).resolve().as_uri())
    except webbrowser.Error:
        opened = False
    _say(f"opened {path} in the browser" if opened else f"found no browser to open {path}: open it yourself")


@main.command(context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, metavar="[SECTION]... SOURCE...")
@_dataset
@click.option("--top", type=click.IntRange(1), default=10, show_default=True, help="Rows per ranked table.")
@click.option("--maxmemory", type=SizeType(), help="eviction: each server's limit to test (default: each dump's used-mem).")
@click.option("--idle", "idle", type=click.IntRange(0), default=86400, show_default=True,
              help="idle, eviction: seconds without access that make a key cold.")
@click.option("--max-moves", type=click.IntRange(1), default=50, show_default=True,
              help="rebalance: the most slot-range moves in the plan.")
@click.option("--scenario", "scenarios", multiple=True, metavar="SPEC",
              help="whatif: a scenario, comma-separated changes to the as-is model: a release (7.2, 8.6, "
                   "valkey-8.1), limits (hash-max-listpack-entries=512), allocator=jemalloc|jemalloc-16|libc, "
                   "cluster=yes|no.  Repeat for more; default: the newest Redis and Valkey layouts and "
                   "compact encodings.")
@click.option("--list", "list_sections", is_flag=True, help="List the sections and exit.")
@_open_page_option
def report(args, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, fmt, output, debug,
           server, target, config, allocator, cluster, top, maxmemory, idle, max_moves, scenarios, list_sections,
           open_page):
    """Reports over one or more scans: every section, or those named.

    SECTION is one of summary, memmap, bigkeys, sizes, patterns, nottl,
    ttl, idle, hot, eviction, whatif, advice, streams, slots, shards,
    rebalance (default: all but whatif; shards and rebalance when there are
    several dumps; name whatif, with advice to have the advice cite its
    scenarios).  SOURCE is a dump
    (scanned once and cached), a Parquet file from 'rdbscan scan', a
    directory or a glob; several add up, and ranked tables name each row's
    source.  Each section's SQL is a file in the package: 'rdbscan sql
    --show SECTION' prints it.  whatif needs the dumps (its scan keeps every
    key's model inputs; the cache beside the dump holds them).

    \b
    Examples:
      rdbscan report dump.rdb
      rdbscan report bigkeys dump.rdb --top 20 --type hash
      rdbscan report patterns 'shards/*.parquet' --depth 2 --format markdown
      rdbscan report eviction dump.rdb --maxmemory 4GB
      rdbscan report nottl dump.rdb --format json -o nottl.json
      rdbscan report shards node-*/dump.rdb
      rdbscan report rebalance 'backups/2024-06-01/*.rdb' --format markdown
      rdbscan report dump.rdb --format html -o report.html --open
      rdbscan report whatif dump.rdb
      rdbscan report whatif dump.rdb --scenario valkey-8.1 --scenario hash-max-listpack-entries=1024,allocator=libc
    """
    from rdbscan.render import formats as out
    from rdbscan.analysis import reports
    if list_sections:
        for name in reports.SECTIONS:
            description, _ = reports.parse(reports.sql_text(name))
            click.echo(f"{name:<10}{reports._title(description)}")
        return
    fmt = _page_format(fmt, output, open_page, debug)
    sections = []       # none named: every section (shards and rebalance when there are several dumps)
    args = list(args)
    while args and args[0] in reports.SECTIONS + ("all",) and not _exists(args[0]):
        chosen = args.pop(0)
        if chosen != "all" and chosen not in sections:
            sections.append(chosen)
    model = dict(server=server, target=target, config=config, allocator=allocator, cluster=cluster)
    chosen_scenarios = None
    if "whatif" in sections:
        from rdbscan.analysis import whatif
        chosen_scenarios = _run(debug, whatif.scenarios_from_specs, list(scenarios))
        model["whatif_slots"] = whatif.slots_for(chosen_scenarios)
        model["whatif_conv"] = whatif.conv_limits_for(chosen_scenarios)
    elif scenarios:
        _fail(RdbscanError("--scenario applies to the whatif section"), debug)
    ds = _open(args, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, model, debug,
               materialize=False)
    with ds:
        result = _run(debug, reports.run, ds, sections, scenarios=chosen_scenarios, top=top, maxmemory=maxmemory,
                      idle=idle, max_moves=max_moves)
        _emit(out.render(result, fmt, ds.files), output, debug, open_page)


def _exists(path):
    import os
    return os.path.exists(path)


@main.command()
@click.argument("query", required=False)
@click.argument("sources", nargs=-1)
@_dataset
@click.option("--show", "show", metavar="SECTION", help="Print the SQL of a report section and exit.")
@_open_page_option
def sql(query, sources, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, fmt, output, debug,
        server, target, config, allocator, cluster, show, open_page):
    """Run a SQL query (DuckDB) over scans, with the report views.

    \b
    Views:
      keys           one row per key: the scan columns, plus file and pattern
      meta           one row per file: server, RDB version, snapshot_time, used_mem, ...
      pattern_stats  keys and memory per (db, type, pattern), with and without TTL

    \b
    Examples:
      rdbscan sql "SELECT type, sum(memory_bytes) FROM keys GROUP BY ALL" dump.rdb
      rdbscan sql "SELECT key, memory_bytes FROM keys WHERE pattern = 'session:{uuid}'" keys.parquet
      rdbscan sql "SELECT server, snapshot_time, used_mem FROM meta" 'backups/*.rdb' --format csv
      rdbscan sql --show bigkeys
    """
    from rdbscan.render import formats as out
    from rdbscan.analysis import reports
    if show:
        if show not in reports.SECTIONS:
            _fail(RdbscanError(f"no section {show!r}; sections: {', '.join(reports.SECTIONS)}"), debug)
        click.echo(reports.sql_text(show), nl=False)
        return
    if not query:
        _fail(RdbscanError("give a QUERY and a SOURCE (or --show SECTION)"), debug)
    fmt = _page_format(fmt, output, open_page, debug)
    model = dict(server=server, target=target, config=config, allocator=allocator, cluster=cluster)
    ds = _open(sources, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, model, debug,
               materialize=False)
    with ds:
        table = _run(debug, _query, ds, query)
        result = {"query": reports.Section("query", query, query, tables={"rows": table})}
        _emit(out.render(result, fmt, ds.files), output, debug, open_page)


@main.command()
@click.argument("old")
@click.argument("new")
@_dataset
@click.option("--top", type=click.IntRange(1), default=10, show_default=True, help="Rows per ranked table.")
@_open_page_option
def diff(old, new, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, fmt, output, debug,
         server, target, config, allocator, cluster, top, open_page):
    """Compare two snapshots: what grew, what is new, what lost its TTL.

    OLD and NEW are dumps or Parquet scans (either side either; a directory
    or a glob adds its files up).  Keys are joined on (db, key).

    \b
    Examples:
      rdbscan diff yesterday.rdb today.rdb
      rdbscan diff yesterday.parquet today.rdb --top 20 --format markdown
      rdbscan diff old.rdb new.rdb --match 'session:*' --format json -o diff.json
      rdbscan diff yesterday.rdb today.rdb --format html -o growth.html
    """
    from rdbscan.analysis import diff as diffing
    from rdbscan.render import formats as out
    fmt = _page_format(fmt, output, open_page, debug)
    model = dict(server=server, target=target, config=config, allocator=allocator, cluster=cluster)
    pair = _open_pair(old, new, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, model, debug)
    with pair:
        result = _run(debug, diffing.diff, pair, top=top)
        _emit(out.render(result, fmt, [f for side in pair.files for f in side]), output, debug, open_page)


def _open_pair(old, new, dbs, types, match, delimiters, depth, pattern_rules, cache_dir, model, debug):
    from rdbscan.analysis import diff as diffing

    def said(r):
        _say(f"using the cached scan of {r.dump}: {r.parquet}" if r.cached else
             f"scanned {r.dump} ({r.meta.get('rows_written', 0):,} keys) into {r.parquet} "
             "(reused while the dump is unchanged)")
    return _run(debug, diffing.open_pair, [old], [new], cache_dir=cache_dir, on_scan=said, db=dbs, types=types,
                match=match, delimiters=delimiters, depth=depth, rules=list(pattern_rules), **model)


class GrowthType(click.ParamType):
    """A growth limit: a share ("10%") or a size ("1GB")."""
    name = "growth"

    def convert(self, value, param, ctx):
        """Parse into ("share", f) or ("bytes", n)."""
        from rdbscan.analysis import check as checking
        try:
            return checking.parse_growth(value, f"--{param.name.replace('_', '-')}")
        except RdbscanError as e:
            self.fail(str(e), param, ctx)


class ShareType(click.ParamType):
    """A share: "20%" or 0.2."""
    name = "share"

    def convert(self, value, param, ctx):
        """Parse into a fraction."""
        from rdbscan.analysis import check as checking
        try:
            v = float(value) if not str(value).strip().endswith("%") else value
            return checking.parse_share(v, f"--{param.name.replace('_', '-')}")
        except (RdbscanError, ValueError) as e:
            self.fail(str(e), param, ctx)


@main.command()
@click.argument("source")
@click.option("--baseline", help="An older dump or scan to measure growth against.")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False),
              help="TOML rules (default: ./rdbscan.toml, else [tool.rdbscan] in ./pyproject.toml).")
@click.option("--max-total-memory", type=SizeType(), help="Fail when all keys together use more, e.g. 8GB.")
@click.option("--max-keys", type=click.IntRange(0), help="Fail when there are more keys.")
@click.option("--max-key-bytes", type=SizeType(), help="Fail when any key uses more memory, e.g. 10MB.")
@click.option("--max-key-length", type=click.IntRange(0), help="Fail when any key has more elements.")
@click.option("--max-no-ttl-share", type=ShareType(), help="Fail when more memory than this has no TTL, e.g. 20%.")
@click.option("--require-ttl", multiple=True, metavar="GLOB", help="Keys matching GLOB must have a TTL (repeatable).")
@click.option("--forbid", multiple=True, metavar="GLOB", help="No key may match GLOB (repeatable).")
@click.option("--max-stream-pending", type=click.IntRange(0), help="Fail when a stream has more pending entries.")
@click.option("--max-growth", type=GrowthType(), help="Total memory growth vs --baseline: 10% or 1GB.")
@click.option("--max-pattern-growth", type=GrowthType(), help="Any pattern's memory growth vs --baseline.")
@click.option("--junit", type=click.Path(dir_okay=False), help="Also write JUnit XML here (one test case per rule).")
@_dataset
def check(source, baseline, rules_file, max_total_memory, max_keys, max_key_bytes, max_key_length,
          max_no_ttl_share, require_ttl, forbid, max_stream_pending, max_growth, max_pattern_growth, junit,
          dbs, types, match, delimiters, depth, pattern_rules, cache_dir, fmt, output, debug,
          server, target, config, allocator, cluster):
    """Gate a snapshot on rules: exit 0 when all hold, 1 when any fails, 2 on bad input or rules.

    Rules come from a TOML file and/or the flags below (see the README for
    every rule).  Growth rules need --baseline (they are skipped without
    one).  With $GITHUB_STEP_SUMMARY set, a Markdown summary is appended to it.

    \b
    Examples:
      rdbscan check dump.rdb --max-key-bytes 10MB --require-ttl 'cache:*'
      rdbscan check today.rdb --baseline yesterday.parquet --max-growth 10% --junit rdbscan.xml
      rdbscan check dump.rdb --rules ci/rdbscan.toml --format json
    """
    from rdbscan.analysis import check as checking, dataset
    if fmt == "html":
        _fail(RdbscanError("check writes table, json or markdown; for a page of what grew: "
                           "rdbscan diff BASELINE SOURCE --format html -o growth.html"), debug)
    rules = _run(debug, checking.load_rules, rules_file)
    rules.merge_flags(max_total_memory=max_total_memory, max_keys=max_keys, max_key_bytes=max_key_bytes,
                      max_key_length=max_key_length, max_no_ttl_share=max_no_ttl_share, require_ttl=require_ttl,
                      forbid=forbid, max_stream_pending=max_stream_pending, max_growth=max_growth,
                      max_pattern_growth=max_pattern_growth)
    if rules.empty():
        _fail(RdbscanError("no rules: give --rules FILE, an rdbscan.toml here, or flags such as --max-key-bytes"),
              debug)
    pat = rules.patterns
    delimiters = pat.get("delimiters", delimiters)
    depth = pat.get("depth", depth)
    pattern_rules = list(pat.get("rules", [])) + list(pattern_rules)
    model = dict(server=server, target=target, config=config, allocator=allocator, cluster=cluster)
    if baseline:
        conn = _open_pair(baseline, source, dbs, types, match, delimiters, depth, pattern_rules, cache_dir,
                          model, debug)
        keys, base = "new_keys", "old_keys"
    else:
        conn = _open([source], dbs, types, match, delimiters, depth, pattern_rules, cache_dir, model, debug,
                     materialize=False)
        keys, base = "keys", None
    with conn:
        results = _run(debug, checking.Checker(conn.con, rules, keys, base).run)
    if fmt == "json":
        text = json.dumps(checking.as_json(results, source, baseline), indent=2, default=str) + "\n"
    elif fmt == "markdown":
        text = checking.render_markdown(results, source)
    else:
        text = checking.render_text(results)
    _emit(text, output, debug)
    if junit:
        from rdbscan.scanner.sink import write_text_atomic
        _run(debug, write_text_atomic, junit, checking.junit_xml(results))
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        try:
            with open(summary_path, "a", encoding="utf-8") as f:
                f.write(checking.render_markdown(results, source))
        except OSError as e:
            _say(f"{summary_path}: cannot append the step summary: {e.strerror or e}")
    sys.exit(1 if any(r.status == "failed" for r in results) else 0)


def _query(ds, query):
    import duckdb
    try:
        rel = ds.sql(query)
    except duckdb.Error as e:
        raise RdbscanError(f"SQL: {str(e).splitlines()[0]}") from None
    if rel is None:
        raise RdbscanError("SQL: the statement returned no rows (give a SELECT)")
    try:
        return rel.to_arrow_table()
    except duckdb.Error as e:
        raise RdbscanError(f"SQL: {str(e).splitlines()[0]}") from None


def run():
    """The console entry point: click's usage errors as one line, exit status 2."""
    try:
        main(standalone_mode=False)
    except click.exceptions.UsageError as e:
        command = e.ctx.command_path if e.ctx is not None else "rdbscan"
        click.echo(f"rdbscan: {e.format_message()} (see '{command} --help')", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("rdbscan: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    run()
