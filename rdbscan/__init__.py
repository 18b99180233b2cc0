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
from rdbscan.scanner.records import SCHEMA  # noqa: E402
from rdbscan.api import ScanBatches, info, read_table, scan, scan_batches  # noqa: E402
from rdbscan.fleet import DumpResult, scan_many  # noqa: E402

__all__ = [
    "SCHEMA", "ScanBatches", "scan_batches", "read_table", "scan", "info", "scan_many", "DumpResult",
    "RdbscanError", "RDBFormatError", "RDBTruncatedError", "RDBChecksumError", "OutputError",
]
