"""Throughput of the compiled scanner's CRC64 (Redis' Jones polynomial), in GB/s.

    python benchmarks/bench_crc.py [--mib 256] [--rounds 5]

Prints the median of several rounds over random data held in memory, and
checks the result against the bytewise reference table on a sample.
"""

import argparse
import os
import statistics
import time

from rdbscan.scanner._common import crc64_table
from rdbscan.scanner._scanner import crc64


def reference(data):
    """Bytewise CRC64 from the shared table: slow, obviously right."""
    table, crc = crc64_table()[0], 0
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = os.urandom(args.mib << 20)
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    sample = data[:100_003]
    assert crc64(sample) == reference(sample)
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        crc64(data)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"crc64 over {args.mib} MiB: median {median:.3f} s = {len(data) / median / 1e9:.2f} GB/s "
          f"(min {min(times):.3f} s, max {max(times):.3f} s, {args.rounds} rounds)")


if __name__ == "__main__":
    main()
