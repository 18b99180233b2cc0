"""RDB dumps as a Spark DataFrame, through PySpark 4's Python Data Source API.

::

    from pyspark.sql import SparkSession
    from rdbscan.integrations.spark import RdbDataSource

    spark = SparkSession.builder.getOrCreate()
    spark.dataSource.register(RdbDataSource)
    df = (spark.read.format("rdb")
          .option("allocator", "jemalloc-16")
          .load("/backups/2024-06-01/*.rdb"))
    df.groupBy("source", "pattern").sum("memory_bytes")

The DataFrame has the columns of ``rdbscan scan``'s Parquet files (the scan
schema and ``pattern``) plus ``source``, the dump each row came from.  One
input partition per dump: each is scanned by the compiled scanner inside a
Spark Python worker, and its Arrow batches go to Spark as they are (cast to
Spark's column types), so every executor needs rdbscan installed.

PATHS: a path, a glob, a directory (its dumps), or several of them separated
by commas (``load([...])`` with a list works too).  ``s3://``, ``s3a://``
and ``gs://`` URLs are read by the executors themselves with pyarrow's
filesystems (the standard credential chain, ``AWS_ENDPOINT_URL`` for
S3-compatible stores): Hadoop's ``fs.s3a.*`` settings do not reach them.

Options: the model options ``redis-version``, ``target-version``,
``allocator``, ``cluster``, ``config`` (a redis.conf path on the
executors); the filters ``db`` and ``type`` (comma-separated lists),
``match`` (a Redis glob) and ``min-bytes``; ``verify`` (``false`` skips the
CRC64 check), ``pattern`` (``false`` leaves the column out),
``batch-size``.  Option names take ``-`` or ``_``.

Filter pushdown (Spark 4.1+): the reader option ``pushdown`` set to true
together with Spark's ``spark.sql.python.filterPushdown.enabled`` (off by
default, since planning then runs one more Python worker; Spark refuses a
reader that takes filters while it is off, hence the option): ``WHERE`` conditions on ``source`` skip whole dumps,
conditions on ``db`` and ``type`` (``=`` or ``IN``) are applied by the scan
itself, and a ``key`` prefix (``LIKE 'user:%'``, ``startswith``) and a
lower bound on ``memory_bytes`` drop rows before they reach Spark (Spark
checks those two again).  Without the setting every filter runs in Spark:
the same rows, more data moved.
"""

import json

try:
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    try:                      # the filter classes arrived with pushdown (Spark 4.1)
        from pyspark.sql.datasource import EqualTo, GreaterThan, GreaterThanOrEqual, In, StringStartsWith
    except ImportError:       # pragma: no cover - Spark 4.0
        EqualTo = GreaterThan = GreaterThanOrEqual = In = StringStartsWith = None
    from pyspark.sql import types as T
except ImportError as e:      # pragma: no cover - the message is the point
    raise ImportError(f"rdbscan's Spark data source needs PySpark 4: pip install 'rdbscan[spark]' ({e})") from None

import pyarrow as pa

from rdbscan.scanner.records import OUTPUT_SCHEMA

OPTIONS = ("redis-version", "target-version", "allocator", "cluster", "config", "db", "type", "match",
           "min-bytes", "verify", "pattern", "batch-size", "pushdown")
"""The reader options (besides ``path``/``paths``)."""



def _spark_type(arrow_type):
    """The Spark column type of a scan column (unsigned integers widen to fit)."""
    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    if pa.types.is_string(t):
        return T.StringType()
    if pa.types.is_binary(t):
        return T.BinaryType()
    if pa.types.is_timestamp(t):
        return T.TimestampType()
    if t in (pa.uint8(), pa.int16()):
        return T.ShortType()
    if t in (pa.uint16(), pa.int32()):
        return T.IntegerType()
    if t in (pa.int64(), pa.uint32()):
        return T.LongType()
    raise TypeError(f"no Spark type for {arrow_type}")


def _arrow_type(spark_type):
    """The Arrow type Spark expects for a Spark column type (timestamps: microseconds, UTC)."""
    return {T.StringType(): pa.string(), T.BinaryType(): pa.binary(), T.ShortType(): pa.int16(),
            T.IntegerType(): pa.int32(), T.LongType(): pa.int64(),
            T.TimestampType(): pa.timestamp("us", tz="UTC")}[spark_type]


def spark_schema(pattern=True):
    """The DataFrame's schema: the scan's columns (with ``pattern`` unless told not to), then ``source``."""
    fields = [T.StructField(f.name, _spark_type(f.type), f.nullable)
              for f in OUTPUT_SCHEMA if pattern or f.name != "pattern"]
    return T.StructType(fields + [T.StructField("source", T.StringType(), False)])


def _flag(value, name):
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"rdb option {name!r}: expected true or false, got {value!r}")


def parse_options(options):
    """Reader options -> (scan_batches keyword arguments, with_pattern), checking every name and value."""
    given = {str(k).lower().replace("_", "-"): v for k, v in dict(options).items()
             if str(k).lower() not in ("path", "paths")}
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown rdb option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    kw = {}
    for name, key in (("redis-version", "server"), ("target-version", "target"), ("allocator", "allocator"),
                      ("config", "config"), ("match", "match")):
        if given.get(name) not in (None, ""):
            kw[key] = str(given[name])
    from rdbscan.model.alloc import ALLOCATORS
    if kw.get("allocator") is not None and kw["allocator"] not in ALLOCATORS:
        raise ValueError(f"rdb option 'allocator': {', '.join(ALLOCATORS)}, not {kw['allocator']!r}")
    if given.get("cluster") not in (None, ""):
        kw["cluster"] = _flag(given["cluster"], "cluster")
    if given.get("verify") not in (None, ""):
        kw["verify"] = _flag(given["verify"], "verify")
    if given.get("db") not in (None, ""):
        try:
            kw["db"] = [int(d) for d in str(given["db"]).split(",") if d.strip()]
        except ValueError:
            raise ValueError(f"rdb option 'db': database numbers separated by commas, not {given['db']!r}") from None
    if given.get("type") not in (None, ""):
        kw["types"] = [t.strip() for t in str(given["type"]).split(",") if t.strip()]
    if given.get("min-bytes") not in (None, ""):
        from rdbscan.cli import parse_size
        try:
            kw["min_bytes"] = parse_size(given["min-bytes"])
        except Exception as e:
            raise ValueError(f"rdb option 'min-bytes': {e}") from None
    if given.get("batch-size") not in (None, ""):
        kw["batch_size"] = int(given["batch-size"])
    pattern = _flag(given["pattern"], "pattern") if given.get("pattern") not in (None, "") else True
    return kw, pattern


def _path_specs(options):
    """The PATHS given to ``load()``: one string (commas separate several) or Spark's JSON list."""
    specs = []
    if options.get("paths"):
        specs.extend(json.loads(options["paths"]))
    if options.get("path"):
        specs.append(options["path"])
    out = []
    for spec in specs:
        out.extend(p.strip() for p in str(spec).split(",") if p.strip())
    if not out:
        raise ValueError("give the dumps to read: spark.read.format('rdb').load('/path/*.rdb')")
    return out


def _storage_url(url):
    """The location rdbscan.storage reads: ``s3a://`` (Hadoop's name) is ``s3://``."""
    return "s3://" + url[len("s3a://"):] if url.lower().startswith("s3a://") else url


def expand(spec):
    """The dumps one path spec names: itself, a directory's (or prefix's) dumps, or a glob's matches (sorted).

    Locations as :func:`rdbscan.storage.expand` reads them (paths, ``s3://``,
    ``s3a://``, ``gs://``); ``s3a://`` results keep their scheme.
    """
    from rdbscan import fleet, storage
    from rdbscan.errors import RdbscanError
    try:
        found = [e.location for e in storage.expand(_storage_url(spec), keep=fleet.is_dump, what="dump")]
    except RdbscanError as e:
        raise FileNotFoundError(str(e)) from None
    if spec.lower().startswith("s3a://"):
        found = ["s3a://" + f[len("s3://"):] for f in found]
    return found


def open_dump(path):
    """A dump to scan: a local path as is, an object-storage URL as a stream named by the URL as given."""
    from rdbscan import storage
    url = _storage_url(path)
    if not storage.is_remote(url):
        return path
    stream, _ = storage.open_input(url)
    stream.name = path
    return stream


def _values(f):
    """The values an ``=`` or ``IN`` filter accepts, else None."""
    if EqualTo is not None and isinstance(f, EqualTo):
        return [f.value]
    if In is not None and isinstance(f, In):
        return list(f.value)
    return None


def _glob_escape(text):
    """``text`` as a Redis glob that matches itself only."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class DumpPartition(InputPartition):
    """One dump: one input partition (``path``: as the paths named it, a local path or a URL)."""

    def __init__(self, path):
        super().__init__(path)
        self.path = path


class RdbReader(DataSourceReader):
    """Plans one partition per dump and scans each into Arrow batches."""

    def __init__(self, options, schema):
        self.options = dict(options)
        self.scan_options, self.pattern = parse_options(self.options)
        self.schema = schema
        self.arrow_schema = pa.schema([pa.field(f.name, _arrow_type(f.dataType), f.nullable) for f in schema.fields])
        self.sources = None           # pushed conditions on ``source``: the dumps worth reading

    def partitions(self):
        """One :class:`DumpPartition` per dump the paths name (expanded on the driver, in order)."""
        paths = []
        for spec in _path_specs(self.options):
            for p in expand(spec):
                if p not in paths and (self.sources is None or p in self.sources):
                    paths.append(p)
        return [DumpPartition(p) for p in paths]

    def read(self, partition):
        """The dump's rows as pyarrow RecordBatches of the DataFrame's schema."""
        if not isinstance(partition, DumpPartition):
            return                    # Spark's stand-in when no dump is left to read
        from rdbscan import api
        batches = api.scan_batches(open_dump(partition.path), **self.scan_options)
        for batch in batches:
            if self.pattern:
                batch = api.with_pattern(batch)
            yield self._for_spark(batch, partition.path)

    def _for_spark(self, batch, source):
        columns = []
        for field in self.arrow_schema:
            if field.name == "source":
                columns.append(pa.array([source] * batch.num_rows, pa.string()))
            else:
                columns.append(batch.column(field.name).cast(field.type))
        return pa.RecordBatch.from_arrays(columns, schema=self.arrow_schema)


class FilteringRdbReader(RdbReader):
    """:class:`RdbReader` that takes Spark's filters (the ``pushdown`` option)."""

    def pushFilters(self, filters):
        """Take over what the scan can do (see the module docstring); return what Spark must still check.

        ``db``, ``type`` and ``source`` conditions are applied exactly and not
        returned; a ``key`` prefix and a ``memory_bytes`` lower bound only
        pre-filter (the scan's ``min-bytes`` falls back to serialized_bytes
        where memory is unknown, Spark's comparison does not), so Spark keeps them.
        """
        for f in filters:
            column = f.attribute[0] if len(f.attribute) == 1 else None
            values = _values(f)
            if column in ("db", "type", "source") and values is not None:
                if column == "db":
                    try:
                        wanted = {int(v) for v in values}
                    except (TypeError, ValueError):
                        yield f
                        continue
                    self._narrow("db", wanted)
                elif column == "type":
                    self._narrow("types", {str(v) for v in values})
                else:
                    wanted = {str(v) for v in values}
                    self.sources = wanted if self.sources is None else self.sources & wanted
                continue
            if column == "key" and StringStartsWith is not None and isinstance(f, StringStartsWith) \
                    and "match" not in self.scan_options:
                self.scan_options["match"] = _glob_escape(f.value) + "*"
            elif column == "memory_bytes" and isinstance(f, (GreaterThan, GreaterThanOrEqual)) \
                    and isinstance(f.value, int) and not isinstance(f.value, bool):
                bound = f.value + 1 if isinstance(f, GreaterThan) else f.value
                self.scan_options["min_bytes"] = max(bound, self.scan_options.get("min_bytes") or 0)
            yield f

    def _narrow(self, name, wanted):
        """AND a pushed ``=``/``IN`` into a scan filter (``db`` or ``types``) the options may already set."""
        have = self.scan_options.get(name)
        self.scan_options[name] = sorted(wanted if not have else set(have) & wanted)
        if not self.scan_options[name]:
            self.sources = set()          # nothing can match: no dump to read


class RdbDataSource(DataSource):
    """``spark.read.format("rdb")``: RDB dumps as a DataFrame (see the module docstring)."""

    @classmethod
    def name(cls):
        """The format name: ``rdb``."""
        return "rdb"

    def schema(self):
        """The scan columns, ``pattern`` (unless ``pattern`` is false) and ``source``."""
        _, pattern = parse_options(self.options)
        return spark_schema(pattern)

    def reader(self, schema):
        """A reader for the dumps the paths name."""
        pushdown = {str(k).lower(): v for k, v in dict(self.options).items()}.get("pushdown")
        if pushdown not in (None, "") and _flag(pushdown, "pushdown"):
            return FilteringRdbReader(self.options, schema)
        return RdbReader(self.options, schema)
