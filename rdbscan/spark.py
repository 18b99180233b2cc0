"""``rdbscan.spark.RdbDataSource``: the same as :mod:`rdbscan.integrations.spark` (PySpark 4 needed)."""

from rdbscan.integrations.spark import RdbDataSource  # noqa: F401

__all__ = ["RdbDataSource"]
