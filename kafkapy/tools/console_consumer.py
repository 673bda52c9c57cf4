"""kafka-console-consumer.sh: print records of a topic (Kafka 2.8's ConsoleConsumer).

Records are printed by ``DefaultMessageFormatter`` with Kafka's properties (print.timestamp,
print.partition, print.offset, print.headers, print.key, print.value, key.separator,
line.separator, headers.separator, null.literal); ``Processed a total of N messages`` ends the
run on stderr.

Partitions: with ``--partition`` the consumer is assigned that partition; without it every
partition of the topic is assigned. Group membership (``--group``, committed offsets) needs the
group coordinator client: ``GROUP_MODE`` is the hook the group helper fills in
(``async (args, consumer_props) -> Consumer``); until then ``--group`` falls back to
assigning all partitions.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, BinaryIO, TextIO

from kafkapy.clients.consumer import Consumer, ConsumerRecord
from kafkapy.clients.errors import KafkaClientError
from kafkapy.common.errors import ApiError
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import RecordsError
from kafkapy.tools._common import (CommandError, Opt, ToolParser, UsageError, load_properties_file,
                                   parse_properties_list, run_tool)

DESCRIPTION = "This tool helps to read data from Kafka topics and outputs it to standard output."

OPTIONS = [
    Opt("--bootstrap-server", "<String: server to connect to>", "REQUIRED: the broker(s) to connect to."),
    Opt("--consumer-property", "<String: consumer_prop>", "A consumer property as key=value; may be given "
        "several times.", multi=True),
    Opt("--consumer.config", "<String: config file>", "A file of consumer properties. --consumer-property "
        "values take precedence."),
    Opt("--enable-systest-events", None, "Also print consumer lifecycle events (for system tests)."),
    Opt("--formatter", "<String: class>", "The formatter class for records.",
        default="kafka.tools.DefaultMessageFormatter"),
    Opt("--from-beginning", None, "Start with the earliest record when the consumer has no committed offset "
        "(instead of the latest)."),
    Opt("--group", "<String: consumer group id>", "The consumer group id."),
    Opt("--help", None, "Show this help."),
    Opt("--isolation-level", "<String>", "read_committed hides records of aborted transactions; "
        "read_uncommitted shows everything.", default="read_uncommitted"),
    Opt("--key-deserializer", "<String: deserializer for key>", ""),
    Opt("--max-messages", "<Integer: num_messages>", "Stop after this many records (default: no limit)."),
    Opt("--offset", "<String: consume offset>", "Where to start in the partition: a non-negative offset, "
        "'earliest' or 'latest'.", default="latest"),
    Opt("--partition", "<Integer: partition>", "Consume this partition only (from the end unless "
        "--offset or --from-beginning says otherwise)."),
    Opt("--property", "<String: prop>", "A formatter property: print.timestamp, print.key, print.offset, "
        "print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, "
        "null.literal.", multi=True),
    Opt("--skip-message-on-error", None, "Skip a record that cannot be processed instead of stopping."),
    Opt("--timeout-ms", "<Integer: timeout_ms>", "Exit when no record arrived for this long."),
    Opt("--topic", "<String: topic>", "The topic to consume."),
    Opt("--value-deserializer", "<String: deserializer for values>", ""),
    Opt("--version", None, "Print the Kafka version."),
    Opt("--whitelist", "<String: whitelist>", "A regular expression of topics to consume (not with "
        "--topic)."),
]

PARSER = ToolParser("kafka-console-consumer.sh", OPTIONS, DESCRIPTION)

# Filled in by the group membership support: builds a subscribed consumer for --group.
GROUP_MODE: Callable[[argparse.Namespace, dict[str, Any]], Awaitable[Consumer]] | None = None

_TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}


def _unescape(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in text else text


class DefaultMessageFormatter:
    """Kafka's DefaultMessageFormatter: optional columns separated by key.separator."""

    def __init__(self, props: dict[str, str]) -> None:
        def flag(name: str, default: bool = False) -> bool:
            return props.get(name, str(default)).strip().lower() == "true"
        self.print_timestamp = flag("print.timestamp")
        self.print_key = flag("print.key")
        self.print_offset = flag("print.offset")
        self.print_partition = flag("print.partition")
        self.print_headers = flag("print.headers")
        self.print_value = flag("print.value", True)
        self.key_separator = _unescape(props.get("key.separator", "\t")).encode()
        self.line_separator = _unescape(props.get("line.separator", "\n")).encode()
        self.headers_separator = _unescape(props.get("headers.separator", ",")).encode()
        self.null_literal = props.get("null.literal", "null").encode()

    def format(self, r: ConsumerRecord) -> bytes:
        cols: list[bytes] = []
        if self.print_timestamp:
            ttype = _TIMESTAMP_TYPES.get(r.timestamp_type) if r.timestamp >= 0 else None
            cols.append(f"{ttype}:{r.timestamp}".encode() if ttype else b"NO_TIMESTAMP")
        if self.print_partition:
            cols.append(b"Partition:%d" % r.partition)
        if self.print_offset:
            cols.append(b"Offset:%d" % r.offset)
        if self.print_headers:
            if r.headers:
                cols.append(self.headers_separator.join(
                    k.encode() + b":" + (self.null_literal if v is None else bytes(v)) for k, v in r.headers))
            else:
                cols.append(b"NO_HEADERS")
        if self.print_key:
            cols.append(self.null_literal if r.key is None else bytes(r.key))
        if self.print_value:
            cols.append(self.null_literal if r.value is None else bytes(r.value))
            return self.key_separator.join(cols) + self.line_separator
        if not cols:
            return b""
        return self.key_separator.join(cols) + self.line_separator


def _check(args: argparse.Namespace) -> None:
    if args.bootstrap_server is None:
        raise UsageError('Missing required argument "[bootstrap-server]"')
    topic_args = [a for a in (args.topic, args.whitelist) if a is not None]
    if len(topic_args) != 1:
        raise UsageError("Exactly one of whitelist/topic is required.")
    if args.partition is not None and args.topic is None:
        raise UsageError("The topic is required when partition is specified.")
    if args.offset != "latest" and args.partition is None:
        raise UsageError("The partition is required when offset is specified.")
    if args.from_beginning and args.offset != "latest":
        raise UsageError("Options from-beginning and offset cannot be specified together.")
    if args.partition is not None:
        try:
            args.partition = int(args.partition)
        except ValueError:
            raise UsageError(f"Cannot parse argument '{args.partition}' of option partition") from None
    for name in ("max_messages", "timeout_ms"):
        value = getattr(args, name)
        if value is not None:
            try:
                setattr(args, name, int(value))
            except ValueError:
                raise UsageError(f"Cannot parse argument '{value}' of option {name.replace('_', '-')}") from None
    if args.offset not in ("earliest", "latest"):
        try:
            if int(args.offset) < 0:
                raise ValueError
        except ValueError:
            raise UsageError("The provided offset value is incorrect. Valid values are 'earliest', 'latest', or a "
                             "non-negative long.") from None


def consumer_props(args: argparse.Namespace) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if args.consumer_config:
        props.update(load_properties_file(args.consumer_config))
    props.update(parse_properties_list(args.consumer_property))
    props["bootstrap.servers"] = args.bootstrap_server
    props.setdefault("auto.offset.reset", "earliest" if args.from_beginning else "latest")
    props["isolation.level"] = args.isolation_level
    if args.group is not None:
        props["group.id"] = args.group
    for k in ("key.deserializer", "value.deserializer", "group.id", "enable.auto.commit"):
        if k == "group.id" and args.group is not None:
            continue
        props.pop(k, None)
    return props


async def _build_consumer(args: argparse.Namespace, props: dict[str, Any]) -> Consumer:
    if args.group is not None and GROUP_MODE is not None and args.partition is None:
        return await GROUP_MODE(args, props)
    consumer = Consumer(props)
    await consumer.start()
    if args.partition is not None:
        tps = [TopicPartition(args.topic, args.partition)]
    else:
        import re
        md = await consumer.client.refresh_metadata(None if args.whitelist else [args.topic],
                                                    allow_auto_topic_creation=False)
        if args.whitelist:
            rx = re.compile(args.whitelist.strip().replace(",", "|").replace(" ", ""))
            names = sorted(t for t in md.topics if rx.fullmatch(t) and not md.topics[t].is_internal)
        else:
            names = [args.topic]
        tps = [TopicPartition(t, p) for t in names for p in sorted(md.topics[t].partitions)
               if t in md.topics]
    consumer.assign(tps)
    if args.partition is not None and args.offset not in ("latest",):
        if args.offset == "earliest":
            consumer.seek_to_beginning(tps)
        else:
            consumer.seek(tps[0], int(args.offset))
    elif args.from_beginning:
        consumer.seek_to_beginning(tps)
    else:
        consumer.seek_to_end(tps)
    return consumer


async def run(argv: Sequence[str], out: BinaryIO, err: TextIO) -> int:
    if not argv:
        return PARSER.print_usage_and_die(DESCRIPTION, err)
    try:
        args = PARSER.parse(argv)
        if args.help:
            return PARSER.print_usage_and_die(DESCRIPTION, err)
        if args.version:
            out.write(b"2.8.2 (kafkapy)\n")
            return 0
        _check(args)
        props = consumer_props(args)
        formatter = DefaultMessageFormatter(parse_properties_list(args.property))
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    except CommandError as exc:
        err.write(f"{exc}\n")
        return 1
    count = 0
    status = 0
    consumer: Consumer | None = None
    loop = asyncio.get_running_loop()
    try:
        consumer = await _build_consumer(args, props)
        last_data = loop.time()
        while args.max_messages is None or count < args.max_messages:
            wait_ms = 1000 if args.timeout_ms is None else max(0, int(args.timeout_ms - (loop.time() - last_data)
                                                                      * 1000))
            limit = None if args.max_messages is None else args.max_messages - count
            try:
                records = await consumer.poll(wait_ms, max_records=limit)
            except RecordsError as exc:
                if args.skip_message_on_error:
                    continue
                raise
            if not records:
                if args.timeout_ms is not None and (loop.time() - last_data) * 1000 >= args.timeout_ms:
                    break
                continue
            last_data = loop.time()
            chunks = []
            for r in records:
                chunks.append(formatter.format(r))
            out.write(b"".join(chunks))
            out.flush()
            count += len(records)
    except (ApiError, KafkaClientError, RecordsError, OSError, ValueError) as exc:
        err.write(f"ERROR Error processing message, terminating consumer process:  {exc}\n")
        status = 1
    except asyncio.CancelledError:
        pass
    finally:
        err.write(f"Processed a total of {count} messages\n")
        err.flush()
        if consumer is not None:
            await consumer.close()
    return status


def main() -> None:
    run_tool(lambda a: run(a, sys.stdout.buffer, sys.stderr))


if __name__ == "__main__":
    main()
