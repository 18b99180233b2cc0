"""Integrations with other engines: :mod:`rdbscan.integrations.spark` (``spark.read.format("rdb")``)."""
