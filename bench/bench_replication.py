"""Replication benchmark: RF 3 on 3 kafkapy broker processes, acks=all vs acks=1.

Throughput: a confluent-kafka producer writes N records of `--size` bytes to one partition
(RF 3, min.insync.replicas=2) as fast as it can; MB/s counts until the last delivery report.
Latency: a second run sends one record at a time (`--latency-records`), each awaited, and
reports p50/p99 of the produce round trip (acks=all waits for both followers' fetches).

    .venv/bin/python bench/bench_replication.py [--records 200000] [--size 1000] [--latency-records 2000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Producer  # noqa: E402

from bench_broker import produce  # noqa: E402  (bench/ is the script's directory)
from kafkapy.testing.cluster import LocalCluster  # noqa: E402


def latencies(bootstrap: str, topic: str, acks: str, n: int, size: int) -> list[float]:
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 0, "enable.idempotence": False})
    value = b"y" * size
    out: list[float] = []
    for _ in range(n):
        done: list[float] = []
        t0 = time.perf_counter()
        p.produce(topic, value, partition=0, on_delivery=lambda err, msg: done.append(time.perf_counter()))
        while not done:
            p.poll(0.0005)
        out.append((done[0] - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--latency-records", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-repl-") as d:
        with LocalCluster(brokers=3, base_dir=d, broker_config={"auto.leader.rebalance.enable": "false"}) as c:
            rows = []
            for acks in ("all", "1"):
                topic = f"bench-acks-{acks}"
                c.create_topic(topic, 1, 3, {"min.insync.replicas": "2"})
                c.wait_for(lambda: len(c.isr(topic, 0)) == 3, 60, "a full ISR")
                secs, errors = produce(c.bootstrap_servers, topic, args.records, args.size, acks)
                mb = args.records * args.size / secs / 1e6
                lat = latencies(c.bootstrap_servers, topic, acks, args.latency_records, 100)
                rows.append((acks, mb, args.records / secs, errors, pct(lat, 0.5), pct(lat, 0.99),
                             statistics.mean(lat)))
            print(f"RF 3, 3 brokers, 1 partition, {args.records} x {args.size} B records; latency: "
                  f"{args.latency_records} sequential 100 B records")
            print(f"{'acks':>5} {'MB/s':>8} {'rec/s':>10} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
            for acks, mb, rps, errors, p50, p99, mean in rows:
                print(f"{acks:>5} {mb:8.1f} {rps:10.0f} {errors:7d} {p50:8.2f} {p99:8.2f} {mean:8.2f}")


if __name__ == "__main__":
    main()
