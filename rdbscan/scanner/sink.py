"""Parquet sink: batches in, one complete file out, or nothing at all.

Rows are encoded by background threads (pyarrow releases the GIL while
encoding, so the scanner keeps decoding), written to a temporary file next
to the target and renamed into place only when the file is complete.
The target may be an ``s3://`` or ``gs://`` URL: the temporary object is
then moved (copied server-side) to its name once complete.
"""

import json
import os
import queue
import struct
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq

from rdbscan import storage
from rdbscan.errors import OutputError, RdbscanError
from rdbscan.scanner import pqfooter

META_KEY = b"rdbscan"
DICTIONARY_COLUMNS = ["db", "type", "encoding", "rdb_type", "pattern"]
STATISTICS_COLUMNS = ["db", "type", "encoding", "length", "memory_bytes", "serialized_bytes", "expire_at"]


class ParquetSink:
    """Write RecordBatches to ``path`` atomically; call :meth:`close` or :meth:`abort`.

    Each batch becomes one row group, encoded on one of ``threads``
    background threads (pyarrow releases the GIL while encoding) into a
    small Parquet file in memory; the parts are laid end to end in the
    order the batches came, under one footer (:mod:`rdbscan.scanner.pqfooter`),
    so the file is byte for byte what one writer would have written.
    ``transform(batch)``, when given, turns each batch into one of
    ``schema`` on those threads (off the scanning thread's time).
    """

    def __init__(self, path, schema, compression="zstd", transform=None, threads=1):
        self.schema = schema
        # Dictionary-encode only low-cardinality columns; delta-encode the
        # other integers (small, often sorted values: a third less work for
        # zstd); min/max statistics only where queries filter.
        self.options = dict(
            compression=compression, use_dictionary=DICTIONARY_COLUMNS, write_statistics=STATISTICS_COLUMNS,
            column_encoding={f.name: "DELTA_BINARY_PACKED" for f in schema
                             if pa.types.is_integer(f.type) and f.name not in DICTIONARY_COLUMNS})
        # The footer of an empty file: the schema and key-value metadata every part shares.
        _, self.template = pqfooter.split(self._encode(None))
        if storage.is_remote(str(path)):
            self.path = str(path)
            directory, _, name = self.path.rpartition("/")
            self.tmp = f"{directory}/.{name}.tmp-{os.getpid()}"
            try:
                self.file = storage.open_output(self.tmp)
            except RdbscanError as e:
                raise OutputError(str(e)) from None
        else:
            self.path = os.path.abspath(storage.local_path(path))
            if os.path.isdir(self.path):
                raise OutputError(f"{path}: cannot write: is a directory")
            directory = os.path.dirname(self.path)
            if not os.path.isdir(directory):
                raise OutputError(f"{path}: cannot write: directory {directory} does not exist")
            self.tmp = os.path.join(directory, f".{os.path.basename(self.path)}.tmp-{os.getpid()}")
            try:
                self.file = open(self.tmp, "wb")
            except OSError as e:
                raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
        try:
            self.file.write(pqfooter.MAGIC)
        except OSError as e:
            self.file.close()
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
        self.pos = len(pqfooter.MAGIC)
        self.groups = []              # row groups written so far, offsets in this file
        self.transform = transform    # applied to each batch on the writer threads
        self.error = None
        self.rows = 0
        self.cpu_seconds = 0.0        # CPU time the encoders spent (for benchmarks/scaling.py)
        # Batches waiting for an encoder: two behind one encoder, one behind several.
        self.queue = queue.Queue(maxsize=2 if threads <= 1 else 1)
        self.lock = threading.Lock()
        self.parts = {}               # encoded parts waiting for their turn
        self.next_in = 0
        self.next_out = 0
        self.threads = [threading.Thread(target=self._drain, name=f"rdbscan-parquet-{i}", daemon=True)
                        for i in range(max(1, threads))]
        for t in self.threads:
            t.start()

    def _encode(self, batch):
        # One batch as a complete Parquet file in memory (one row group).
        out = pa.BufferOutputStream()
        writer = pq.ParquetWriter(out, self.schema, **self.options)
        if batch is not None:
            writer.write_batch(batch, row_group_size=len(batch))
        writer.close()
        return out.getvalue()

    def _drain(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            seq, batch = item
            part = None
            cpu = time.thread_time()
            if self.error is None:
                try:
                    if self.transform is not None:
                        batch = self.transform(batch)
                    if len(batch):                   # a filter may leave nothing
                        part = self._encode(batch)
                except Exception as e:  # reported on the scanning thread by _check
                    self.error = e
            with self.lock:
                self.cpu_seconds += time.thread_time() - cpu
                self.parts[seq] = part
                self._append_ready()

    def _append_ready(self):
        # Lay the parts into the file in the order their batches came.
        while self.next_out in self.parts:
            part = self.parts.pop(self.next_out)
            self.next_out += 1
            if part is None or self.error is not None:
                continue
            try:
                body, footer = pqfooter.split(part)
                self.groups += pqfooter.shift_row_groups(footer, self.pos - len(pqfooter.MAGIC), len(self.groups))
                self.file.write(body)
                self.pos += len(body)
            except Exception as e:  # reported on the scanning thread by _check
                self.error = e

    def _check(self):
        if self.error is not None:
            e = self.error
            msg = getattr(e, "strerror", None) or str(e)
            raise OutputError(f"{self.path}: write failed: {msg}")

    def write(self, batch):
        """Queue one RecordBatch for writing (empty ones, left by filters, are skipped).

        With a ``transform``, ``batch`` is whatever it takes (and may become empty).
        """
        self._check()
        if len(batch) == 0:
            return
        self.rows += len(batch)
        self.queue.put((self.next_in, batch))
        self.next_in += 1

    def drain(self):
        """Wait until every batch written so far is encoded (raises the writer's error, if any)."""
        self._finish_threads()
        self._check()

    def _finish_threads(self):
        if self.threads:
            for _ in self.threads:
                self.queue.put(None)
            for t in self.threads:
                t.join()
            self.threads = []

    def close(self, meta):
        """Finish the file with ``meta`` (JSON) in its key-value metadata and rename it into place."""
        try:
            self._finish_threads()
            self._check()
            footer = pqfooter.merged_footer(self.template, self.groups,
                                            {META_KEY: json.dumps(meta, default=str).encode()})
            self.file.write(footer + struct.pack("<I", len(footer)) + pqfooter.MAGIC)
            self.file.close()
            storage.move(self.tmp, self.path)
        except OutputError:
            self.abort()
            raise
        except RdbscanError as e:
            self.abort()
            raise OutputError(str(e)) from None
        except OSError as e:
            self.abort()
            raise OutputError(f"{self.path}: write failed: {e.strerror or e}") from None
        except BaseException:     # interrupted (Ctrl-C, a worker told to stop): nothing half-written stays
            self.abort()
            raise

    def abort(self):
        """Drop the temporary file; the target is left as it was."""
        self._finish_threads()
        try:
            self.file.close()
        except Exception:  # the file is being thrown away; a second failure adds nothing
            pass
        try:
            storage.delete(self.tmp)
        except RdbscanError:
            pass


def read_meta(path):
    """The file-level facts stored in an rdbscan Parquet file, local or remote (None if it has none)."""
    where, fs = storage.open_parquet(str(path))
    if fs is None:
        md = pq.read_metadata(where).metadata or {}
    else:
        try:
            md = pq.read_metadata(where, filesystem=fs).metadata or {}
        except OSError as e:
            raise storage.error(str(path), e) from None
    raw = md.get(META_KEY)
    return json.loads(raw) if raw else None


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary name, renamed when complete."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"{path}: write failed: {e.strerror or e}") from None
