"""Broker benchmark: confluent-kafka against a kafkapy broker subprocess (`make bench`).

One partition, acks=1, uncompressed; 100-byte and 1 KiB values. Prints produce MB/s and
records/s (until every delivery report arrived), consume MB/s and records/s (from offset 0
to the end), and the broker's peak RSS (VmHWM from /proc/<pid>/status).

    .venv/bin/python bench/bench_broker.py [--records-100 1000000] [--records-1k 200000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition  # noqa: E402

from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders  # noqa: E402
from kafkapy.testing.zookeeper import ZooKeeperServer  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    import os
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def produce(bootstrap: str, topic: str, n: int, size: int, acks: str = "1") -> tuple[float, int]:
    """confluent-kafka: ``n`` records of ``size`` bytes to partition 0, big batches; (seconds, failed)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5, "batch.size": 1_000_000,
                  "batch.num.messages": 100_000, "queue.buffering.max.messages": 1_000_000,
                  "queue.buffering.max.kbytes": 1_048_576, "enable.idempotence": False,
                  "compression.type": "none"})
    value = b"x" * size
    errors = [0]

    def cb(err, _msg) -> None:
        if err is not None:
            errors[0] += 1

    start = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                p.produce(topic, value, partition=0, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.001)
    p.flush(300)
    return time.perf_counter() - start, errors[0]


def consume(bootstrap: str, topic: str, n: int) -> tuple[float, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.auto.commit": False,
                  "fetch.max.bytes": 52_428_800, "max.partition.fetch.bytes": 10_485_760,
                  "queued.max.messages.kbytes": 1_048_576})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = 0
    total_bytes = 0
    start = time.perf_counter()
    while got < n:
        for m in c.consume(100_000, 1.0):
            if m.error() is None:
                got += 1
                total_bytes += len(m.value())
    elapsed = time.perf_counter() - start
    c.close()
    return elapsed, total_bytes


def kcat_produce(bootstrap: str, topic: str, n: int, size: int, tmp: str) -> float | None:
    """The same load from kcat (C, no Python per record): how fast the broker takes it."""
    import shutil
    import subprocess
    if shutil.which("kcat") is None:
        return None
    src = Path(tmp) / f"kcat-{size}.txt"
    line = b"y" * (size - 1) + b"\n"      # kcat strips the newline: `size - 1` value bytes
    with open(src, "wb") as f:
        for _ in range(n // 10000):
            f.write(line * 10000)
    start = time.perf_counter()
    subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-p", "0", "-X", "linger.ms=5",
                    "-X", "batch.num.messages=100000", "-X", "batch.size=1000000", "-l", str(src)],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records-100", type=int, default=1_000_000)
    ap.add_argument("--records-1k", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kafkapy-bench-") as tmp:
        zk = ZooKeeperServer(Path(tmp) / "zk")
        zk.start()
        broker = BrokerProcess(Path(tmp) / "broker", zk.connect_string + "/bench", broker_id=0)
        try:
            broker.start()
            print(f"broker pid {broker.pid} on {broker.bootstrap}")
            for size, n in ((100, args.records_100), (1024, args.records_1k)):
                topic = f"bench-{size}"
                create_topic(zk.connect_string + "/bench", topic, 1)
                wait_for_leaders(broker.bootstrap, topic, 1)
                cpu0 = cpu_seconds(broker.pid)
                secs, errors = produce(broker.bootstrap, topic, n, size)
                cpu1 = cpu_seconds(broker.pid)
                mb = n * size / 1e6
                print(f"produce {size:5d} B x {n:>9,}: {mb / secs:8.1f} MB/s {n / secs:>12,.0f} records/s "
                      f"({secs:.2f} s, {errors} errors; broker CPU {cpu1 - cpu0:.2f} s)")
                secs, total = consume(broker.bootstrap, topic, n)
                cpu2 = cpu_seconds(broker.pid)
                print(f"consume {size:5d} B x {n:>9,}: {total / 1e6 / secs:8.1f} MB/s {n / secs:>12,.0f} records/s "
                      f"({secs:.2f} s; broker CPU {cpu2 - cpu1:.2f} s)")
                ktopic = f"kcat-{size}"
                create_topic(zk.connect_string + "/bench", ktopic, 1)
                wait_for_leaders(broker.bootstrap, ktopic, 1)
                secs = kcat_produce(broker.bootstrap, ktopic, n, size, tmp)
                if secs is not None:
                    print(f"kcat produce {size:5d} B x {n:>9,}: {n * size / 1e6 / secs:8.1f} MB/s "
                          f"{n / secs:>12,.0f} records/s ({secs:.2f} s, C client: the broker's side of the cost)")
            rss = broker.peak_rss_kib()
            print(f"broker peak RSS (VmHWM): {rss / 1024:.1f} MiB" if rss else "broker peak RSS: unknown")
        finally:
            broker.stop()
            zk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
