"""rdbscan: offline analyzer for Redis and Valkey RDB snapshots.

Stream a dump into per-key Arrow batches or a Parquet file, or many dumps into a dataset::

    import rdbscan
    meta = rdbscan.scan("dump.rdb", "keys.parquet")
    table = rdbscan.read_table("dump.rdb", match="user:*")
    results = rdbscan.scan_many(["s3://backups/redis/*.rdb"], "fleet/", jobs=4)
"""

__version__ = "0.1.0"

from rdbscan.errors import (  # noqa: E402
    OutputError, RDBChecksumError, RDBFormatError, RDBTruncatedError, RdbscanError,
)

__all__ = [
    "SCHEMA", "ScanBatches", "scan_batches", "read_table", "scan", "info", "scan_many", "DumpResult",
    "RdbscanError", "RDBFormatError", "RDBTruncatedError", "RDBChecksumError", "OutputError",
]

_API = {"ScanBatches", "scan_batches", "read_table", "scan", "info"}
_FLEET = {"scan_many", "DumpResult"}


def __getattr__(name):
    # The API (and pyarrow under it) is imported on first use, so that
    # `import rdbscan.cli` and `rdbscan --help` start in a few milliseconds.
    if name in _API:
        from rdbscan import api
        return getattr(api, name)
    if name in _FLEET:
        from rdbscan import fleet
        return getattr(fleet, name)
    if name == "SCHEMA":
        from rdbscan.scanner.records import SCHEMA
        return SCHEMA
    raise AttributeError(f"module 'rdbscan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
