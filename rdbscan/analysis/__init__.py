"""Questions asked of a scan: DuckDB SQL over the Parquet dataset.

``dataset`` opens sources (dumps, Parquet files, directories, globs) as the
views ``keys``, ``meta`` and ``pattern_stats``; ``reports`` holds one ``.sql``
file per section; ``diff`` compares two datasets and ``check`` gates them
against rules; ``patterns`` infers key patterns (compiled ``_patterns`` with
its pure-Python twin ``pypatterns``).
"""
