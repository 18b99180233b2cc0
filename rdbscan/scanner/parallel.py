"""Parallel decode of one dump: chunks scanned on several threads, stitched in file order.

An uncompressed dump in a seekable file is cut at byte offsets into chunks.
A worker thread finds the first record boundary at or after its chunk's
start (``find_boundary``: the first offset from which several records parse
cleanly), then decodes from there with the compiled scanner (the GIL
released) until the first record boundary at or after the chunk's end.

The stitch takes the chunks in file order.  Chunk *j* counts only if it
started exactly where the decode before it stopped; otherwise (a "false
sync": the guessed boundary was inside a record) the chunk is decoded again
from that true boundary, with the exact state.  A wrong guess costs time,
never correctness.  What a chunk cannot know alone is resolved here: the
current database (rows before the chunk's first SELECTDB), an expiry, LRU
or LFU opcode read just before the chunk for its first key, module type
codes (numbered in order of first appearance in the dump), file-level
records (aux fields, functions, module aux data, slot info), and the CRC64,
combined from each chunk's own (``crc64_combine``).  Rows are regrouped
into the batches the sequential scanner hands out, so the output is the
same, row for row and batch for batch.

:class:`ParallelScanner` has the scanners' interface (``preamble``,
``set_sizing``, ``set_slots``, ``set_conversions``, ``next_batch``,
``flush``, ``meta``, ``module_names``, ``offset``, ``trailing``), so the API
layer treats it as one more scanner.
"""

import collections
import mmap
from array import array
import os
import re
import struct
import time
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from rdbscan.errors import RDBChecksumError, RDBFormatError
from rdbscan.process import default_jobs  # noqa: F401 (defined without pyarrow, for the fleet's start-up)
from rdbscan.scanner._common import Resume, snapshot_ms
from rdbscan.scanner.format import FLAVOR_VALKEY, KIND_MODULE_BASE, RDB_VERSION_CRC

try:
    from rdbscan.scanner._scanner import Scanner as _Compiled, crc64, crc64_combine, find_boundary
except ImportError:      # the pure-Python build: no parallel decode
    _Compiled = crc64 = crc64_combine = find_boundary = None

KEY_TEXT_MAX = 1 << 30        # the scanners end a batch once its keys reach this many bytes
MAX_MODULE_TYPES = 256 - KIND_MODULE_BASE   # kind codes are one byte, from KIND_MODULE_BASE
CHUNK_MIN = 256 << 10         # adaptive chunk sizes stay within these bounds
CHUNK_MAX = 16 << 20
CHUNK_ROWS = 1 << 14          # an adaptive chunk aims at about this many keys
PIECE_ROWS = 8192             # rows per batch of a chunk's scanner (regrouped by the stitch)
FIRST_CHUNK = 1 << 20         # the first chunk (after the preamble), before any density is known
TEXT_KEY_SAMPLE = 8           # chunks seen before deciding whether keys are text
SYNC_LOOKBEHIND = 64 << 10    # the boundary search starts this far before a chunk (at most its size)
SYNC_REACH = 8 << 20          # and reads at most this far past the offsets it tries
SYNC_FIRST = 256 << 10        # the search tries this much of a chunk from its start, then
SYNC_STEP = 1 << 20           # windows of SYNC_WINDOW bytes this far apart: inside a big value
SYNC_WINDOW = 64 << 10        # it would cost more than decoding it (the stitch fills the gap)


def supported():
    """Whether this build can decode in parallel (the compiled scanner is there)."""
    return _Compiled is not None


class _RangeReader:
    """A file read from ``offset`` on with pread (threads share one descriptor)."""

    def __init__(self, fd, offset):
        self.fd = fd
        self.offset = offset

    def readinto(self, b):
        """Fill ``b`` from the current offset; 0 at the end of the file."""
        n = os.preadv(self.fd, [b], self.offset)
        self.offset += n
        return n


class _Chunk:
    """What decoding one byte range gave: its rows, the state it ended in, its file records."""

    __slots__ = ("index", "start", "end", "sync", "pieces", "handoff", "meta", "error",
                 "exact", "seconds", "sync_seconds", "cpu_seconds")

    def __init__(self, index, start, end):
        self.index = index
        self.start = start        # planned byte range [start, end)
        self.end = end
        self.sync = None          # where decoding began (None: no boundary found in the range)
        self.pieces = []          # (rows, columns) as the scanner flushed them
        self.handoff = None
        self.meta = None
        self.error = None         # an RDBFormatError that stopped it
        self.exact = False        # decoded with the exact state (nothing left to resolve)
        self.seconds = 0.0        # decode time (for the scaling model)
        self.sync_seconds = 0.0
        self.cpu_seconds = 0.0    # CPU time of the thread that searched and decoded it


# ----------------------------------------------------------------- assembly

_GROUPS = (   # validity bitmap -> the columns it covers (values dropped when no row is valid)
    ("length_valid", (("length", 8),), False),
    ("expire_valid", (("expire_at", 8),), True),
    ("idle_valid", (("idle", 8),), True),
    ("freq_valid", (("freq", 1),), True),
    ("stream_valid", (("stream_groups", 8), ("stream_consumers", 8), ("stream_pending", 8)), True),
    ("hfe_valid", (("hash_fields_with_ttl", 8),), True),
    ("expired_valid", (("hash_fields_expired", 8), ("hash_expired_bytes", 8)), True),
)
_FIXED = (("db", 2), ("kind", 1), ("rdb_type", 1), ("max_element_bytes", 8), ("serialized_bytes", 8),
          ("offset", 8), ("slot", 2), ("flags", 1), ("nodes", 8), ("blob_bytes", 8),
          ("element_bytes", 8), ("mem_elements", 8), ("mem_values", 8), ("mem_blobs", 8),
          ("lp_bytes", 8), ("lp_bytes_70", 8), ("zl_bytes", 8), ("intset_bytes", 8))
# The what-if columns, as many as the scanners were set up for (set_slots, set_conversions): int64 each.
_WHATIF = re.compile(r"(mem_elements|mem_values|mem_blobs|conv_at)_\d+$")
_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")
_U16 = struct.Struct("<H")


def _mask(bitmap, n):
    """A validity bitmap as an int (bit i: row i); None (every row valid) -> all ones, False -> 0."""
    if bitmap is None:
        return (1 << n) - 1
    if bitmap is False:
        return 0
    return int.from_bytes(bitmap, "little")


def _bitmap(mask, n):
    """The scanners' form: None when every row is valid, False when none is, else LSB-first bytes."""
    if mask == (1 << n) - 1:
        return None
    if mask == 0:
        return False
    return mask.to_bytes((n + 7) // 8, "little")


class _Piece:
    """Rows of one scanner batch, with validity as ints, consumed from ``start`` on."""

    __slots__ = ("n", "cols", "masks", "start", "koff", "roff")

    def __init__(self, n, cols):
        self.n = n
        self.cols = cols
        self.masks = {name: _mask(cols[name], n) for name, _, _ in _GROUPS}
        self.masks["key_raw_valid"] = _mask(cols["key_raw_valid"], n)
        self.start = 0
        self.koff = memoryview(cols["key_offsets"]).cast("i")
        self.roff = memoryview(cols["key_raw_offsets"]).cast("i") if cols["key_raw_offsets"] else None

    def patch_db(self, rows, db):
        """Rows [0, rows) belong to ``db`` (they came before the chunk's first SELECTDB)."""
        self.cols["db"] = _U16.pack(db) * rows + self.cols["db"][2 * rows:]

    def patch_kinds(self, table):
        """Translate module kind codes (chunk-local -> dump-wide)."""
        self.cols["kind"] = self.cols["kind"].translate(table)

    def patch_first(self, expire, idle, freq, record_start, meta_bytes):
        """The first row takes what the opcodes before its chunk set, where it set nothing itself
        (KEY_META records add their bytes to its serialized size)."""
        for valid, (name, width), value in (("expire_valid", ("expire_at", 8), expire),
                                            ("idle_valid", ("idle", 8), idle),
                                            ("freq_valid", ("freq", 1), freq)):
            if value is None or self.masks[valid] & 1:
                continue
            values = self.cols[name] or bytes(width * self.n)
            packed = _I64.pack(value) if width == 8 else bytes([value])
            self.cols[name] = packed + values[width:]
            self.masks[valid] |= 1
        if record_start is not None and record_start >= 0:
            self.cols["offset"] = _I64.pack(record_start) + self.cols["offset"][8:]
        if meta_bytes:
            size = _I64.unpack_from(self.cols["serialized_bytes"], 0)[0] + meta_bytes
            self.cols["serialized_bytes"] = _I64.pack(size) + self.cols["serialized_bytes"][8:]


class _Assembler:
    """Regroups pieces into the batches the sequential scanner hands out.

    A batch ends after ``batch_size`` rows, or after the row at which its
    keys reach KEY_TEXT_MAX bytes (the scanners' own rule).
    """

    def __init__(self, batch_size):
        self.batch_size = batch_size
        self.pieces = collections.deque()
        self.rows = 0             # rows held (not yet handed out)
        self.key_bytes = 0        # key bytes held, up to the first batch end

    def add(self, piece):
        """Queue a piece (already patched)."""
        self.pieces.append(piece)
        self.rows += piece.n

    def _take_rows(self):
        # Rows of the next batch: batch_size, or fewer where keys reach KEY_TEXT_MAX.
        want = min(self.batch_size, self.rows)
        got = 0
        keys = 0
        for piece in self.pieces:
            r0 = piece.start
            r1 = min(piece.n, r0 + want - got)
            span = piece.koff[r1] - piece.koff[r0]
            if keys + span >= KEY_TEXT_MAX:
                # The first row after which the batch's keys reach the limit.
                need = KEY_TEXT_MAX - keys + piece.koff[r0]
                r = bisect_left(piece.koff, need, r0 + 1, r1 + 1)
                return got + (r - r0), True
            keys += span
            got += r1 - r0
            if got == want:
                break
        return got, False

    def full(self):
        """Whether a whole batch is ready."""
        if self.rows >= self.batch_size:
            return True
        return self.rows > 0 and self._take_rows()[1]

    def take(self, everything=False):
        """The next batch as ``(rows, columns)`` when whole (or, with ``everything``, what is held)."""
        if self.rows == 0:
            return None
        n, cut = self._take_rows()
        if not cut and n < self.batch_size and not everything:
            return None
        return n, self._columns(n)

    def counts(self):
        """Per-db [keys, expires] of the rows held (the sequential scanner has not flushed them yet)."""
        counts = {}
        for piece in self.pieces:
            dbs = memoryview(piece.cols["db"]).cast("H")
            mask = piece.masks["expire_valid"]
            for r in range(piece.start, piece.n):
                c = counts.setdefault(dbs[r], [0, 0])
                c[0] += 1
                c[1] += (mask >> r) & 1
        return counts

    def _columns(self, n):
        # Slice n rows off the front pieces into one batch of the scanners' buffers.
        spans = []
        got = 0
        while got < n:
            piece = self.pieces[0]
            r0 = piece.start
            r1 = min(piece.n, r0 + n - got)
            spans.append((piece, r0, r1))
            got += r1 - r0
            if r1 == piece.n:
                self.pieces.popleft()
            else:
                piece.start = r1
        self.rows -= n
        cols = {}
        for name, width in _FIXED:
            cols[name] = b"".join(p.cols[name][r0 * width:r1 * width] for p, r0, r1 in spans)
        for name in (name for name in spans[0][0].cols if _WHATIF.match(name)):
            cols[name] = b"".join(p.cols[name][r0 * 8:r1 * 8] for p, r0, r1 in spans)
        cols["key_offsets"], cols["key_data"] = self._strings(spans, "key_offsets", "koff", "key_data")
        raw = self._join_mask(spans, "key_raw_valid", n)
        cols["key_raw_valid"] = raw
        if raw is False:
            cols["key_raw_offsets"] = cols["key_raw_data"] = None
        else:
            cols["key_raw_offsets"], cols["key_raw_data"] = self._strings(spans, "key_raw_offsets", "roff",
                                                                          "key_raw_data")
        for valid, columns, droppable in _GROUPS:
            bitmap = self._join_mask(spans, valid, n)
            cols[valid] = bitmap
            for name, width in columns:
                if droppable and bitmap is False:
                    cols[name] = None
                else:
                    cols[name] = b"".join(p.cols[name][r0 * width:r1 * width] if p.cols[name] is not None
                                          else bytes((r1 - r0) * width) for p, r0, r1 in spans)
        return cols

    @staticmethod
    def _join_mask(spans, name, n):
        out = 0
        at = 0
        for p, r0, r1 in spans:
            out |= ((p.masks[name] >> r0) & ((1 << (r1 - r0)) - 1)) << at
            at += r1 - r0
        return _bitmap(out, n)

    @staticmethod
    def _strings(spans, offsets_name, view_name, data_name):
        # int32 offsets rebased onto the joined data.
        offsets = [b"\0\0\0\0"]
        data = []
        base = 0
        for p, r0, r1 in spans:
            off = getattr(p, view_name)
            if off is None:             # no raw keys in this piece: empty spans
                offsets.append(_I32.pack(base) * (r1 - r0))
                continue
            lo, hi = off[r0], off[r1]
            data.append(p.cols[data_name][lo:hi])
            if r1 > r0:
                arr = pa.Array.from_buffers(pa.int32(), r1 - r0, [None, pa.py_buffer(p.cols[offsets_name])],
                                            offset=r0 + 1)
                offsets.append(pc.add(arr, pa.scalar(base - lo, pa.int32())).buffers()[1]
                               .to_pybytes()[:4 * (r1 - r0)])
            base += hi - lo
        return b"".join(offsets), b"".join(data)


# ----------------------------------------------------------------- scanner

class ParallelScanner:
    """Scan one uncompressed, seekable dump with ``jobs`` decoder threads.

    ``path`` is the dump; ``head`` a stream of it from the start (the header
    and the preamble are read from it, sequentially), ``raw`` the file
    object under it (left at the end once the dump is read).  Chunks are
    ``chunk_size`` bytes (None: adaptive, about CHUNK_ROWS keys each).
    ``executor`` may be a shared ThreadPoolExecutor (not shut down here).
    ``scanner_class`` decodes the chunks (the tests pass the pure-Python
    twin: same stitched result, no speed-up).
    After iteration, :attr:`stats` holds per-chunk timings and how many
    chunks were decoded again after a false sync.
    """

    def __init__(self, path, head, raw=None, batch_size=65536, verify=True, jobs=None, chunk_size=None,
                 executor=None, scanner_class=None):
        if _Compiled is None:
            raise RuntimeError("parallel decode needs the compiled scanner")
        self._cls = scanner_class or _Compiled
        self.path = path
        self.batch_size = batch_size
        self.verify = verify
        self.jobs = jobs or default_jobs()
        self.chunk_size = chunk_size
        self._head = self._cls(head, batch_size, verify)
        self._raw = raw
        self._closed = False
        self.meta = self._head.meta
        self.flavor = self._head.flavor
        self.version = self._head.version
        self.done = False
        self._names = []              # module type names, dump-wide, in order of first appearance
        self._name_rows = []          # the dump-wide row where each first appears (None: only in an error)
        self._visible = 0             # names handed out with the batches so far
        self._sizing = None
        self._slots = None            # what-if sizing slots and conversion limits, for every chunk
        self._conversions = None
        self._expired_before = -(1 << 63)
        self._fd = None
        self._executor = executor
        self._own_executor = executor is None
        self.stats = {"chunks": 0, "redone": 0, "unsynced": 0, "gaps": 0, "skipped": 0, "chunk_seconds": [],
                      "sync_seconds": [], "chunk_cpu": [], "chunk_bytes": [], "exact_cpu": 0.0, "exact_bytes": 0,
                      "stitch_seconds": 0.0, "jobs": self.jobs}

    # -- the scanner interface
    def preamble(self):
        """Read the header and the file-level records before the keys (sequentially)."""
        self._head.preamble()
        # Valkey hash fields whose TTL passed before the snapshot are counted
        # apart: every chunk needs the dump's ctime (an aux field of the preamble).
        if self.flavor == FLAVOR_VALKEY:
            self._expired_before = snapshot_ms(self.meta["aux"].get("ctime"))

    def set_sizing(self, tables, *args, **kwargs):
        """The sizing tables every chunk's scanner uses (see the scanners' ``set_sizing``)."""
        # As int32 arrays, which each chunk's scanner copies at once.
        tables = [None if t is None else array("i", t) for t in tables]
        self._sizing = ((tables, *args), kwargs)
        self._head.set_sizing(tables, *args, **kwargs)

    def set_slots(self, slots):
        """What-if sizing slots every chunk's scanner keeps (see the scanners' ``set_slots``)."""
        self._slots = [([None if t is None else array("i", t) for t in tables], *rest) for tables, *rest in slots]
        self._head.set_slots(self._slots)

    def set_conversions(self, limits):
        """Value limits whose conversion points every chunk's scanner records (``set_conversions``)."""
        self._conversions = list(limits)
        self._head.set_conversions(self._conversions)

    @property
    def module_names(self):
        """Module type names met up to the last row handed out."""
        return self._names[:self._visible]

    @property
    def offset(self):
        """Bytes of the dump decoded and stitched so far."""
        return self._pos if self._fd is not None else self._head.offset

    def trailing(self):
        """Bytes after the EOF record (the API notes them)."""
        end = self.meta.get("eof_offset")
        if end is None:
            return b""
        end += 1 + (8 if self.version >= RDB_VERSION_CRC else 0)
        if self._raw is not None:
            self._raw.seek(0, os.SEEK_END)     # what the API reads after this: nothing
        return os.pread(self._fd, 16, end)

    def next_batch(self):
        """The next batch of ``batch_size`` rows (fewer at the end), or None; raises at a fault."""
        if self._fd is None:
            self._start()
        while not self._asm.full() and not self._finished:
            self._stitch_next()
        batch = self._asm.take(everything=self._finished and self._error is None)
        if batch is not None:
            self._handed += batch[0]
            self._visible = sum(1 for row in self._name_rows if row is not None and row < self._handed)
            if self._finished and self._asm.rows == 0 and self._error is None:
                self._finish_meta()
            return batch
        if self._error is not None:
            # As the sequential scanner: rows of the unfinished batch stay for flush().
            self._finish_meta(held=self._asm.counts())
            self._visible = len(self._names)
            raise self._error
        self._finish_meta()
        return None

    def flush(self):
        """The rows held back by a fault (the sequential scanner's flush after an error)."""
        if self._fd is None:
            return None
        batch = self._asm.take(everything=True)
        if batch is not None:
            self._handed += batch[0]
        self._finish_meta()
        return batch

    def close(self):
        """Stop the workers and release the file."""
        pending = getattr(self, "_futures", None)
        if pending:
            for _, fut in pending:
                fut.cancel()
        if self._own_executor and self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._fd is not None and not self._closed:
            try:
                self._map.close()
            except BufferError:       # a view not yet released: unmapped when collected
                pass
            self._map = None
            os.close(self._fd)
            self._closed = True

    # -- planning
    def _start(self):
        self._fd = os.open(self.path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size
        self._map = mmap.mmap(self._fd, self._size, access=mmap.ACCESS_READ)
        self._map.madvise(mmap.MADV_RANDOM)       # the search reads a little here and there: no read-around
        self._pos = self._head.offset
        self._db = 0
        self._pending = (None, None, None, -1, 0)
        self._templates = {}          # hash templates defined so far (RDB 14+): id -> (fields, longest, bytes)
        self._crc = self._head_crc()
        self._asm = _Assembler(self.batch_size)
        self._handed = 0
        self._rows_total = 0
        self._counts = {}
        self._finished = False
        self._error = None
        self._text_keys = True
        self._binary_rows = 0
        self._planned = self._pos
        self._next_index = 0
        self._futures = collections.deque()
        self._density = None          # bytes per key, once a chunk was decoded
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.jobs, thread_name_prefix="rdbscan-decode")
        self._fill()

    def _head_crc(self):
        # The CRC64 of the bytes before the first chunk (header and preamble).
        if not self.verify:
            return 0
        data = os.pread(self._fd, self._pos, 0)
        return crc64(data)

    def _next_size(self):
        if self.chunk_size:
            return self.chunk_size
        if self._density is None:
            return FIRST_CHUNK
        return int(min(CHUNK_MAX, max(CHUNK_MIN, self._density * CHUNK_ROWS)))

    def _fill(self):
        # Keep a few chunks in flight ahead of the stitch (bounded memory).
        ahead = 2 * self.jobs
        while len(self._futures) < ahead and self._planned < self._size:
            start = self._planned
            end = min(self._size, start + self._next_size())
            chunk = _Chunk(self._next_index, start, end)
            self._next_index += 1
            self._planned = end
            # The first chunk starts right after the preamble, in a known state.
            state = self._state() if start == self._head.offset else None
            self._futures.append((chunk, self._executor.submit(self._decode, chunk, state)))

    # -- workers
    def _state(self):
        # The stitch's state, for a decode that starts at its position.
        return {"db": self._db, "pending": self._pending, "module_names": tuple(self._names),
                "templates": tuple((tid, *facts) for tid, facts in self._templates.items())}

    def _decode(self, chunk, state=None, stop=True):
        # Find the chunk's first record boundary (unless its state is given:
        # then it starts at a known one), then decode until the first
        # boundary at or after its end.  Runs on a worker.
        t0 = time.perf_counter()
        cpu0 = time.thread_time()
        start = chunk.start
        if state is None:
            start = self._sync(chunk.start, chunk.end)
            chunk.sync_seconds = time.perf_counter() - t0
            if start is None:
                chunk.cpu_seconds = time.thread_time() - cpu0
                return chunk
            resume = Resume(start, self.flavor, self.version, stop_at=chunk.end,
                            expired_before=self._expired_before)
        else:
            chunk.exact = True
            resume = Resume(start, self.flavor, self.version, stop_at=chunk.end if stop else None,
                            expired_before=self._expired_before, **state)
        chunk.sync = start
        scanner = self._cls(_RangeReader(self._fd, start), min(self.batch_size, PIECE_ROWS), self.verify,
                            resume=resume)
        args, kwargs = self._sizing
        scanner.set_sizing(*args, **kwargs)
        if self._slots:
            scanner.set_slots(self._slots)
        if self._conversions is not None:
            scanner.set_conversions(self._conversions)
        try:
            while (batch := scanner.next_batch()) is not None:
                chunk.pieces.append(batch)
        except RDBFormatError as e:
            chunk.error = e
            rest = scanner.flush()
            if rest is not None:
                chunk.pieces.append(rest)
        chunk.handoff = scanner.handoff()
        chunk.meta = scanner.meta
        chunk.seconds = time.perf_counter() - t0
        chunk.cpu_seconds = time.thread_time() - cpu0
        return chunk

    def _sync(self, start, end):
        # The first record boundary found in the chunk: from its start, then
        # in windows further on (a chunk that starts inside a big value
        # starts decoding after it; the stitch decodes the gap).  The search
        # reads the dump through a read-only map; the pages it touched are
        # dropped from this process's RSS afterwards (they stay cached).
        floor = max(self._head.offset, start - min(SYNC_LOOKBEHIND, end - start))
        found = self._search(floor, start, min(end, start + SYNC_FIRST))
        at = start + SYNC_STEP
        while found is None and at < end:
            found = self._search(at, at, min(end, at + SYNC_WINDOW))
            at += SYNC_STEP
        return found

    def _search(self, floor, start, end):
        found = find_boundary(self._map, start, end, self.flavor, self.version, self._text_keys, floor=floor,
                              reach=end + SYNC_REACH)
        # Out of RSS again: the pages from floor on, wherever a chain of records
        # led, from the 2 MiB boundary below (the page cache may map a file
        # in 2 MiB pages, which a fault maps whole).
        lo = floor - floor % (2 << 20)
        self._map.madvise(mmap.MADV_DONTNEED, lo, self._size - lo)
        return found

    # -- the stitch
    def _stitch_next(self):
        if not self._futures:
            self._finished = True
            if self._error is None and not self.done:
                # The file ended without an EOF record: read on from the last
                # boundary, so that the scanner says where the data ran out.
                self._stitch_exact(self._size, stop=False)
            return
        chunk, fut = self._futures.popleft()
        chunk = fut.result()
        t0 = time.perf_counter()
        self.stats["chunks"] += 1
        self.stats["chunk_seconds"].append(chunk.seconds)
        self.stats["sync_seconds"].append(chunk.sync_seconds)
        self.stats["chunk_cpu"].append(chunk.cpu_seconds)
        self.stats["chunk_bytes"].append(chunk.end - chunk.start)
        if self._pos >= chunk.end:
            # Decoding before it already went past this chunk (a long value).
            self.stats["skipped"] += 1
        elif chunk.sync is not None and self._pos < chunk.sync and self._fill_gap(chunk.sync) \
                and self._accept(chunk):
            self.stats["gaps"] += 1
        elif chunk.sync == self._pos and self._accept(chunk):
            pass
        elif self._error is None and not self.done:
            self.stats["redone" if chunk.sync is not None else "unsynced"] += 1
            self._stitch_exact(chunk.end)
        self.stats["stitch_seconds"] += time.perf_counter() - t0
        if self._error is not None or self.done:
            self._finished = True
            for _, fut in self._futures:
                fut.cancel()
            self._futures.clear()
        else:
            self._fill()

    def _fill_gap(self, to):
        # Decode exactly from the stitch position up to a boundary a chunk
        # found further on: True when the decode lands on it.
        self._stitch_exact(to)
        return self._pos == to and self._error is None and not self.done

    def _stitch_exact(self, end, stop=True):
        # Decode [pos, end) here with the exact state (after a false sync).
        chunk = _Chunk(-1, self._pos, end)
        self._decode(chunk, self._state(), stop)
        self.stats["exact_cpu"] += chunk.cpu_seconds
        self.stats["exact_bytes"] += chunk.handoff["offset"] - chunk.start
        accepted = self._accept(chunk)
        assert accepted, "an exact decode needs nothing resolved"

    def _accept(self, chunk):
        # Take a chunk that started at the stitch position: resolve its
        # state, queue its rows.  False when it must be decoded again exactly:
        # it stopped at a fault (which may come from what it did not know: a
        # hash template defined before it), it defines a template defined
        # before it, or its module types overflow the dump's.
        h = chunk.handoff
        if not chunk.exact and (chunk.error is not None
                                or any(t[0] in self._templates for t in h["templates"])):
            return False
        kind_table = self._module_table(chunk)
        if kind_table is False:
            return False
        n = sum(p[0] for p in chunk.pieces)
        unknown_rows, unknown_keys, unknown_expires = h["unknown_db"]
        carry = self._pending if not chunk.exact else (None, None, None, -1, 0)
        pieces = []
        for rows, cols in chunk.pieces:
            piece = _Piece(rows, dict(cols))
            pieces.append(piece)
        # The database of the rows before the chunk's first SELECTDB.
        counts = {db: list(c) for db, c in chunk.meta["dbs"].items()}
        if not chunk.exact and unknown_rows:
            left = unknown_rows
            for piece in pieces:
                take = min(left, piece.n)
                if take:
                    piece.patch_db(take, self._db)
                left -= take
            c0 = counts.get(0, [0, 0])
            c0[0] -= unknown_keys
            c0[1] -= unknown_expires
            if c0[0] <= 0:
                counts.pop(0, None)
            c = counts.setdefault(self._db, [0, 0])
            c[0] += unknown_keys
            c[1] += unknown_expires
        # Expiry / LRU / LFU / KEY_META records read before the chunk belong to its first key.
        if n and (any(v is not None for v in carry[:3]) or carry[3] >= 0 or carry[4]):
            first = pieces[0]
            had_expire = first.masks["expire_valid"] & 1
            first.patch_first(*carry)
            if carry[0] is not None and not had_expire:
                db0 = _U16.unpack_from(first.cols["db"], 0)[0]
                counts.setdefault(db0, [0, 0])[1] += 1
        if kind_table is not None:
            for piece in pieces:
                piece.patch_kinds(kind_table)
        for piece in pieces:
            self._asm.add(piece)
            if piece.cols["key_raw_valid"] is not False:
                self._binary_rows += piece.n if piece.cols["key_raw_valid"] is None else \
                    bin(piece.masks["key_raw_valid"]).count("1")
        for db, (keys, expires) in counts.items():
            c = self._counts.setdefault(db, [0, 0])
            c[0] += keys
            c[1] += expires
        self._rows_total += n
        self._merge_meta(chunk.meta)
        # The state the next chunk starts in.
        if self.verify and h["crc"] is not None:
            self._crc = crc64_combine(self._crc, h["crc"], h["crc_end"] - self._pos)
        own = h["pending"]
        if n or chunk.exact:
            self._pending = own
        else:
            self._pending = tuple(o if o is not None else c for o, c in zip(own[:3], carry[:3])) + \
                (carry[3] if carry[3] >= 0 else own[3], carry[4] + own[4])
        for tid, *facts in h["templates"]:
            self._templates[tid] = tuple(facts)
        if h["db"] is not None:
            self._db = h["db"]
        self._pos = h["offset"]
        if chunk.exact is False and chunk.end > chunk.start and n:
            density = (h["offset"] - chunk.sync) / n
            self._density = density if self._density is None else (self._density + density) / 2
        self._learn_keys()
        if chunk.error is not None:
            self._error = chunk.error
        elif "eof_offset" in chunk.meta:
            self.done = True
            self._check_crc(chunk.meta)
        return True

    def _module_table(self, chunk):
        # Module type codes: chunk-local -> dump-wide (None: nothing to change;
        # False: the dump-wide count would overflow, decode it again exactly).
        local = chunk.handoff["module_names"]
        if not local:
            return None
        if chunk.exact:
            new = local[len(self._names):]
            mapping = None
        else:
            new = [name for name in local if name not in self._names]
            mapping = True
        if len(self._names) + len(new) > MAX_MODULE_TYPES:
            return None if chunk.exact else False
        kinds = b"".join(cols["kind"] for _, cols in chunk.pieces)
        for name in new:
            local_code = KIND_MODULE_BASE + local.index(name)
            at = kinds.find(bytes([local_code]))
            self._names.append(name)
            self._name_rows.append(self._rows_total + at if at >= 0 else None)
        if mapping is None:
            return None
        table = bytearray(range(256))
        for i, name in enumerate(local):
            table[KIND_MODULE_BASE + i] = KIND_MODULE_BASE + self._names.index(name)
        return None if table == bytearray(range(256)) else bytes(table)

    def _merge_meta(self, part):
        meta = self.meta
        for name, count in part.get("key_meta", {}).items():
            classes = meta.setdefault("key_meta", {})
            classes[name] = classes.get(name, 0) + count
        if "hash_templates" in part:
            meta["hash_templates"] = meta.get("hash_templates", 0) + part["hash_templates"]
        meta["aux"].update(part["aux"])
        meta["functions"].extend(part["functions"])
        meta["module_aux"].extend(part["module_aux"])
        meta["slot_info"].extend(part["slot_info"])
        if part.get("slot_imports"):                     # Valkey SLOT_IMPORT records
            meta.setdefault("slot_imports", []).extend(part["slot_imports"])
        if part.get("update_commands"):                  # Valkey 9.2 UPDATE records
            meta["update_commands"] = meta.get("update_commands", 0) + part["update_commands"]
        for db, hint in part["resizedb"].items():
            meta["resizedb"][self._db if db is None else db] = hint
        if "eof_offset" in part:
            meta["eof_offset"] = part["eof_offset"]

    def _check_crc(self, part):
        meta = self.meta
        if self.version < RDB_VERSION_CRC:
            meta["crc"] = "none before RDB 5"
            return
        stored = part["crc_stored"]
        if stored == 0:
            meta["crc"] = "absent"
        elif not self.verify:
            meta["crc"] = "not verified"
        elif stored == self._crc:
            meta["crc"] = "ok"
        else:
            meta["crc"] = "mismatch"
            self._error = RDBChecksumError(
                f"CRC64 mismatch: the dump says {stored:016x}, its contents give {self._crc:016x}",
                part["eof_offset"] + 1)

    def _learn_keys(self):
        # Search for boundaries among text keys, unless this dump's keys are not text.
        if self._text_keys and self._rows_total and self.stats["chunks"] >= TEXT_KEY_SAMPLE \
                and (self._binary_rows * 100 > self._rows_total
                     or self.stats["redone"] * 4 > self.stats["chunks"]):
            self._text_keys = False

    def _finish_meta(self, held=None):
        # meta["dbs"] as the sequential scanner leaves it: rows handed out so far.
        counts = {db: list(c) for db, c in self._counts.items()} if self._fd is not None else None
        if counts is None:
            return
        for db, (keys, expires) in (held or {}).items():
            c = counts[db]
            c[0] -= keys
            c[1] -= expires
        self.meta["dbs"] = {db: c for db, c in counts.items() if c[0] > 0}

