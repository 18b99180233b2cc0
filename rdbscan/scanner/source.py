"""Byte sources: a path, a URL (s3://, gs://, http(s)://) or stdin, decompressed on the fly when compressed.

Compression is recognised by magic bytes, not by file name.  Every source
ends up as a binary file object with ``readinto``; nothing seeks and
nothing reads the whole input (remote objects are streamed, see
:mod:`rdbscan.storage`).
"""

import bz2
import gzip
import io
import lzma
import os
import sys
from dataclasses import dataclass

from rdbscan import storage
from rdbscan.errors import RDBFormatError, RdbscanError

# (magic prefix, name); checked in order.
COMPRESSION_MAGIC = (
    (b"VKCS", "vkcs"),
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)


@dataclass
class Source:
    """An opened input: ``stream`` for the scanner plus what progress and errors need."""
    name: str                 # path or URL as given, or "<stdin>"
    stream: object            # binary file object with readinto (decompressed)
    raw: object               # the underlying file object (compressed bytes)
    size: int = None          # bytes on disk, when known
    compression: str = None   # "gzip", "zstd", ... or None

    def raw_position(self):
        """Bytes of the input consumed so far (compressed bytes for compressed input)."""
        try:
            return self.raw.tell()
        except (OSError, ValueError, AttributeError):
            return None

    def close(self):
        """Close the decompressor and the file (never stdin itself)."""
        if self.stream is not self.raw:
            try:
                self.stream.close()
            except Exception:  # closing a half-read decompressor can complain; the data is gone anyway
                pass
        if self.raw is not getattr(sys.stdin, "buffer", None):
            self.raw.close()


class Decompressed:
    """A decompressing stream that reports a cut-off input as its end, noting it.

    Decompressors raise EOFError when the compressed data stops early; the
    scanner should see a plain end of data (and say where) instead.  Corrupt
    compressed data becomes one clear error.
    """

    def __init__(self, stream, kind):
        self.stream = stream
        self.kind = kind
        self.ended_early = False

    def _guard(self, call, *args):
        try:
            return call(*args)
        except EOFError:
            self.ended_early = True
            return None
        except Exception as e:  # each library has its own error classes
            raise RdbscanError(f"the {self.kind} data is corrupt: {e}") from None

    def readinto(self, b):
        """Fill ``b`` with decompressed bytes; 0 at the end (or where the input stops)."""
        # One underlying read at a time (readinto1): when the input is cut
        # off, only that read's bytes are lost, not a whole window's.
        reader = getattr(self.stream, "readinto1", None) or self.stream.readinto
        n = self._guard(reader, b)
        return 0 if n is None else n

    def read(self, n=-1):
        """Up to ``n`` decompressed bytes; b"" at the end (or where the input stops)."""
        data = self._guard(self.stream.read, n)
        return b"" if data is None else data

    def close(self):
        """Close the decompressor."""
        self.stream.close()


# Valkey 9.2's streaming-compression envelope (compression_stream.h): "VKCS",
# version, codec, flags, stream kind; then the codec's stream (an LZ4 frame).
VKCS_ENVELOPE = 8
VKCS_VERSION = 1
VKCS_CODECS = {1: "lz4"}
VKCS_STREAM_RDB = 0


def _vkcs(raw, name):
    """Consume and check a VKCS envelope; the LZ4 frame that follows is decompressed as usual."""
    head = raw.read(VKCS_ENVELOPE)
    if len(head) < VKCS_ENVELOPE:
        raise RDBFormatError("a Valkey compressed-stream envelope (VKCS) cut off in its 8-byte header",
                             len(head), path=name)
    version, codec, kind = head[4], head[5], head[7]
    if version != VKCS_VERSION:
        raise RDBFormatError(f"a Valkey compressed-stream envelope (VKCS) of version {version}: "
                             f"only version {VKCS_VERSION} is known", 4, path=name)
    if codec not in VKCS_CODECS:
        raise RDBFormatError(f"a Valkey compressed-stream envelope (VKCS) with codec {codec}: "
                             "only LZ4 (1) is known", 5, path=name)
    if kind != VKCS_STREAM_RDB:
        raise RDBFormatError(f"a Valkey compressed-stream envelope (VKCS) of stream kind {kind}, "
                             f"not an RDB ({VKCS_STREAM_RDB})", 7, path=name)
    return VKCS_CODECS[codec]


def _decompressor(kind, raw):
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if kind == "zstd":
        import zstandard
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    if kind == "lz4":
        import lz4.frame
        return lz4.frame.LZ4FrameFile(raw, mode="rb")
    raise ValueError(kind)


def _peek(raw, n):
    """The first n bytes without consuming them (pread for files, peek for pipes)."""
    if isinstance(raw, io.FileIO):
        try:
            return os.pread(raw.fileno(), n, 0)
        except OSError:
            return None
    return raw.peek(n)[:n]


def open_source(source):
    """Open ``source`` (a path, a URL, ``"-"`` for stdin, or a binary file object) for scanning."""
    size = None
    if hasattr(source, "read"):
        raw = source if hasattr(source, "peek") else io.BufferedReader(source)
        name = getattr(source, "name", "<stream>")
    elif str(source) == "-":
        raw, name = sys.stdin.buffer, "<stdin>"
    elif storage.is_remote(str(source)):
        name = str(source)
        stream, size = storage.open_input(name)
        # A small buffer for the magic-byte peek; big reads go straight to the scanner's window.
        raw = io.BufferedReader(stream, buffer_size=1 << 16)
    else:
        name = str(source)
        try:
            # Unbuffered: the scanner reads straight into its own window.
            raw = open(storage.local_path(name), "rb", buffering=0)
            size = os.fstat(raw.fileno()).st_size
        except IsADirectoryError:
            raise RdbscanError(f"{name}: is a directory, expected an RDB file") from None
        except OSError as e:
            raise RdbscanError(f"{name}: cannot open: {e.strerror or e}") from None
    head = _peek(raw, 8)
    if head is None:                      # a pipe or device given by path
        raw = io.BufferedReader(raw)
        head = raw.peek(8)[:8]
    kind = next((k for magic, k in COMPRESSION_MAGIC if head.startswith(magic)), None)
    if kind is None:
        return Source(name, raw, raw, size, None)
    if isinstance(raw, io.FileIO):
        raw = io.BufferedReader(raw, buffer_size=1 << 16)
    if kind == "vkcs":
        kind = "vkcs-" + _vkcs(raw, name)
        return Source(name, Decompressed(_decompressor("lz4", raw), kind), raw, size, kind)
    return Source(name, Decompressed(_decompressor(kind, raw), kind), raw, size, kind)


def describe_non_rdb(head):
    """A guess at what a non-RDB input is, for the error message."""
    stripped = head.lstrip()
    if stripped.startswith(b"*"):
        return "looks like an AOF file without an RDB preamble (starts with '*')"
    if stripped[:1] in (b"{", b"["):
        return "looks like JSON"
    if not head:
        return "the input is empty"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "looks like text"
    return None


def not_rdb_error(source, head):
    """The one-line error for an input whose first bytes are not an RDB magic."""
    what = describe_non_rdb(head)
    found = f"found {head[:9]!r}"
    compressed = f" ({source.compression}-compressed)" if source.compression else ""
    if getattr(source.stream, "ended_early", False) or (source.compression and not head):
        return RDBFormatError(f"the {source.compression} input ends before any RDB data could be "
                              "decompressed (cut off?)", 0, path=source.name)
    msg = f"not an RDB file{compressed}: expected 'REDIS' or 'VALKEY' and a version at the start, {found}"
    if what:
        msg += f"; {what}"
    return RDBFormatError(msg, 0, path=source.name)
