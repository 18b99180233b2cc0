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


def lean_malloc():
    """Two malloc arenas and a fixed 128 KiB mmap threshold (glibc only; a no-op elsewhere).

    A scan hands buffers of tens to hundreds of KiB between threads (decoders,
    the stitch, encoders).  glibc's per-thread arenas and its rising mmap
    threshold keep such freed blocks around; two arenas and a fixed threshold
    (larger blocks mapped and unmapped) keep peak RSS flat.
    """
    if not hasattr(os, "confstr"):
        return
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mallopt(-8, 2)            # M_ARENA_MAX
        libc.mallopt(-3, 128 << 10)    # M_MMAP_THRESHOLD
    except (OSError, AttributeError, ValueError):
        pass


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
