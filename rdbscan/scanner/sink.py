"""Parquet sink: batches in, one complete file out, or nothing at all.

Rows are written to a temporary file next to the target by a background
thread (pyarrow releases the GIL while encoding, so the scanner keeps the
other core busy) and renamed into place only when the file is complete.
The target may be an ``s3://`` or ``gs://`` URL: the temporary object is
then moved (copied server-side) to its name once complete.
"""

import json
import os
import queue
import threading

import pyarrow as pa
import pyarrow.parquet as pq

from rdbscan import storage
from rdbscan.errors import OutputError, RdbscanError

META_KEY = b"rdbscan"
DICTIONARY_COLUMNS = ["db", "type", "encoding", "rdb_type", "pattern"]
STATISTICS_COLUMNS = ["db", "type", "encoding", "length", "memory_bytes", "serialized_bytes", "expire_at"]


class ParquetSink:
    """Write RecordBatches to ``path`` atomically; call :meth:`close` or :meth:`abort`.

    ``transform(batch)``, when given, turns each batch into one of ``schema``
    on the writer thread (off the scanning thread's time).
    """

    def __init__(self, path, schema, compression="zstd", transform=None):
        self.stream = None
        if storage.is_remote(str(path)):
            self.path = str(path)
            directory, _, name = self.path.rpartition("/")
            self.tmp = f"{directory}/.{name}.tmp-{os.getpid()}"
            try:
                self.stream = storage.open_output(self.tmp)
            except RdbscanError as e:
                raise OutputError(str(e)) from None
            target = self.stream
        else:
            self.path = os.path.abspath(storage.local_path(path))
            if os.path.isdir(self.path):
                raise OutputError(f"{path}: cannot write: is a directory")
            directory = os.path.dirname(self.path)
            if not os.path.isdir(directory):
                raise OutputError(f"{path}: cannot write: directory {directory} does not exist")
            self.tmp = os.path.join(directory, f".{os.path.basename(self.path)}.tmp-{os.getpid()}")
            target = self.tmp
        try:
            # Dictionary-encode only low-cardinality columns; delta-encode the
            # other integers (small, often sorted values: a third less work for
            # zstd); min/max statistics only where queries filter.
            self.writer = pq.ParquetWriter(
                target, schema, compression=compression,
                use_dictionary=DICTIONARY_COLUMNS,
                write_statistics=STATISTICS_COLUMNS,
                column_encoding={f.name: "DELTA_BINARY_PACKED" for f in schema
                                 if pa.types.is_integer(f.type) and f.name not in DICTIONARY_COLUMNS})
        except OSError as e:
            self._close_stream()
            raise OutputError(f"{path}: cannot write: {e.strerror or e}") from None
        self.transform = transform   # applied to each batch on the writer thread
        self.error = None
        self.rows = 0
        self.queue = queue.Queue(maxsize=2)
        self.thread = threading.Thread(target=self._drain, name="rdbscan-parquet", daemon=True)
        self.thread.start()

    def _drain(self):
        while True:
            batch = self.queue.get()
            if batch is None:
                return
            if self.error is None:
                try:
                    if self.transform is not None:
                        batch = self.transform(batch)
                    self.writer.write_batch(batch, row_group_size=len(batch))
                except Exception as e:  # reported on the scanning thread by _check
                    self.error = e

    def _check(self):
        if self.error is not None:
            e = self.error
            msg = getattr(e, "strerror", None) or str(e)
            raise OutputError(f"{self.path}: write failed: {msg}")

    def write(self, batch):
        """Queue one RecordBatch for writing (empty ones, left by filters, are skipped)."""
        self._check()
        if len(batch) == 0:
            return
        self.rows += len(batch)
        self.queue.put(batch)

    def _finish_thread(self):
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None

    def close(self, meta):
        """Finish the file with ``meta`` (JSON) in its key-value metadata and rename it into place."""
        self._finish_thread()
        try:
            self._check()
            self.writer.add_key_value_metadata({META_KEY: json.dumps(meta, default=str).encode()})
            self.writer.close()
            self._close_stream()
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

    def _close_stream(self):
        if self.stream is not None:
            stream, self.stream = self.stream, None
            stream.close()

    def abort(self):
        """Drop the temporary file; the target is left as it was."""
        self._finish_thread()
        try:
            self.writer.close()
            self._close_stream()
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
