"""``spark.read.format("rdb")`` on a real local Spark session (local[2]) against ``rdbscan scan``.

Spark starts slowly (a JVM): one session for the whole module.  The
DataFrame must equal the Parquet files ``rdbscan scan`` writes for the same
dumps, row for row and column for column (plus ``source``), with the same
model options and filters.
"""

import os
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from rdbscan import cli
from conftest import FIXTURES, dump_path, load_truth
from servers import running_s3, spark_session

NAMES = ["redis-7.4.1", "redis-7.4.1-lru", "valkey-8.0.1-lfu", "redis-7.0.15-cluster", "redis-2.8.24"]
S3_NAMES = {"node-a": "redis-7.4.1", "node-b": "valkey-8.0.1"}


BUCKET = "rdbscan-dumps"


@pytest.fixture(scope="module")
def s3():
    """A local S3 server with two fixture dumps, reached through the standard environment.

    Set before Spark starts: its Python workers inherit the JVM's environment.
    """
    import boto3
    env = {"AWS_ACCESS_KEY_ID": "rdbscan", "AWS_SECRET_ACCESS_KEY": "rdbscan-secret", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in (*env, "AWS_ENDPOINT_URL")}
    with running_s3() as endpoint:
        os.environ.update(env, AWS_ENDPOINT_URL=endpoint)
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        for n in ("node-a", "node-b"):
            client.upload_file(str(dump_path(S3_NAMES[n])), BUCKET, f"prod/{n}/dump.rdb")
        try:
            yield endpoint
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture(scope="module")
def spark(s3):
    with spark_session("rdbscan-test-spark") as s:
        from rdbscan.integrations.spark import RdbDataSource
        s.dataSource.register(RdbDataSource)
        yield s


def scanned(tmp_path, dump, *flags):
    """``rdbscan scan`` of one dump, read back as a Table."""
    out = tmp_path / f"{abs(hash((str(dump), flags)))}.parquet"
    res = CliRunner().invoke(cli.main, ["scan", str(dump), "-o", str(out), "-q", *flags], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return pq.read_table(out)


def expected(tmp_path, dumps, *flags, schema):
    """What the DataFrame must hold: each dump's scan with its ``source``, in Spark's column types."""
    tables = []
    for d in dumps:
        t = scanned(tmp_path, d, *flags)
        t = t.append_column("source", pa.array([str(d)] * t.num_rows, pa.string()))
        tables.append(t.select(schema.names).cast(schema))
    return pa.concat_tables(tables)


def ordered(table):
    return table.sort_by([("source", "ascending"), ("offset", "ascending")])


def test_dataframe_equals_rdbscan_scan(spark, tmp_path):
    dumps = [dump_path(n) for n in NAMES]
    df = spark.read.format("rdb").load(",".join(str(d) for d in dumps))
    assert df.rdd.getNumPartitions() == len(dumps)                       # one input partition per dump
    got = ordered(df.toArrow())
    want = ordered(expected(tmp_path, dumps, schema=got.schema))
    assert got.num_rows == sum(len(load_truth(n)) for n in NAMES)
    assert got.column_names == [f.name for f in pq.read_schema(
        next(tmp_path.glob("*.parquet")))] + ["source"]                    # the scan's columns, then source
    for name in got.column_names:                                          # column by column: a clear failure
        assert got.column(name).equals(want.column(name)), name
    assert pc.count(got.column("key_bytes")).as_py() > 0                   # binary keys came through
    assert pc.count(got.column("expire_at")).as_py() > 0
    assert pc.count(got.column("idle_seconds")).as_py() > 0 and pc.count(got.column("lfu_freq")).as_py() > 0


def test_model_options_and_filters(spark, tmp_path):
    dump = dump_path("redis-7.0.15-cluster")
    reader = (spark.read.format("rdb").option("allocator", "jemalloc-16").option("cluster", "true")
              .option("target-version", "7.2").option("db", "0").option("type", "hash,string")
              .option("match", "user:*"))
    got = ordered(reader.load(str(dump)).toArrow())
    want = ordered(expected(tmp_path, [dump], "--allocator", "jemalloc-16", "--cluster", "--target-version", "7.2",
                            "--db", "0", "--type", "hash", "--type", "string", "--match", "user:*",
                            schema=got.schema))
    assert 0 < got.num_rows < len(load_truth("redis-7.0.15-cluster"))
    assert got.equals(want)
    assert set(pc.unique(got.column("type")).to_pylist()) <= {"hash", "string"}


def test_memory_options_change_memory_as_the_cli_does(spark, tmp_path):
    dump = dump_path("redis-7.0.15")
    for flags, options in ((("--allocator", "jemalloc"), {"allocator": "jemalloc"}),
                           (("--allocator", "jemalloc-16", "--redis-version", "7.0.15"),
                            {"allocator": "jemalloc-16", "redis_version": "7.0.15"}),
                           (("--allocator", "libc"), {"allocator": "libc"})):
        reader = spark.read.format("rdb")
        for k, v in options.items():
            reader = reader.option(k, v)
        got = ordered(reader.load(str(dump)).toArrow())
        assert got.equals(ordered(expected(tmp_path, [dump], *flags, schema=got.schema))), options


def test_glob_directory_list_and_no_pattern(spark, tmp_path):
    d = tmp_path / "fleet"
    for n in NAMES[:3]:
        (d / n).mkdir(parents=True)
        shutil.copy(dump_path(n), d / n / "dump.rdb")
    (d / "notes.txt").write_text("not a dump")
    by_glob = spark.read.format("rdb").load(str(d / "*" / "dump.rdb"))
    assert by_glob.rdd.getNumPartitions() == 3
    assert sorted(r.source for r in by_glob.select("source").distinct().collect()) == sorted(
        str(d / n / "dump.rdb") for n in NAMES[:3])
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(dump_path("redis-7.4.1"), flat / "a.rdb")
    shutil.copy(dump_path("valkey-8.0.1"), flat / "b.rdb")
    (flat / "README").write_text("these are dumps")
    by_dir = spark.read.format("rdb").option("pattern", "false").load(str(flat))
    assert "pattern" not in by_dir.columns and by_dir.rdd.getNumPartitions() == 2
    assert by_dir.count() == len(load_truth("redis-7.4.1")) + len(load_truth("valkey-8.0.1"))
    as_list = spark.read.format("rdb").load([str(flat / "a.rdb"), str(flat / "b.rdb")])
    assert as_list.count() == by_dir.count()


def test_object_storage_urls(spark, tmp_path):
    """s3a:// (and s3://) globs are expanded on the driver and read by the workers with pyarrow's S3 filesystem."""
    df = spark.read.format("rdb").load(f"s3a://{BUCKET}/prod/*/dump.rdb")
    assert df.rdd.getNumPartitions() == 2
    got = ordered(df.toArrow())
    tables = []
    for n, name in S3_NAMES.items():
        t = scanned(tmp_path, dump_path(name))
        t = t.append_column("source", pa.array([f"s3a://{BUCKET}/prod/{n}/dump.rdb"] * t.num_rows, pa.string()))
        tables.append(t.select(got.column_names).cast(got.schema))
    assert got.equals(ordered(pa.concat_tables(tables)))
    one = spark.read.format("rdb").load(f"s3://{BUCKET}/prod/node-b/dump.rdb")
    assert one.count() == len(load_truth(S3_NAMES["node-b"]))
    with pytest.raises(Exception) as err:
        spark.read.format("rdb").load(f"s3a://{BUCKET}/prod/node-z/dump.rdb").count()
    assert "no such object" in str(err.value)


@pytest.mark.parametrize("setup, message", [
    (lambda r, p: r.load(str(p / "nothing-*.rdb")).count(), "no file matches"),
    (lambda r, p: r.option("allocator", "tcmalloc").load(str(FIXTURES / "redis-7.4.1" / "dump.rdb")),
     "jemalloc, jemalloc-16, libc, not 'tcmalloc'"),
    (lambda r, p: r.option("redis_verison", "7.0").load(str(FIXTURES / "redis-7.4.1" / "dump.rdb")),
     "unknown rdb option(s) redis-verison"),
    (lambda r, p: r.load(str(p / "bad.rdb")).count(), "bad.rdb"),
])
def test_errors_name_the_problem(spark, tmp_path, setup, message):
    bad = bytearray(dump_path("redis-7.4.1").read_bytes())
    (tmp_path / "bad.rdb").write_bytes(bytes(bad[:len(bad) // 2]))       # cut off in the middle
    with pytest.raises(Exception) as err:
        setup(spark.read.format("rdb"), tmp_path)
    assert message in str(err.value)


def test_alias_module():
    from rdbscan.spark import RdbDataSource
    from rdbscan.integrations import spark as integration
    assert RdbDataSource is integration.RdbDataSource and RdbDataSource.name() == "rdb"


def test_workers_run_this_rdbscan(spark):
    """The Python workers import the rdbscan under test (the session names this interpreter)."""
    import rdbscan

    def where(_):
        import rdbscan as theirs
        return [theirs.__file__]
    assert spark.sparkContext.parallelize([1], 1).mapPartitions(where).collect() == [rdbscan.__file__]


def test_filters_pushed_to_the_scan(spark, tmp_path):
    """WHERE on source prunes dumps; db, type, key prefix and memory_bytes reach the scan; rows as Spark's own filter."""
    from pyspark.sql import functions as F
    dumps = [dump_path("redis-7.0.15-cluster"), dump_path("redis-7.4.1")]
    wanted = str(dumps[0])

    def query(*options):
        reader = spark.read.format("rdb")
        for name, value in options:
            reader = reader.option(name, value)
        df = reader.load(",".join(str(d) for d in dumps))
        return df.where((F.col("source") == wanted) & F.col("db").isin(0, 1) & (F.col("type") == "hash")
                        & F.col("key").startswith("user:") & (F.col("memory_bytes") >= 100))

    unpushed = query()                                                     # Spark's defaults: Spark filters
    assert unpushed.rdd.getNumPartitions() == 2
    spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    try:
        pushed = query(("pushdown", "true"))
        assert pushed.rdd.getNumPartitions() == 1                          # the other dump is never opened
        got = ordered(pushed.toArrow())
        empty = (spark.read.format("rdb").option("pushdown", "true").option("type", "string").load(wanted)
                 .where(F.col("type") == "hash"))                          # type=string AND type=hash
        assert empty.count() == 0
    finally:
        spark.conf.set("spark.sql.python.filterPushdown.enabled", "false")
    all_rows = expected(tmp_path, dumps[:1], schema=got.schema)
    mask = pc.and_(pc.and_(pc.is_in(all_rows.column("db"), pa.array([0, 1], all_rows.schema.field("db").type)),
                           pc.equal(all_rows.column("type"), "hash")),
                   pc.and_(pc.starts_with(all_rows.column("key"), "user:"),
                           pc.greater_equal(all_rows.column("memory_bytes"), 100)))
    want = ordered(all_rows.filter(mask))
    assert 0 < want.num_rows < all_rows.num_rows
    assert got.equals(want)
    assert ordered(unpushed.toArrow()).equals(want)                        # the same rows without pushdown
