"""Dumps and datasets in object storage, against a real S3 API server (moto) and an HTTP server on 127.0.0.1.

The scans go through the same client code users run against AWS, MinIO or
Ceph (pyarrow's S3 filesystem, AWS_ENDPOINT_URL); the checks read back with
boto3, independently of rdbscan.
"""

import gzip
import io
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from conftest import ROOT, FIXTURES, dump_path, key_bytes_of, load_truth
from servers import gcs_server, http_server, s3_server

NAMES = ["redis-7.0.15", "redis-7.2.6", "redis-7.4.1", "valkey-8.0.1"]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server with bucket 'fleet': prefix/NAME.rdb for NAMES, prefix/gz.rdb.gz (redis-6.2.16)."""
    with s3_server() as server:
        c = server.client()
        c.create_bucket(Bucket="fleet")
        for n in NAMES:
            c.put_object(Bucket="fleet", Key=f"prefix/{n}.rdb", Body=dump_path(n).read_bytes())
        c.put_object(Bucket="fleet", Key="prefix/gz.rdb.gz", Body=gzip.compress(dump_path("redis-6.2.16").read_bytes()))
        c.put_object(Bucket="fleet", Key="prefix/README.txt", Body=b"not a dump")
        yield server


def run(s3, *args, env=None, cwd=None):
    """``python -m rdbscan ARGS`` with the S3 server's endpoint and credentials."""
    full = {**os.environ, **(s3.env if s3 else {}), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rdbscan", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300, env=full)


def keys_of(table):
    return {(r["db"], key_bytes_of(r)) for r in table.select(["db", "key", "key_bytes"]).to_pylist()}


def s3_table(s3, key, bucket="fleet"):
    body = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


def listing(s3, prefix, bucket="fleet"):
    """The object keys under ``prefix`` (an empty directory marker ``prefix/`` left out: pyarrow makes one)."""
    keys = (o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))
    return sorted(k for k in keys if not k.endswith("/"))


def rows(result):
    return json.loads(result.stdout)["sections"]["query"]["tables"]["rows"]


def test_s3_glob_into_an_s3_dataset_report_and_rerun(s3):
    out = "s3://fleet/out/"
    r = run(s3, "scan", "s3://fleet/prefix/*.rdb", "-o", out, "--jobs", "2")
    assert r.returncode == 0, r.stderr
    assert listing(s3, "out/") == sorted(f"out/{n}.parquet" for n in NAMES)   # no temporary object left
    for n in NAMES:
        assert keys_of(s3_table(s3, f"out/{n}.parquet")) == set(load_truth(n)), n
        body = s3.client().get_object(Bucket="fleet", Key=f"out/{n}.parquet")["Body"].read()
        meta = json.loads(pq.read_metadata(io.BytesIO(body)).metadata[b"rdbscan"])
        assert meta["source"] == f"s3://fleet/prefix/{n}.rdb" and meta["crc"] == "ok"
        assert meta["cache"]["etag"] and meta["cache"]["size"] == dump_path(n).stat().st_size

    total = sum(len(load_truth(n)) for n in NAMES)
    r = run(s3, "sql", "SELECT count(*) AS n, count(DISTINCT file) AS files FROM keys", out, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert rows(r) == [{"n": total, "files": len(NAMES)}]
    r = run(s3, "report", "summary", out, "--format", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["sources"] == [f"s3://fleet/out/{n}.parquet" for n in sorted(NAMES)]
    by_db = report["sections"]["summary"]["tables"]
    assert sum(x["keys"] for x in by_db["by_db"]) == total

    r = run(s3, "scan", "s3://fleet/prefix/*.rdb", "-o", out)
    assert r.returncode == 0 and f"0 scanned, {len(NAMES)} reused (up to date)" in r.stderr, r.stderr
    # an object written again gets a new ETag: its part alone is scanned again
    s3.client().put_object(Bucket="fleet", Key="prefix/redis-7.2.6.rdb", Body=dump_path("redis-7.4.1").read_bytes())
    try:
        r = run(s3, "scan", "s3://fleet/prefix/*.rdb", "-o", out)
        assert r.returncode == 0 and f"1 scanned, {len(NAMES) - 1} reused" in r.stderr, r.stderr
        assert keys_of(s3_table(s3, "out/redis-7.2.6.parquet")) == set(load_truth("redis-7.4.1"))
    finally:
        s3.client().put_object(Bucket="fleet", Key="prefix/redis-7.2.6.rdb",
                               Body=dump_path("redis-7.2.6").read_bytes())


def test_a_prefix_takes_its_dumps_compressed_ones_streamed(s3, tmp_path):
    # the prefix holds a text file too: a directory-like source takes only what starts like a dump
    r = run(s3, "scan", "s3://fleet/prefix/", "-o", tmp_path / "local", "-q")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "local")) == sorted([f"{n}.parquet" for n in NAMES] + ["gz.parquet"])
    assert keys_of(pq.read_table(tmp_path / "local" / "gz.parquet")) == set(load_truth("redis-6.2.16"))
    r = run(s3, "scan", "s3://fleet/prefix/gz.rdb.gz", "-o", tmp_path / "one.parquet", "-q")
    assert r.returncode == 0, r.stderr
    assert keys_of(pq.read_table(tmp_path / "one.parquet")) == set(load_truth("redis-6.2.16"))
    assert pq.read_metadata(tmp_path / "one.parquet").metadata is not None


def test_report_and_diff_straight_from_s3_dumps(s3, tmp_path):
    cache = tmp_path / "cache"
    r = run(s3, "sql", "SELECT count(*) AS n FROM keys", "s3://fleet/prefix/redis-7.4.1.rdb",
            "--cache-dir", cache, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert rows(r) == [{"n": len(load_truth("redis-7.4.1"))}] and "scanned s3://fleet/prefix/redis-7.4.1.rdb" in r.stderr
    r = run(s3, "diff", "s3://fleet/prefix/redis-7.2.6.rdb", dump_path("redis-7.4.1"), "--cache-dir", cache,
            "--format", "json")
    assert r.returncode == 0, r.stderr
    totals = json.loads(r.stdout)["sections"]["diff"]["tables"]["totals"]
    keys = next(t for t in totals if t["metric"] == "keys")
    assert keys["before"] == len(load_truth("redis-7.2.6")) and keys["after"] == len(load_truth("redis-7.4.1"))


@pytest.mark.parametrize("args, message", [
    (["scan", "s3://fleet/prefix/missing.rdb", "-o", "{tmp}/k.parquet"], "s3://fleet/prefix/missing.rdb: no such object"),
    (["scan", "s3://fleet/prefix/missing.rdb", "s3://fleet/prefix/redis-7.4.1.rdb", "-o", "{tmp}/d"],
     "s3://fleet/prefix/missing.rdb: no such object or prefix"),
    (["scan", "s3://no-such-bucket/dumps/*.rdb", "-o", "{tmp}/d"], "bucket 'no-such-bucket' does not exist"),
    (["scan", "s3://no-such-bucket/dump.rdb", "-o", "{tmp}/k.parquet"], "bucket 'no-such-bucket' does not exist"),
    (["scan", "s3://fleet/prefix/*.rdb", "-o", "s3://no-such-bucket/out/"], "bucket 'no-such-bucket' does not exist"),
    (["scan", "s3://fleet/nothing/*.rdb", "-o", "{tmp}/d"], "s3://fleet/nothing/*.rdb: no object matches"),
    (["scan", "s3:/fleet/prefix/x.rdb", "-o", "{tmp}/k.parquet"], "s3:/fleet/prefix/x.rdb: cannot open"),
    (["scan", "s3://fleet//x.rdb", "-o", "{tmp}/k.parquet"], "malformed URL: empty path segment"),
    (["scan", "gs://", "-o", "{tmp}/d"], "gs://: malformed URL: expected gs://BUCKET/KEY"),
    (["scan", "hdfs://namenode/dump.rdb", "-o", "{tmp}/d"], "unknown URL scheme 'hdfs://'"),
    (["scan", "s3://fleet/prefix/*.rdb", "-o", "https://example.invalid/out/"], "cannot write to https://"),
    (["report", "s3://fleet/empty-prefix/", "--cache-dir", "{tmp}/c"],
     "s3://fleet/empty-prefix/: a prefix with no dump or Parquet file in it"),
    (["report", "s3://fleet/prefix/redis", "--cache-dir", "{tmp}/c"], "s3://fleet/prefix/redis: no such object or prefix"),
])
def test_bad_locations_are_one_line(s3, tmp_path, args, message):
    r = run(s3, *[a.format(tmp=tmp_path) for a in args])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and message in lines[0], r.stderr
    assert os.listdir(tmp_path) == []


def test_denied_requests(tmp_path):
    """With IAM checks on: a dump the user may not read fails alone; bad credentials fail the listing."""
    with s3_server() as s3:
        c = s3.client()
        c.create_bucket(Bucket="locked")
        for n in ("ok-1", "ok-2", "secret"):
            c.put_object(Bucket="locked", Key=f"dumps/{n}.rdb", Body=dump_path("redis-7.4.1").read_bytes())
        iam = s3.client("iam")
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="read-ok", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::locked"},
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::locked/dumps/ok-*"},
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                 "Resource": "arn:aws:s3:::locked/out/*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        s3.enforce_auth()
        reader = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        r = run(s3, "scan", "s3://locked/dumps/*.rdb", "-o", "s3://locked/out/", env=reader)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, r.stderr
        assert any(l.startswith("rdbscan: s3://locked/dumps/secret.rdb: access denied") for l in lines), r.stderr
        assert lines[-1] == "rdbscan: 2 of 3 dumps scanned; 1 failed"
        out = s3.client(aws_access_key_id=reader["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=reader["AWS_SECRET_ACCESS_KEY"]).list_objects_v2(Bucket="locked",
                                                                                            Prefix="out/")
        assert sorted(o["Key"] for o in out["Contents"] if not o["Key"].endswith("/")) == \
            ["out/ok-1.parquet", "out/ok-2.parquet"]
        r = run(s3, "sql", "SELECT count(*) AS n FROM keys", "s3://locked/out/", "--format", "json", env=reader)
        assert r.returncode == 0 and rows(r) == [{"n": 2 * len(load_truth("redis-7.4.1"))}], r.stderr
        # unknown credentials: the listing itself is denied
        r = run(s3, "scan", "s3://locked/dumps/*.rdb", "-o", tmp_path / "d")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "access denied" in lines[0], r.stderr
        assert not (tmp_path / "d").exists()


def test_http_sources_stream(tmp_path):
    with http_server(FIXTURES) as base:
        r = run(None, "scan", f"{base}/redis-7.4.1/dump.rdb", "-o", tmp_path / "k.parquet", "-q")
        assert r.returncode == 0, r.stderr
        assert keys_of(pq.read_table(tmp_path / "k.parquet")) == set(load_truth("redis-7.4.1"))
        r = run(None, "scan", f"{base}/redis-7.4.1/dump.rdb", f"{base}/valkey-8.0.1/dump.rdb", "-o", tmp_path / "d", "-q")
        assert r.returncode == 0, r.stderr
        assert sorted(os.listdir(tmp_path / "d")) == ["redis-7.4.1-dump.parquet", "valkey-8.0.1-dump.parquet"]
        r = run(None, "scan", f"{base}/redis-7.4.1/dump.rdb", f"{base}/valkey-8.0.1/dump.rdb", "-o", tmp_path / "d")
        assert "2 reused" in r.stderr, r.stderr
        r = run(None, "scan", f"{base}/nope/dump.rdb", "-o", tmp_path / "n.parquet")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and lines == [f"rdbscan: {base}/nope/dump.rdb: not found (HTTP 404)"]
        r = run(None, "scan", f"{base}/*/dump.rdb", "-o", tmp_path / "g")
        assert r.returncode == 2 and "an HTTP URL cannot be globbed" in r.stderr


def test_gcs_through_an_emulator(tmp_path):
    with gcs_server() as gcs:
        gcs.create_bucket("gfleet")
        for n in ("redis-7.4.1", "valkey-8.0.1"):
            gcs.upload("gfleet", f"dumps/{n}.rdb", dump_path(n).read_bytes())
        env = {**os.environ, **gcs.env}

        def gs(*args):
            return subprocess.run([sys.executable, "-m", "rdbscan", *map(str, args)], capture_output=True, text=True,
                                  cwd=ROOT, timeout=300, env=env)
        r = gs("scan", "gs://gfleet/dumps/*.rdb", "-o", "gs://gfleet/out/")
        assert r.returncode == 0, r.stderr
        r = gs("sql", "SELECT source, count(*) AS n FROM keys GROUP BY ALL ORDER BY 1",
               "gs://gfleet/out/", "--format", "json")
        assert r.returncode == 0, r.stderr
        assert rows(r) == [{"source": f"gs://gfleet/dumps/{n}.rdb", "n": len(load_truth(n))}
                           for n in ("redis-7.4.1", "valkey-8.0.1")]
        r = gs("scan", "gs://gfleet/dumps/*.rdb", "-o", "gs://gfleet/out/")
        assert r.returncode == 0 and "0 scanned, 2 reused" in r.stderr, r.stderr
        r = gs("scan", "gs://gfleet/dumps/missing.rdb", "-o", tmp_path / "k.parquet")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and lines == ["rdbscan: gs://gfleet/dumps/missing.rdb: no such object"], r.stderr
