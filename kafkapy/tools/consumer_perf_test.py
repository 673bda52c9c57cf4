"""kafka-consumer-perf-test.sh: consume N records as fast as possible and report throughput
(Kafka 2.8's ConsumerPerformance).

Output: the header ``start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec`` and one summary line;
with ``--show-detailed-stats`` a ``time, threadId, ...`` header and one line per reporting
interval instead. The consumer subscribes to the topic in its group (``--group``, default
``perf-consumer-NNNNN``) through the group coordinator, as Kafka's tool does: the time spent
joining the group is rebalance.time.ms and is left out of fetch.time.ms. Without committed
offsets the group starts at the earliest offset (``--from-latest``: the latest); offsets are
auto-committed and committed on exit.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from kafkapy.clients.consumer import Consumer
from kafkapy.clients.consumer.group import ConsumerGroupMembership
from kafkapy.clients.errors import KafkaClientError
from kafkapy.common.errors import ApiError
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, load_properties_file, run_tool

DESCRIPTION = ("This tool helps in performance test for the full zookeeper consumer")

OPTIONS = [
    Opt("--bootstrap-server", "<String: server to connect to>", "REQUIRED unless --broker-list (deprecated) is "
        "given: the broker(s) to connect to."),
    Opt("--broker-list", "<String: broker-list>", "DEPRECATED, use --bootstrap-server instead."),
    Opt("--consumer.config", "<String: config file>", "A file of consumer properties."),
    Opt("--date-format", "<String: date format>", "The date format of the output (Java SimpleDateFormat "
        "subset).", default="yyyy-MM-dd HH:mm:ss:SSS"),
    Opt("--fetch-size", "<Integer: size>", "Bytes to fetch per partition per request.", default="1048576"),
    Opt("--from-latest", None, "Start from the latest offset instead of the earliest."),
    Opt("--group", "<String: gid>", "The consumer group id.", default="perf-consumer-" + str(random.randrange(100000))),
    Opt("--help", None, "Show this help."),
    Opt("--hide-header", None, "Do not print the header line."),
    Opt("--messages", "<Long: count>", "REQUIRED: how many records to consume."),
    Opt("--num-fetch-threads", "<Integer: count>", "Number of fetcher threads (ignored).", default="1"),
    Opt("--print-metrics", None, "Print client metrics at the end."),
    Opt("--reporting-interval", "<Integer: interval_ms>", "Interval between detailed stats lines.",
        default="5000"),
    Opt("--show-detailed-stats", None, "Print a stats line every reporting interval."),
    Opt("--socket-buffer-size", "<Integer: size>", "The TCP receive buffer size.", default="2097152"),
    Opt("--threads", "<Integer: count>", "Number of processing threads (ignored).", default="10"),
    Opt("--timeout", "<Long: milliseconds>", "Give up when no record arrived for this long.", default="10000"),
    Opt("--topic", "<String: topic>", "REQUIRED: the topic to consume from."),
    Opt("--version", None, "Print the Kafka version."),
]
PARSER = ToolParser("kafka-consumer-perf-test.sh", OPTIONS, DESCRIPTION)

HEADER = ("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
          "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
DETAILED_HEADER = ("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                   "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")


def java_date(ms: float, fmt: str) -> str:
    """The subset of SimpleDateFormat Kafka's default uses (yyyy MM dd HH mm ss SSS)."""
    dt = datetime.fromtimestamp(ms / 1000)
    out = fmt
    for token, value in (("yyyy", f"{dt.year:04d}"), ("MM", f"{dt.month:02d}"), ("dd", f"{dt.day:02d}"),
                         ("HH", f"{dt.hour:02d}"), ("mm", f"{dt.minute:02d}"), ("ss", f"{dt.second:02d}"),
                         ("SSS", f"{dt.microsecond // 1000:03d}")):
        out = out.replace(token, value)
    return out


def _rate(amount: float, ms: float) -> float:
    return amount / (ms / 1000.0) if ms > 0 else float("nan")


def _fmt(x: float) -> str:
    return "NaN" if x != x else f"{x:.4f}"


async def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        return PARSER.print_usage_and_die(DESCRIPTION, err)
    try:
        args = PARSER.parse(argv)
        if args.help:
            return PARSER.print_usage_and_die(DESCRIPTION, err)
        if args.topic is None:
            raise UsageError('Missing required argument "[topic]"')
        if args.messages is None:
            raise UsageError('Missing required argument "[messages]"')
        if args.bootstrap_server is None and args.broker_list is None:
            raise UsageError("Missing required option(s) [bootstrap-server]")
        try:
            messages = int(args.messages)
            timeout_ms = int(args.timeout)
            interval_ms = int(args.reporting_interval)
            fetch_size = int(args.fetch_size)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    props: dict[str, object] = {}
    try:
        if args.consumer_config:
            props.update(load_properties_file(args.consumer_config))
    except CommandError as exc:
        err.write(f"{exc}\n")
        return 1
    props.update({"bootstrap.servers": args.bootstrap_server or args.broker_list, "group.id": args.group,
                  "max.partition.fetch.bytes": fetch_size, "client.id": "perf-consumer-client",
                  "auto.offset.reset": "latest" if args.from_latest else "earliest"})
    if not args.hide_header:
        out.write((DETAILED_HEADER if args.show_detailed_stats else HEADER) + "\n")
    total_bytes = 0
    total_msgs = 0
    start_ms = time.time() * 1000
    consumer = Consumer(props)
    ConsumerGroupMembership.attach(consumer)
    rebalance_ms = 0.0
    try:
        await consumer.start()
        join_start = time.time() * 1000
        await consumer.subscribe([args.topic])
        rebalance_ms = time.time() * 1000 - join_start
        loop = asyncio.get_running_loop()
        last_consumed = loop.time()
        last_report_ms = start_ms
        last_bytes = last_msgs = 0
        while total_msgs < messages and (loop.time() - last_consumed) * 1000 <= timeout_ms:
            records = await consumer.poll(100, max_records=min(messages - total_msgs, 100_000))
            if records:
                last_consumed = loop.time()
            for r in records:
                total_bytes += (len(r.key) if r.key else 0) + (len(r.value) if r.value else 0)
            total_msgs += len(records)
            now_ms = time.time() * 1000
            if args.show_detailed_stats and now_ms - last_report_ms >= interval_ms:
                window = now_ms - last_report_ms
                mb = (total_bytes - last_bytes) / (1024 * 1024)
                n = total_msgs - last_msgs
                out.write(f"{java_date(now_ms, args.date_format)}, 0, {total_bytes / (1024 * 1024):.4f}, "
                          f"{_fmt(_rate(mb, window))}, {total_msgs}, {_fmt(_rate(n, window))}, "
                          f"{rebalance_ms:.0f}, {window:.0f}, "
                          f"{_fmt(_rate(mb, window))}, {_fmt(_rate(n, window))}\n")
                out.flush()
                last_report_ms, last_bytes, last_msgs = now_ms, total_bytes, total_msgs
        if total_msgs < messages:
            out.write(f"WARNING: Exiting before consuming the expected number of messages: timeout ({timeout_ms} ms) "
                      "exceeded. You can use the --timeout option to increase the timeout.\n")
    except BrokenPipeError:
        return 1
    except (ApiError, KafkaClientError, OSError, ValueError) as exc:
        err.write(f"{exc}\n")
        return 1
    finally:
        await consumer.close()
    end_ms = time.time() * 1000
    if not args.show_detailed_stats:
        elapsed = end_ms - start_ms
        mb = total_bytes / (1024 * 1024)
        fetch_ms = elapsed - rebalance_ms
        out.write(f"{java_date(start_ms, args.date_format)}, {java_date(end_ms, args.date_format)}, {mb:.4f}, "
                  f"{_fmt(_rate(mb, elapsed))}, {total_msgs}, {_fmt(_rate(total_msgs, elapsed))}, "
                  f"{rebalance_ms:.0f}, {fetch_ms:.0f}, "
                  f"{_fmt(_rate(mb, fetch_ms))}, {_fmt(_rate(total_msgs, fetch_ms))}\n")
    return 0


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdout, sys.stderr))
