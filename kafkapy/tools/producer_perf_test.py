"""kafka-producer-perf-test.sh: produce N records at a target rate and report latency (Kafka 2.8's
ProducerPerformance).

Every 5 s it prints ``N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max latency.``
and at the end the summary with the 50th/95th/99th/99.9th latency percentiles. Latency is
measured per record from ``send`` to its acknowledgement; percentiles come from at most
500,000 evenly spaced samples, as Kafka does. Options are parsed argparse-style (Kafka uses
argparse4j for this tool), so errors print a usage line and ``producer-performance: error: ...``.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from kafkapy.clients.errors import KafkaClientError
from kafkapy.clients.producer import Producer, RecordMetadata
from kafkapy.common.errors import ApiError
from kafkapy.tools._common import CommandError, load_properties_file, run_tool

PROG = "producer-performance"
REPORTING_INTERVAL_MS = 5000


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:         # type: ignore[override]
        raise _ArgError(message)


def build_parser() -> _Parser:
    p = _Parser(prog=PROG, add_help=True,
                description="This tool is used to verify the producer performance.")
    p.add_argument("--topic", required=True, metavar="TOPIC", help="produce messages to this topic")
    p.add_argument("--num-records", required=True, type=int, metavar="NUM-RECORDS", help="number of messages "
                   "to produce")
    payload = p.add_mutually_exclusive_group(required=True)
    payload.add_argument("--record-size", type=int, metavar="RECORD-SIZE", help="message size in bytes")
    payload.add_argument("--payload-file", metavar="PAYLOAD-FILE", help="file of payloads, one is picked at random "
                         "for each record")
    p.add_argument("--payload-delimiter", default="\\n", metavar="PAYLOAD-DELIMITER",
                   help="delimiter of the payloads in --payload-file (default: \\n)")
    p.add_argument("--throughput", required=True, type=float, metavar="THROUGHPUT", help="throttle to about this "
                   "many records/sec; -1 disables throttling")
    p.add_argument("--producer-props", nargs="+", metavar="PROP-NAME=PROP-VALUE", help="producer properties")
    p.add_argument("--producer.config", dest="producer_config", metavar="CONFIG-FILE", help="producer config file")
    p.add_argument("--print-metrics", action="store_true", help="print client metrics at the end")
    p.add_argument("--transactional-id", default="performance-producer-default-transactional-id",
                   metavar="TRANSACTIONAL-ID", help="not supported by kafkapy's producer yet")
    p.add_argument("--transaction-duration-ms", type=int, default=0, metavar="TRANSACTION-DURATION",
                   help="not supported by kafkapy's producer yet")
    return p


class Stats:
    """Kafka's ProducerPerformance.Stats: windowed progress and sampled latencies."""

    def __init__(self, num_records: int, reporting_interval_ms: int, out: TextIO) -> None:
        self.start = time.monotonic()
        self.window_start = self.start
        self.sampling = num_records // min(num_records, 500_000) if num_records > 0 else 1
        self.latencies: list[int] = []
        self.iteration = 0
        self.count = 0
        self.bytes = 0
        self.max_latency = 0
        self.total_latency = 0
        self.window_count = 0
        self.window_max_latency = 0
        self.window_total_latency = 0
        self.window_bytes = 0
        self.reporting_interval_ms = reporting_interval_ms
        self.out = out

    def record(self, iteration: int, latency_ms: int, size: int, now: float) -> None:
        self.count += 1
        self.bytes += size
        self.total_latency += latency_ms
        self.max_latency = max(self.max_latency, latency_ms)
        self.window_count += 1
        self.window_bytes += size
        self.window_total_latency += latency_ms
        self.window_max_latency = max(self.window_max_latency, latency_ms)
        if iteration % self.sampling == 0:
            self.latencies.append(latency_ms)
        if (now - self.window_start) * 1000 >= self.reporting_interval_ms:
            self.print_window(now)
            self.new_window(now)

    def print_window(self, now: float) -> None:
        elapsed = max(now - self.window_start, 1e-9)
        recs = self.window_count / elapsed
        mb = self.window_bytes / elapsed / (1024.0 * 1024.0)
        avg = self.window_total_latency / self.window_count if self.window_count else 0.0
        self.out.write(f"{self.window_count} records sent, {recs:.1f} records/sec ({mb:.2f} MB/sec), "
                       f"{avg:.1f} ms avg latency, {float(self.window_max_latency):.1f} ms max latency.\n")
        self.out.flush()

    def new_window(self, now: float) -> None:
        self.window_start = now
        self.window_count = 0
        self.window_max_latency = 0
        self.window_total_latency = 0
        self.window_bytes = 0

    def percentiles(self, *ps: float) -> list[int]:
        lat = sorted(self.latencies)
        return [lat[int(p * len(lat))] if lat else 0 for p in ps]

    def print_total(self) -> None:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        recs = self.count / elapsed
        mb = self.bytes / elapsed / (1024.0 * 1024.0)
        avg = self.total_latency / self.count if self.count else 0.0
        p50, p95, p99, p999 = self.percentiles(0.5, 0.95, 0.99, 0.999)
        self.out.write(f"{self.count} records sent, {recs:f} records/sec ({mb:.2f} MB/sec), {avg:.2f} ms avg latency, "
                       f"{float(self.max_latency):.2f} ms max latency, {p50} ms 50th, {p95} ms 95th, {p99} ms 99th, "
                       f"{p999} ms 99.9th.\n")
        self.out.flush()


class ThroughputThrottler:
    """Sleeps just enough to hold `target` records/sec (no throttling when target <= 0)."""

    def __init__(self, target: float, start: float) -> None:
        self.target = target
        self.start = start

    def sleep_needed(self, sent: int, now: float) -> float:
        if self.target <= 0:
            return 0.0
        return max(0.0, sent / self.target - (now - self.start))


def _payloads(args: argparse.Namespace) -> list[bytes]:
    if args.record_size is not None:
        rng = random.Random()
        return [bytes(rng.randrange(26) + 65 for _ in range(args.record_size))]
    path = Path(args.payload_file)
    if not path.is_file():
        raise CommandError(f"File does not exist or empty file provided.")
    delim = args.payload_delimiter.encode().decode("unicode_escape")
    items = [p.encode() for p in path.read_text().split(delim) if p]
    if not items:
        raise CommandError("File does not exist or empty file provided.")
    return items


async def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except _ArgError as exc:
        err.write(parser.format_usage())
        err.write(f"{PROG}: error: {exc}\n")
        return 1
    except SystemExit as exc:               # --help
        return int(exc.code or 0)
    props: dict[str, Any] = {}
    try:
        if args.producer_config:
            props.update(load_properties_file(args.producer_config))
        for item in args.producer_props or ():
            if "=" not in item:
                raise CommandError(f"Invalid property: {item}")
            k, v = item.split("=", 1)
            props[k] = v
        if "bootstrap.servers" not in props:
            raise CommandError('Missing required configuration "bootstrap.servers" which has no default value.')
        payloads = _payloads(args)
        producer = Producer(props)
        await producer.start()
    except (CommandError, ValueError, ApiError, KafkaClientError, OSError) as exc:
        err.write(f"{exc}\n")
        return 1
    stats = Stats(args.num_records, REPORTING_INTERVAL_MS, out)
    throttler = ThroughputThrottler(args.throughput, time.monotonic())
    single = payloads[0] if len(payloads) == 1 else None
    rng = random.Random()
    status = 0
    try:
        for i in range(args.num_records):
            payload = single if single is not None else payloads[rng.randrange(len(payloads))]
            send_start = time.monotonic()

            def on_done(md: RecordMetadata | None, exc: BaseException | None, i: int = i,
                        send_start: float = send_start, size: int = len(payload)) -> None:
                now = time.monotonic()
                if exc is not None:
                    err.write(f"{exc}\n")
                    return
                stats.record(i, int((now - send_start) * 1000), size, now)

            await producer.send(args.topic, payload, callback=on_done)
            if args.throughput > 0:
                delay = throttler.sleep_needed(i + 1, time.monotonic())
                if delay > 0:
                    await asyncio.sleep(delay)
        await producer.flush()
    except (ApiError, KafkaClientError, OSError) as exc:
        err.write(f"{exc}\n")
        status = 1
    finally:
        await producer.close()
    stats.print_total()
    if args.print_metrics:
        out.write("\nMetric Name                                                                                 "
                  "Value\n")
    return status


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdout, sys.stderr))
