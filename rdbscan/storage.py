"""Where dumps and datasets live: local paths and URLs (``s3://``, ``gs://``, ``http(s)://``).

Object stores go through pyarrow's own filesystems (``pyarrow.fs``): the
standard credential chain of each cloud (environment, config files, instance
metadata), ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) for S3-compatible
stores such as MinIO or Ceph, ``STORAGE_EMULATOR_HOST`` for a GCS emulator.
Plain HTTP(S) is read with the standard library (pyarrow has no HTTP
filesystem).  Every input is a stream: nothing copies a dump to local disk.

Every failure is an :class:`~rdbscan.errors.RdbscanError` with one line naming
the location and what went wrong (not found, access denied, no such bucket,
cannot connect).
"""

import io
import os
import queue
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from rdbscan.errors import RdbscanError

OBJECT_SCHEMES = ("s3", "gs")
URL_SCHEMES = OBJECT_SCHEMES + ("http", "https", "file")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,221}[a-z0-9]$")
GLOB_CHARS = "*?["

# Set once this process has made an object-store client: the cloud SDKs keep
# threads and connections that a forked child must not inherit.
remote_clients_started = False


def is_url(text):
    """True when ``text`` looks like ``scheme://...`` (any scheme, known or not)."""
    return isinstance(text, str) and _URL.match(text) is not None


def is_remote(text):
    """True for an ``s3://``, ``gs://`` or ``http(s)://`` location."""
    m = _URL.match(text) if isinstance(text, str) else None
    return m is not None and m.group(1).lower() not in ("file",)


def has_glob(text):
    """True when ``text`` holds a glob character (``*``, ``?``, ``[``)."""
    return any(c in text for c in GLOB_CHARS)


@dataclass(frozen=True)
class Url:
    """A parsed remote location: ``scheme``, ``bucket`` (or host) and ``key`` (or path)."""
    scheme: str
    bucket: str
    key: str

    def __str__(self):
        return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else f"{self.scheme}://{self.bucket}/"

    @property
    def fs_path(self):
        """The path pyarrow's filesystem takes: ``bucket/key``."""
        return f"{self.bucket}/{self.key}".rstrip("/") if self.key else self.bucket

    def child(self, key):
        """The same bucket, another key."""
        return Url(self.scheme, self.bucket, key)


def parse_url(text):
    """Parse ``text`` into a :class:`Url`; an unknown scheme or a malformed URL is a one-line error."""
    m = _URL.match(text)
    if m is None:
        raise RdbscanError(f"{text}: not a URL")
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme == "gcs":
        scheme = "gs"
    if scheme not in URL_SCHEMES:
        raise RdbscanError(f"{text}: unknown URL scheme '{m.group(1)}://' "
                           "(rdbscan reads local paths, s3://, gs://, http:// and https://)")
    bucket, _, key = rest.partition("/")
    if scheme in OBJECT_SCHEMES:
        if not bucket:
            raise RdbscanError(f"{text}: malformed URL: expected {scheme}://BUCKET/KEY")
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise RdbscanError(f"{text}: malformed URL: '{bucket}' is not a valid bucket name "
                               "(3-63 lowercase letters, digits, dots and hyphens)")
        if "//" in key or key.startswith("/"):
            raise RdbscanError(f"{text}: malformed URL: empty path segment in the key")
    elif scheme in ("http", "https"):
        parsed = urllib.parse.urlsplit(text)
        if not parsed.hostname:
            raise RdbscanError(f"{text}: malformed URL: expected {scheme}://HOST/PATH")
    return Url(scheme, bucket, key)


def local_path(text):
    """The local path of ``text``: itself, or the path of a ``file://`` URL."""
    if isinstance(text, str) and text.lower().startswith("file://"):
        return urllib.parse.unquote(text[7:]) or "/"
    return os.fspath(text)


def canonical(text):
    """A location's canonical form: an absolute local path, or the URL as given (``gcs://`` as ``gs://``)."""
    if is_remote(text):
        return str(parse_url(text)) if not text.lower().startswith(("http://", "https://")) else text
    return os.path.abspath(local_path(text))


def join(base, name):
    """``name`` inside the directory ``base`` (local or remote)."""
    if is_remote(base):
        return base.rstrip("/") + "/" + name
    return os.path.join(local_path(base), name)


def basename(text):
    """The last path segment of a location."""
    return text.rstrip("/").rsplit("/", 1)[-1] if is_remote(text) else os.path.basename(local_path(text))


def segments(text):
    """A location's path segments, outermost first (the bucket or host included), for naming."""
    if is_remote(text):
        u = parse_url(text)
        if u.scheme in ("http", "https"):
            parsed = urllib.parse.urlsplit(text)
            return [parsed.hostname or ""] + [urllib.parse.unquote(s) for s in parsed.path.split("/") if s]
        return [u.bucket] + [s for s in u.key.split("/") if s]
    return [s for s in os.path.abspath(local_path(text)).split(os.sep) if s]


# -- pyarrow filesystems ------------------------------------------------------

_filesystems = {}


def _endpoint():
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def filesystem(url):
    """The pyarrow filesystem for an ``s3://`` or ``gs://`` :class:`Url` (one per bucket, cached)."""
    global remote_clients_started
    from pyarrow import fs as pafs
    endpoint = _endpoint() if url.scheme == "s3" else os.environ.get("STORAGE_EMULATOR_HOST")
    # credentials may change between calls of the Python API (another profile, other keys)
    cache_key = (url.scheme, url.bucket, endpoint, os.environ.get("AWS_ACCESS_KEY_ID"),
                 os.environ.get("AWS_PROFILE"))
    if cache_key in _filesystems:
        return _filesystems[cache_key]
    remote_clients_started = True
    try:
        if url.scheme == "s3":
            if endpoint:
                region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
                fs = pafs.S3FileSystem(endpoint_override=endpoint, region=region)
            else:
                # from_uri finds the bucket's region, as the AWS CLI does
                fs = pafs.FileSystem.from_uri(f"s3://{url.bucket}/")[0]
        else:
            if endpoint:
                scheme = "http" if not endpoint.startswith("https") else "https"
                fs = pafs.GcsFileSystem(anonymous=True, scheme=scheme,
                                        endpoint_override=endpoint.split("://", 1)[-1])
            else:
                fs = pafs.GcsFileSystem()
    except OSError as e:
        raise error(str(url), e) from None
    _filesystems[cache_key] = fs
    return fs


_DENIED = ("ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH", "EXPIRED_TOKEN",
           "INVALID_TOKEN", "UNRECOGNIZED_CLIENT", "MISSING_AUTHENTICATION_TOKEN", "PERMISSION_DENIED",
           "UNAUTHENTICATED", "INVALID_CLIENT_TOKEN_ID")


def error(location, e, action="cannot read"):
    """One line for an error an object store returned: not found, access denied, no bucket, ..."""
    text = str(e)
    m = re.search(r"AWS Error (\w+)", text) or re.search(r"\b(PERMISSION_DENIED|UNAUTHENTICATED|NOT_FOUND)\b", text)
    code = m.group(1).upper() if m else ""
    low = text.lower()
    if code == "NO_SUCH_BUCKET" or "nosuchbucket" in low or "bucket does not exist" in low:
        u = parse_url(location)
        return RdbscanError(f"{location}: bucket '{u.bucket}' does not exist")
    if code in _DENIED or (not code and ("access denied" in low or "forbidden" in low)):
        return RdbscanError(f"{location}: access denied ({_detail(text)})")
    if code in ("NO_SUCH_KEY", "RESOURCE_NOT_FOUND", "NOT_FOUND") or isinstance(e, FileNotFoundError):
        return RdbscanError(f"{location}: no such object")
    if code in ("NETWORK_CONNECTION", "UNAVAILABLE") or "curl" in low or "could not resolve" in low:
        return RdbscanError(f"{location}: cannot connect ({_detail(text)})")
    return RdbscanError(f"{location}: {action}: {_detail(text)}")


def _detail(text):
    # pyarrow's messages are long; keep the AWS error's own words, on one line
    m = re.search(r"AWS Error (\w+) during (\w+) operation: ([^(\n]*)", text)
    if m:
        words = m.group(3).strip()
        if words.lower() in ("no response body.", ""):
            return f"{m.group(1)} on {m.group(2)}"
        return f"{m.group(1)} on {m.group(2)}: {words}"
    return " ".join(text.split())[:200]


@dataclass
class Stat:
    """What identifies one version of a file or object: size, and mtime or ETag."""
    size: int
    mtime_ns: int = None
    etag: str = None

    def fingerprint(self):
        """The fields a scan's fingerprint records (the ETag when there is one, else the mtime)."""
        if self.etag:
            return {"size": self.size, "etag": self.etag}
        return {"size": self.size, "mtime_ns": self.mtime_ns}


def _http_request(url, method="GET"):
    req = urllib.request.Request(url, method=method, headers={"User-Agent": "rdbscan"})
    try:
        return urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            raise RdbscanError(f"{url}: access denied (HTTP {e.code})") from None
        if e.code == 404:
            raise RdbscanError(f"{url}: not found (HTTP 404)") from None
        raise RdbscanError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise RdbscanError(f"{url}: cannot connect ({reason})") from None


def stat(location):
    """The :class:`Stat` of a file or object; a one-line error when it is missing or unreadable."""
    if not is_remote(location):
        path = local_path(location)
        try:
            st = os.stat(path)
        except OSError as e:
            raise RdbscanError(f"{location}: cannot open: {e.strerror or e}") from None
        return Stat(st.st_size, st.st_mtime_ns)
    url = parse_url(location)
    if url.scheme in ("http", "https"):
        with _http_request(location, "HEAD") as r:
            size = r.headers.get("Content-Length")
            return Stat(int(size) if size and size.isdigit() else None,
                        etag=r.headers.get("ETag") or r.headers.get("Last-Modified"))
    fs = filesystem(url)
    try:
        # Opening reads the object's headers (size, ETag) without its body.
        with fs.open_input_file(url.fs_path) as f:
            md = f.metadata()
            size = f.size()
    except FileNotFoundError:
        _check_bucket(url)
        raise RdbscanError(f"{location}: no such object") from None
    except OSError as e:
        raise error(location, e) from None
    headers = {(k.decode() if isinstance(k, bytes) else k).lower(): v for k, v in md.items()}
    tag = headers.get("etag") or headers.get("last-modified") or b""
    tag = tag.decode("ascii", "replace") if isinstance(tag, bytes) else str(tag)
    return Stat(size, etag=tag.strip('"') or None)


class _RemoteStream(io.RawIOBase):
    """A remote body (HTTP response or pyarrow input stream) as a raw binary file: ``readinto``, ``tell``."""

    def __init__(self, stream, name, remote_error):
        super().__init__()
        self.stream = stream
        self.name = name
        self.position = 0
        self.remote_error = remote_error   # turns an OSError into the one-line error

    def readable(self):
        """Always: a read-only stream."""
        return True

    def readinto(self, b):
        """Fill ``b`` with the next bytes of the body; 0 at its end."""
        try:
            n = self.stream.readinto(b)
        except OSError as e:
            raise self.remote_error(e) from None
        n = n or 0
        self.position += n
        return n

    def tell(self):
        """Bytes read so far."""
        return self.position

    def close(self):
        """Close the connection or stream."""
        if not self.closed:
            self.stream.close()
        super().close()


class _ReadAhead(_RemoteStream):
    """An object read in big ranged GETs, the next one fetched on a thread while the scanner works.

    pyarrow's object streams make one request per read; small reads would
    pay a round trip each.  ``CHUNK`` bytes per request, at most three
    chunks held (the one being read, one ready, one arriving).
    """

    CHUNK = 8 << 20

    def __init__(self, stream, name, remote_error):
        super().__init__(stream, name, remote_error)
        self.ready = queue.Queue(maxsize=1)
        self.current = memoryview(b"")
        self.finished = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._fetch, name="rdbscan-readahead", daemon=True)
        self.thread.start()

    def _fetch(self):
        try:
            while not self.stopping.is_set():
                buf = self.stream.read_buffer(self.CHUNK)
                self.ready.put(buf)
                if buf.size == 0:
                    return
        except BaseException as e:   # handed to the reading thread
            self.ready.put(e)

    def readinto(self, b):
        """Fill ``b`` from the chunk in hand, waiting for the next one when it is used up."""
        while not len(self.current):
            if self.finished:
                return 0
            item = self.ready.get()
            if isinstance(item, OSError):
                self.finished = True
                raise self.remote_error(item) from None
            if isinstance(item, BaseException):
                self.finished = True
                raise item
            if item.size == 0:
                self.finished = True
                return 0
            self.current = memoryview(item).cast("B")
        n = min(len(b), len(self.current))
        memoryview(b).cast("B")[:n] = self.current[:n]
        self.current = self.current[n:]
        self.position += n
        return n

    def close(self):
        """Stop the fetching thread, then close the stream."""
        if not self.closed and self.thread.is_alive():
            self.stopping.set()
            while self.thread.is_alive():
                try:
                    self.ready.get(timeout=0.1)     # unblock a pending put
                except queue.Empty:
                    pass
            self.thread.join()
        super().close()


def open_input(location):
    """Open a remote dump as a stream; returns ``(stream, size)`` (size may be None).

    S3 and GCS objects are read sequentially by pyarrow (large ranged GETs);
    HTTP(S) as one streaming GET.  Nothing is written to disk.
    """
    url = parse_url(location)
    if url.scheme in ("http", "https"):
        r = _http_request(location)
        size = r.headers.get("Content-Length")
        stream = _RemoteStream(r, location, lambda e: RdbscanError(f"{location}: read failed: {e}"))
        return stream, (int(size) if size and size.isdigit() else None)
    if url.scheme == "file":
        raise ValueError("file:// is a local path")
    fs = filesystem(url)
    try:
        info = fs.get_file_info(url.fs_path)
        if info.type.name == "Directory":
            raise RdbscanError(f"{location}: is a prefix (a directory), expected an RDB object")
        if info.type.name == "NotFound":
            _check_bucket(url)
            raise RdbscanError(f"{location}: no such object")
        stream = fs.open_input_stream(url.fs_path)
    except OSError as e:
        raise error(location, e) from None
    stream = _ReadAhead(stream, location, lambda e: error(location, e, "read failed"))
    return stream, (info.size if info.size is not None and info.size >= 0 else None)


def read_head(location, n):
    """The first ``n`` bytes of a file or object (fewer when it is shorter); None when unreadable."""
    try:
        if not is_remote(location):
            with open(local_path(location), "rb") as f:
                return f.read(n)
        url = parse_url(location)
        if url.scheme in ("http", "https"):
            return None
        with filesystem(url).open_input_file(url.fs_path) as f:
            return f.read_at(min(n, f.size()), 0) if f.size() else b""
    except (OSError, RdbscanError):
        return None


# -- listing ------------------------------------------------------------------

@dataclass
class Entry:
    """One file or object found by :func:`expand`."""
    location: str     # a local path (as the user spelled its directory) or a URL
    size: int = None


def glob_regex(pattern):
    """A regex for a path glob: ``*`` and ``?`` stay within a segment, ``**`` crosses segments."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "^") else i + 1)
            if j < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1:j]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def _list_objects(url, recursive):
    from pyarrow import fs as pafs
    fs = filesystem(url)
    try:
        infos = fs.get_file_info(pafs.FileSelector(url.fs_path, recursive=recursive, allow_not_found=True))
    except OSError as e:
        raise error(str(url), e, "cannot list") from None
    out = []
    prefix = url.bucket + "/"
    for info in infos:
        if info.type.name == "File":
            out.append((info.path[len(prefix):], info.size))
    return sorted(out)


def _check_bucket(url):
    from pyarrow import fs as pafs
    fs = filesystem(url)
    try:
        fs.get_file_info(pafs.FileSelector(url.bucket, recursive=False, allow_not_found=False))
    except FileNotFoundError:
        raise RdbscanError(f"{url}: bucket '{url.bucket}' does not exist") from None
    except OSError as e:
        raise error(str(url), e, "cannot list") from None


def expand(source, keep=None, what="dump"):
    """The files one SOURCE names: itself, the files of a directory (or prefix) that ``keep`` accepts, or a glob's matches.

    ``keep(location)`` filters a directory's files (a glob's matches and a
    named file are taken as they are); ``what`` names the wanted kind in the
    error for a directory without any.  Returns a list of :class:`Entry`.
    """
    if is_remote(source):
        return _expand_remote(source, keep, what)
    path = local_path(source)
    if os.path.isdir(path):
        names = sorted(os.path.join(path, n) for n in os.listdir(path) if not n.startswith("."))
        found = [Entry(p) for p in names if os.path.isfile(p) and (keep is None or keep(p))]
        if not found:
            raise RdbscanError(f"{source}: a directory with no {what} in it")
        return found
    if os.path.exists(path):
        return [Entry(path)]
    if has_glob(path):
        import glob
        found = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not found:
            raise RdbscanError(f"{source}: no file matches")
        return [Entry(p) for p in found]
    raise RdbscanError(f"{source}: no such file or directory")


def _expand_remote(source, keep, what):
    url = parse_url(source)
    if url.scheme in ("http", "https"):
        if has_glob(urllib.parse.urlsplit(source).path):
            raise RdbscanError(f"{source}: an HTTP URL cannot be globbed or listed; name each dump")
        return [Entry(source)]
    if has_glob(url.key):
        parts = url.key.split("/")
        fixed = []
        for p in parts:
            if has_glob(p):
                break
            fixed.append(p)
        prefix = "/".join(fixed)
        regex = glob_regex(url.key)
        listed = _list_objects(url.child(prefix), recursive=True)
        found = [Entry(str(url.child(k)), size) for k, size in listed
                 if regex.match(k) and not basename(k).startswith(".")]
        if not found:
            _check_bucket(url)
            raise RdbscanError(f"{source}: no object matches")
        return found
    if url.key and not url.key.endswith("/"):
        # an object, or a prefix used as a directory
        from pyarrow import fs as pafs
        fs = filesystem(url)
        try:
            info = fs.get_file_info(url.fs_path)
        except OSError as e:
            raise error(source, e) from None
        if info.type == pafs.FileType.File:
            return [Entry(source, info.size)]
        if info.type != pafs.FileType.Directory:
            _check_bucket(url)
            raise RdbscanError(f"{source}: no such object or prefix")
    listed = _list_objects(url, recursive=False)
    base = url.key.rstrip("/")
    found = [Entry(str(url.child(k)), size) for k, size in listed
             if not basename(k).startswith(".") and (keep is None or keep(str(url.child(k))))]
    if not found:
        if not listed:
            _check_bucket(url)
        raise RdbscanError(f"{source}: a {'prefix' if base else 'bucket'} with no {what} in it")
    return found


def list_files(directory):
    """Names of the files directly in a local directory or remote prefix (no error when it is missing)."""
    if is_remote(directory):
        url = parse_url(directory)
        key = url.key.rstrip("/")
        return [basename(k) for k, _ in _list_objects(url.child(key), recursive=False)]
    path = local_path(directory)
    try:
        return sorted(n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n)))
    except FileNotFoundError:
        return []
    except OSError as e:
        raise RdbscanError(f"{directory}: cannot list: {e.strerror or e}") from None


def kind(location):
    """``"dir"``, ``"file"`` or ``None`` (missing) for a local path or remote location."""
    if not is_remote(location):
        path = local_path(location)
        return "dir" if os.path.isdir(path) else "file" if os.path.exists(path) else None
    url = parse_url(location)
    if url.scheme in ("http", "https"):
        return "file"
    if not url.key or url.key.endswith("/"):
        return "dir"      # a prefix, by its trailing slash (a HEAD of it could be denied)
    from pyarrow import fs as pafs
    try:
        info = filesystem(url).get_file_info(url.fs_path)
    except OSError as e:
        raise error(location, e) from None
    return {pafs.FileType.File: "file", pafs.FileType.Directory: "dir"}.get(info.type)


def make_dirs(directory):
    """Create a local directory (and its parents); check a remote prefix's bucket exists."""
    if is_remote(directory):
        url = parse_url(directory)
        if url.scheme not in OBJECT_SCHEMES:
            raise RdbscanError(f"{directory}: cannot write to {url.scheme}:// (write to a path, s3:// or gs://)")
        _check_bucket(url)
        return
    try:
        os.makedirs(local_path(directory), exist_ok=True)
    except FileExistsError:
        raise RdbscanError(f"{directory}: exists and is a file, expected a directory") from None
    except OSError as e:
        raise RdbscanError(f"{directory}: cannot create: {e.strerror or e}") from None


def open_output(location):
    """A pyarrow output stream writing the object ``location`` (visible once closed)."""
    url = parse_url(location)
    if url.scheme not in OBJECT_SCHEMES:
        raise RdbscanError(f"{location}: cannot write to {url.scheme}:// (write to a path, s3:// or gs://)")
    try:
        return filesystem(url).open_output_stream(url.fs_path)
    except OSError as e:
        raise error(location, e, "cannot write") from None


def move(src, dst):
    """Rename a file or object (on object stores: a server-side copy, then delete)."""
    if not is_remote(src):
        os.replace(local_path(src), local_path(dst))
        return
    a, b = parse_url(src), parse_url(dst)
    try:
        filesystem(a).move(a.fs_path, b.fs_path)
    except OSError as e:
        raise error(dst, e, "cannot write") from None


def delete(location):
    """Delete a file or object; a missing one is fine."""
    try:
        if not is_remote(location):
            os.unlink(local_path(location))
        else:
            url = parse_url(location)
            filesystem(url).delete_file(url.fs_path)
    except (FileNotFoundError, RdbscanError):
        pass
    except OSError as e:
        if "not found" not in str(e).lower() and "nosuchkey" not in str(e).lower():
            raise error(location, e, "cannot delete") from None


def open_parquet(location):
    """``(path, filesystem)`` to hand to pyarrow.parquet for a local or remote Parquet file."""
    if not is_remote(location):
        return local_path(location), None
    url = parse_url(location)
    if url.scheme not in OBJECT_SCHEMES:
        raise RdbscanError(f"{location}: Parquet files are read from paths, s3:// or gs://")
    return url.fs_path, filesystem(url)


def fsspec_filesystems(locations):
    """fsspec wrappers of the pyarrow filesystems these locations need, for DuckDB's ``register_filesystem``.

    DuckDB reads ``s3://`` itself only through its httpfs extension, which it
    downloads at run time; wrapping pyarrow's filesystem (same client, same
    credentials as the scan) needs no download.  One filesystem per scheme:
    the first bucket's client serves the others.
    """
    out = {}
    for loc in locations:
        if not is_remote(loc):
            continue
        url = parse_url(loc)
        if url.scheme not in OBJECT_SCHEMES or url.scheme in out:
            continue
        try:
            from fsspec.implementations.arrow import ArrowFSWrapper
        except ImportError:
            raise RdbscanError(f"{loc}: reading Parquet from {url.scheme}:// needs fsspec: "
                               "pip install fsspec") from None
        wrapper = type(f"ArrowFS_{url.scheme}", (ArrowFSWrapper,), {"protocol": (url.scheme,), "root_marker": ""})
        out[url.scheme] = wrapper(filesystem(url), skip_instance_cache=True)
    return list(out.values())
