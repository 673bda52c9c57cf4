"""Benchmark of kafkapy.log: append and read throughput.

Append: ``Log.append_as_leader`` (validation, offset assignment in place, index
maintenance, pwrite to the active segment) for 16 KiB and 1 MiB v2 batches, next
to a plain ``os.write`` of the same bytes to a file in the same directory.
Read: ``Log.read`` of 1 MiB fetches whose FileRegion is sent with ``os.sendfile``
to a socket drained by a thread.

    python bench/bench_log.py [--dir DIR] [--total-mib 512]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kafkapy.common.types import TopicPartition  # noqa: E402
from kafkapy.log.config import LogConfig  # noqa: E402
from kafkapy.log.log import Log  # noqa: E402
from kafkapy.protocol.records import SimpleRecord, build_batch  # noqa: E402


ZERO8 = bytes(8)


def make_batch(size: int) -> bytes:
    """One uncompressed v2 batch of about ``size`` bytes (1 KiB records)."""
    value = os.urandom(1000)
    n = max(1, size // 1012)
    return build_batch([SimpleRecord(None, value, timestamp=int(time.time() * 1000))] * n)


def bench_plain_write(path: str, data: bytes, count: int) -> tuple[float, float]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        start, cpu = time.perf_counter(), time.thread_time()
        for _ in range(count):
            os.write(fd, data)
        return time.perf_counter() - start, time.thread_time() - cpu
    finally:
        os.close(fd)
        os.unlink(path)


def bench_append(dir_path: str, data: bytes, count: int) -> tuple[float, float, Log]:
    log = Log(os.path.join(dir_path, "bench-0"), LogConfig(), topic_partition=TopicPartition("bench", 0),
              sync_checkpoints=False)
    buf = bytearray(data)  # produce requests arrive in a writable buffer; offsets are patched in place
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        buf[0:8] = ZERO8  # as sent by a producer (the buffer is reused between appends)
        log.append_as_leader(buf, 0)
    return time.perf_counter() - start, time.thread_time() - cpu, log


def bench_read(log: Log, fetch_bytes: int, batch_size: int, records_per_batch: int) -> tuple[float, int]:
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    received = [0]

    def drain() -> None:
        buf = bytearray(4 * 1024 * 1024)
        while True:
            n = b.recv_into(buf)
            if n == 0:
                return
            received[0] += n

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    log.update_high_watermark(log.log_end_offset)
    offset = log.log_start_offset
    sent = 0
    out = a.fileno()
    start = time.perf_counter()
    while offset < log.log_end_offset:
        fetch = log.read(offset, fetch_bytes, log.high_watermark)
        region = fetch.records
        pos, left = region.position, region.size
        while left:
            n = os.sendfile(out, region.fd, pos, left)
            pos += n
            left -= n
        sent += region.size
        # every batch has the same size and record count, so the next offset is simple arithmetic
        offset += region.size // batch_size * records_per_batch
    a.shutdown(socket.SHUT_WR)
    t.join()
    elapsed = time.perf_counter() - start
    a.close()
    b.close()
    assert received[0] == sent
    return elapsed, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=None, help="directory on the disk to test (default: a temp dir)")
    parser.add_argument("--total-mib", type=int, default=512, help="bytes appended per case")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best is reported)")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="kafkapy-bench-log-", dir=args.dir)
    try:
        print(f"dir={base} total={args.total_mib} MiB per case, best of {args.repeat}")
        print("wall-clock MB/s (best run); cpu = the same bytes over the thread's CPU time (user+sys)")
        print(f"{'batch':>8} {'plain write':>12} {'append':>8} {'ratio':>6} {'cpu ratio':>9} "
              f"{'read+sendfile':>14}")
        for size in (16 * 1024, 1024 * 1024):
            data = make_batch(size)
            records_per_batch = max(1, size // 1012)
            count = max(1, args.total_mib * 1024 * 1024 // len(data))
            total = count * len(data)
            best = {"plain": float("inf"), "append": float("inf"), "plain_cpu": float("inf"),
                    "append_cpu": float("inf"), "read": float("inf")}
            for _ in range(args.repeat):
                wall, cpu = bench_plain_write(os.path.join(base, "plain.bin"), data, count)
                best["plain"] = min(best["plain"], wall)
                best["plain_cpu"] = min(best["plain_cpu"], cpu)
                run_dir = tempfile.mkdtemp(dir=base)
                wall, cpu, log = bench_append(run_dir, data, count)
                best["append"] = min(best["append"], wall)
                best["append_cpu"] = min(best["append_cpu"], cpu)
                rt, sent = bench_read(log, 1024 * 1024, len(data), records_per_batch)
                assert sent == total, (sent, total)
                best["read"] = min(best["read"], rt)
                log.close()
                shutil.rmtree(run_dir)
            mb = total / 1e6
            print(f"{len(data):>8} {mb / best['plain']:>12.0f} {mb / best['append']:>8.0f} "
                  f"{best['plain'] / best['append']:>6.2f} {best['plain_cpu'] / best['append_cpu']:>9.2f} "
                  f"{mb / best['read']:>14.0f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
