"""Benchmark of kafkapy.log: append and read throughput.

Append: ``Log.append_as_leader`` (validation, offset assignment in place, index
maintenance, pwrite to the active segment) for 16 KiB and 1 MiB v2 batches, next
to a plain ``os.write`` of the same bytes to a file in the same directory, in
interleaved rounds so that both meet the same page-cache conditions. Three sizes by
default: 16,384 bytes (whole pages: the kernel's cheapest write, so the fixed cost of
an append weighs most), 17,000 bytes (16 KiB that is not a page multiple, like most
real batches) and 1 MiB. The header names the append and CRC-32C code in use
(kafkapy's C helpers, or pure Python with KAFKAPY_NATIVE=0 or when they are not built).
Read: ``Log.read`` of 1 MiB fetches whose FileRegion is sent with ``os.sendfile``
to a socket drained by a thread.

    python bench/bench_log.py [--dir DIR] [--total-mib 512] [--rounds 16] [--repeat 1] [--sizes 16384,17000,1048576]
"""
from __future__ import annotations

import argparse
import os
import statistics
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kafkapy.common.types import TopicPartition  # noqa: E402
from kafkapy.log.config import LogConfig  # noqa: E402
from kafkapy.log import log as log_module  # noqa: E402
from kafkapy.log.log import Log  # noqa: E402
from kafkapy.protocol.records import SimpleRecord, build_batch, crc32c  # noqa: E402
from kafkapy.protocol.records.crc import CRC32C_IMPLEMENTATION  # noqa: E402


ZERO8 = bytes(8)
_UNPACK_CRC = struct.Struct(">I").unpack_from


def make_batch(size: int) -> bytes:
    """One uncompressed v2 batch of exactly ``size`` bytes: records of about 1 KiB, the last one padded."""
    ts = int(time.time() * 1000)
    values = [os.urandom(1000)] * max(1, (size - 61) // 1012)
    data = b""
    for _ in range(8):        # a value's length varint may grow by a byte: converge on the size
        data = build_batch([SimpleRecord(None, v, timestamp=ts) for v in values])
        if len(data) == size:
            break
        values[-1] = os.urandom(max(0, len(values[-1]) + size - len(data)))
    return data


def plain_write_round(path: str, data: bytes, count: int) -> tuple[float, float]:
    """``count`` plain ``os.write`` calls of ``data`` to a fresh file; (wall s, thread CPU s)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        start, cpu = time.perf_counter(), time.thread_time()
        for _ in range(count):
            os.write(fd, data)
        return time.perf_counter() - start, time.thread_time() - cpu
    finally:
        os.close(fd)
        os.unlink(path)


def append_round(log: Log, buf: bytearray, count: int) -> tuple[float, float]:
    """``count`` appends of the batch in ``buf`` to ``log``; (wall s, thread CPU s)."""
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        buf[0:8] = ZERO8  # as sent by a producer (the buffer is reused between appends)
        log.append_as_leader(buf, 0)
    return time.perf_counter() - start, time.thread_time() - cpu


_FLOOR_PATCH = struct.Struct(">q").pack_into


def floor_round(fd: int, buf: bytearray, count: int, position: int) -> tuple[float, float, int]:
    """The least an append can do from Python: CRC-32C check, base offset patched, one pwrite.

    No index, no roll decision, no bookkeeping. The CRC is part of Kafka's produce validation.
    The C append does all of this and the bookkeeping in one call, so it can come close to it
    or pass it; the Python append cannot.
    """
    view = memoryview(buf)
    n = len(view)
    expected = _UNPACK_CRC(view, 17)[0]
    offset = 0
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        view[0:8] = ZERO8
        if crc32c(view[21:]) != expected:
            raise AssertionError("corrupt batch")
        _FLOOR_PATCH(view, 0, offset)
        os.pwrite(fd, view, position)
        position += n
        offset += 16
    return time.perf_counter() - start, time.thread_time() - cpu, position


def bench_write_vs_append(dir_path: str, data: bytes, count: int, rounds: int) -> dict[str, float]:
    """Plain writes and appends of the same bytes, interleaved in ``rounds`` rounds.

    Both sides write ``count`` batches in total. The cost of a buffered write depends on the state
    of the page cache (free pages, dirty pages being written back), which drifts over a run; in
    alternating rounds (and alternating order) both sides meet the same states, so the ratio
    compares the code, not the moment it ran.
    """
    log = Log(os.path.join(dir_path, "bench-0"), LogConfig(), topic_partition=TopicPartition("bench", 0),
              sync_checkpoints=False)
    buf = bytearray(data)  # produce requests arrive in a writable buffer; offsets are patched in place
    per_round = max(1, count // rounds)
    out: dict[str, Any] = {"rounds": []}      # per round: {side: (wall s, cpu s)}
    plain_path = os.path.join(dir_path, "plain.bin")
    floor_fd = os.open(os.path.join(dir_path, "floor.bin"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    floor_pos = 0
    for r in range(rounds):
        sides = ("plain", "append", "floor") if r % 2 == 0 else ("floor", "append", "plain")
        got = {}
        for side in sides:
            if side == "plain":
                got[side] = plain_write_round(plain_path, data, per_round)
            elif side == "append":
                got[side] = append_round(log, buf, per_round)
            else:
                wall, cpu, floor_pos = floor_round(floor_fd, bytearray(data), per_round, floor_pos)
                got[side] = (wall, cpu)
                os.ftruncate(floor_fd, 0)     # like the plain file: its pages do not pile up
                floor_pos = 0
        out["rounds"].append(got)
    os.close(floor_fd)
    out["round_bytes"] = per_round * len(data)
    out["bytes"] = per_round * rounds * len(data)
    out["log"] = log
    return out


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
    parser.add_argument("--total-mib", type=int, default=512, help="bytes appended (and written) per case")
    parser.add_argument("--rounds", type=int, default=16, help="alternating write/append rounds per case")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (their rounds are pooled)")
    parser.add_argument("--sizes", default="16384,17000,1048576",
                        help="batch sizes in bytes, comma-separated (default: 16 KiB, 16 KiB + 616 bytes, 1 MiB)")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="kafkapy-bench-log-", dir=args.dir)
    try:
        print(f"dir={base} total={args.total_mib} MiB per side and case, {args.rounds} interleaved rounds, "
              f"{args.repeat} run(s)")
        print("medians over all rounds of all repeats (one round throttled by writeback moves no figure): MB/s of a "
              "round; ratio = append speed / plain write speed in the same round (wall; cpu = thread CPU time)")
        print("floor = CRC-32C check + offset patch + pwrite from a Python loop and nothing else (three calls per "
              "batch, no index, no bookkeeping)")
        print(f"append code: {'C helper kafkapy.log._append' if log_module._native_append_v2 else 'pure Python'}; "
              f"CRC-32C: {CRC32C_IMPLEMENTATION}")
        print(f"{'batch':>8} {'plain write':>12} {'append':>8} {'ratio':>6} {'cpu ratio':>9} {'floor ratio':>11} "
              f"{'read+sendfile':>14}")
        for size in [int(x) for x in args.sizes.split(",")]:
            data = make_batch(size)
            records_per_batch = struct.unpack_from(">i", data, 57)[0]
            count = max(args.rounds, args.total_mib * 1024 * 1024 // len(data))
            rounds: list[dict[str, tuple[float, float]]] = []
            round_bytes = 0
            best_read = float("inf")
            for _ in range(args.repeat):
                run_dir = tempfile.mkdtemp(dir=base)
                got = bench_write_vs_append(run_dir, data, count, args.rounds)
                log = got.pop("log")
                rt, sent = bench_read(log, 1024 * 1024, len(data), records_per_batch)
                assert sent == got["bytes"], (sent, got["bytes"])
                best_read = min(best_read, rt)
                log.close()
                shutil.rmtree(run_dir)
                rounds += got["rounds"]
                round_bytes = got["round_bytes"]

            def median(values: list[float]) -> float:
                return statistics.median(values)

            mb = round_bytes / 1e6
            print(f"{len(data):>8} {mb / median([r['plain'][0] for r in rounds]):>12.0f} "
                  f"{mb / median([r['append'][0] for r in rounds]):>8.0f} "
                  f"{median([r['plain'][0] / r['append'][0] for r in rounds]):>6.2f} "
                  f"{median([r['plain'][1] / r['append'][1] for r in rounds]):>9.2f} "
                  f"{median([r['plain'][0] / r['floor'][0] for r in rounds]):>11.2f} "
                  f"{got['bytes'] / 1e6 / best_read:>14.0f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
