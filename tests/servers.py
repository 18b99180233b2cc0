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

SERVER = shutil.which("redis-server")


def require_redis_server():
    """The path of Debian's redis-server, or a test failure naming the install step."""
    if SERVER is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run does)", pytrace=False)
    return SERVER


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
def running_server(directory, *options, server=None, port=None):
    """A throwaway redis-server on loopback, saving into (and loading from) ``directory``.

    ``server`` names another binary (a redis-server built elsewhere);
    ``options`` are passed on its command line.  Yields a redis-py client.
    """
    redis = require_module("redis", "pip install -e '.[test]'")
    binary = server or require_redis_server()
    port = port or free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
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
