"""From bytes to per-key records.

The layers, each usable alone: ``format`` (every format constant),
``source`` (a path or stdin, decompressed by magic bytes), the scanner twins
(``_scanner`` compiled, ``pyscanner`` pure Python: a refillable window into
per-key column buffers), ``records`` (Arrow batches from those buffers,
filters) and ``sink`` (Parquet written on a background thread, renamed when
complete).
"""
