"""Benchmarks of kafkapy.protocol.records (prints figures; not part of the test suite).

    .venv/bin/python bench/bench_records.py
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafkapy.protocol.records import (  # noqa: E402
    HARDWARE_CRC32C,
    SimpleRecord,
    build_batch,
    iter_batches,
    iter_records,
    scan_valid_prefix,
    set_base_offset,
)


def _rate(fn, nbytes: int, min_time: float = 0.5) -> tuple[float, float]:
    """Return (GB/s, microseconds per call)."""
    fn()
    n = 0
    start = time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return n * nbytes / elapsed / 1e9, elapsed / n * 1e6


def _batch_of(total_bytes: int, record_bytes: int = 100, codec: int = 0) -> bytes:
    value = os.urandom(record_bytes)
    count = max(1, total_bytes // (record_bytes + 10))
    return build_batch([SimpleRecord(None, value, (), 1_600_000_000_000)] * count, compression=codec)


def bench_shallow_walk() -> None:
    print(f"hardware crc32c: {HARDWARE_CRC32C}")
    one = _batch_of(1 << 20)
    gbps, us = _rate(lambda: scan_valid_prefix(one), len(one))
    print(f"1 MiB single-batch buffer, walk + CRC-32C verify (scan_valid_prefix): {gbps:.1f} GB/s, {us:.1f} us/call")
    gbps, us = _rate(lambda: list(iter_batches(one)), len(one))
    print(f"1 MiB single-batch buffer, header walk only (iter_batches):           {gbps:.1f} GB/s, {us:.2f} us/call")
    many = b"".join(_batch_of(16 << 10) for _ in range(64))
    count = sum(1 for _ in iter_batches(many))
    gbps, us = _rate(lambda: scan_valid_prefix(many), len(many))
    print(f"{len(many) >> 10} KiB buffer of {count} batches of 16 KiB, walk + CRC: {gbps:.1f} GB/s, "
          f"{us / count:.2f} us/batch")
    small = b"".join(_batch_of(1 << 10) for _ in range(1024))
    count = sum(1 for _ in iter_batches(small))
    gbps, us = _rate(lambda: scan_valid_prefix(small), len(small))
    print(f"{len(small) >> 10} KiB buffer of {count} batches of ~1 KiB, walk + CRC: {gbps:.2f} GB/s, "
          f"{us / count:.2f} us/batch")
    buf = bytearray(one)
    gbps, us = _rate(lambda: set_base_offset(buf, 0, 12345), len(buf))
    print(f"in-place base_offset patch: {us:.2f} us/call")


def bench_per_record() -> None:
    recs = [SimpleRecord(b"key-%d" % i, os.urandom(100), (("h", b"v"),), 1_600_000_000_000 + i)
            for i in range(1000)]
    for codec, name in ((0, "none"), (3, "lz4"), (4, "zstd")):
        start = time.perf_counter()
        data = build_batch(recs, compression=codec)
        build_us = (time.perf_counter() - start) * 1e6 / len(recs)
        start = time.perf_counter()
        n = sum(1 for _ in iter_records(data))
        read_us = (time.perf_counter() - start) * 1e6 / n
        print(f"per-record path, 1000 x 100 B records, {name}: build {build_us:.2f} us/record, "
              f"deep read {read_us:.2f} us/record")


if __name__ == "__main__":
    bench_shallow_walk()
    bench_per_record()
