"""rdbscan: offline analyzer for Redis and Valkey RDB snapshots.

Stream a dump into per-key Arrow batches or a Parquet file::

    import rdbscan
    meta = rdbscan.scan("dump.rdb", "keys.parquet")
    table = rdbscan.read_table("dump.rdb", match="user:*")
"""

__version__ = "0.1.0"

from rdbscan.errors import (  # noqa: E402
    OutputError, RDBChecksumError, RDBFormatError, RDBTruncatedError, RdbscanError,
)
from rdbscan.scanner.records import SCHEMA  # noqa: E402
from rdbscan.api import ScanBatches, info, read_table, scan, scan_batches  # noqa: E402

__all__ = [
    "SCHEMA", "ScanBatches", "scan_batches", "read_table", "scan", "info",
    "RdbscanError", "RDBFormatError", "RDBTruncatedError", "RDBChecksumError", "OutputError",
]
