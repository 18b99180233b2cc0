"""The set-up of a process that rdbscan owns and that scans: the command line and fleet workers.

glibc's malloc tuned for the scan's buffers, pyarrow loaded without NumPy,
Arrow's memory pool.  Only for processes whose every use of pyarrow is
ours: a library user's process keeps pyarrow as it imports it.  Nothing is
imported here until :func:`scan_api` is called, so that the command line's
start-up (and a rerun with nothing to scan) stays light; for the same
reason the count of cores (:func:`default_jobs`) is defined here.
"""

import os
import sys

_ready = False


def default_jobs():
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_decoders():
    """Decoder threads for one dump when ``jobs`` is not given: every core, from three cores on.

    The writer threads (Arrow arrays, memory model, patterns, Parquet) keep
    a core busy on their own.  On two cores a second decoder only competes
    with them: measured 1.07x the time of one decoder on the
    collection-heavy benchmark dump, 1.12x on the string-heavy one.
    """
    cores = default_jobs()
    return cores if cores > 2 else 1


def lean_malloc():
    """At most two malloc arenas (glibc only; a no-op elsewhere).

    A scan hands buffers of tens to hundreds of KiB between threads
    (decoders, the stitch, encoders); glibc's per-thread arenas would each
    keep such freed blocks around.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-8, 2)            # M_ARENA_MAX


def bounded_mmap():
    """In a process :func:`scan_api` set up, a fixed 128 KiB mmap threshold: for parallel decode only.

    With several decoders glibc's rising threshold keeps the chunks' freed
    blocks on the heap and peak RSS climbs with the dump's size; a fixed
    threshold maps and unmaps them instead, keeping it flat from a 1 GB to
    a 4.7 GB dump.  Mapping costs page faults (a sequential scan of the
    string-heavy dump took 1.18 s instead of 1.05 s with it), so one
    decoder keeps glibc's default.
    """
    libc = _glibc() if _ready else None
    if libc is not None:
        libc.mallopt(-3, 128 << 10)    # M_MMAP_THRESHOLD


def _glibc():
    """glibc through ctypes, or None (another libc, or no ctypes)."""
    if not hasattr(os, "confstr"):
        return None
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        import ctypes
        return ctypes.CDLL(None)
    except (OSError, AttributeError, ValueError):
        return None


def scan_api():
    """The API (:mod:`rdbscan.api`) for a process that only scans: pyarrow without NumPy, the lean memory pool.

    pyarrow imports NumPy when it can (tens of milliseconds, and a BLAS
    thread pool) though the scan never uses it; NumPy is optional to
    pyarrow, so it is hidden while pyarrow loads.  When pyarrow or NumPy
    is already there (reports need them, with DuckDB) the API is imported
    as it is.  Forked workers inherit all of it.
    """
    global _ready
    if not _ready:
        lean_malloc()
        if "pyarrow" not in sys.modules and "numpy" not in sys.modules:
            sys.modules["numpy"] = None                # `import numpy` raises ImportError
            try:
                from rdbscan import api
                import pyarrow.compute, pyarrow.parquet  # noqa: F401,E401 (the modules that would import it)
            finally:
                del sys.modules["numpy"]
    from rdbscan import api
    if not _ready:
        api.lean_memory_pool()
        _ready = True
    return api
