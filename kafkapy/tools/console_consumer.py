"""kafka-console-consumer.sh: print records of a topic (Kafka 2.8's ConsoleConsumer).

Records are printed by ``DefaultMessageFormatter`` with Kafka's properties (print.timestamp,
print.partition, print.offset, print.headers, print.key, print.value, key.separator,
line.separator, headers.separator, null.literal); ``Processed a total of N messages`` ends the
run on stderr.

Partitions: with ``--partition`` the consumer is assigned that partition and starts at
``--offset`` (a group given then is an error, as in Kafka). Otherwise the consumer subscribes
(``--topic``) or pattern-subscribes (``--whitelist``) through the group coordinator
(``ConsumerGroupMembership``): the group is ``--group`` or ``group.id`` from
``--consumer-property``/``--consumer.config`` (all must agree), else a throwaway
``console-consumer-NNNNN`` group without auto-commit, as Kafka 2.8 does. ``--from-beginning``
sets ``auto.offset.reset=earliest``, so a group with committed offsets resumes from them.
Offsets are auto-committed and committed once more when the tool exits.

``--zookeeper host:port[/chroot]`` is the 0.8-1.x tool's legacy mode: the ZooKeeper-coordinated
high-level consumer (``ZookeeperConsumerConnector``) with offsets under
``/consumers/<group>/offsets``; a throwaway group's ``/consumers/<group>`` is removed on exit.
``GROUP_MODE`` (``async (args, consumer_props) -> Consumer``) still overrides how a subscribed
consumer is built when set.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, BinaryIO, TextIO

from kafkapy.clients.consumer import Consumer, ConsumerRecord
from kafkapy.clients.consumer.group import ConsumerGroupMembership
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
    Opt("--delete-consumer-offsets", None, "With --zookeeper: delete the group's offsets in ZooKeeper first."),
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
    Opt("--zookeeper", "<String: urls>", "Legacy (0.8-1.x) mode: the ZooKeeper connect string "
        "host:port[/chroot]; the group is coordinated and its offsets kept in ZooKeeper."),
]

PARSER = ToolParser("kafka-console-consumer.sh", OPTIONS, DESCRIPTION)

# Filled in by the group membership support: builds a subscribed consumer for --group.
GROUP_MODE: Callable[[argparse.Namespace, dict[str, Any]], Awaitable[Consumer]] | None = None

_TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}

LEGACY_WARNING = ("Using the ConsoleConsumer with old consumer is deprecated and will be removed in a future major "
                  "release. Consider using the new consumer by passing [bootstrap-server] instead of [zookeeper].")


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


def _given(argv: Sequence[str], option: str) -> bool:
    """Whether `option` appears on the command line (not merely through its default)."""
    return any(a == option or a.startswith(option + "=") for a in argv)


def _check(args: argparse.Namespace, argv: Sequence[str] = ()) -> None:
    args.offset_given = _given(argv, "--offset")
    if args.zookeeper is not None:
        _check_legacy(args)
    else:
        if args.bootstrap_server is None:
            raise UsageError('Missing required argument "[bootstrap-server]"')
        if args.delete_consumer_offsets:
            raise UsageError("Option [delete-consumer-offsets] is not valid with [bootstrap-server].")
        topic_args = [a for a in (args.topic, args.whitelist) if a is not None]
        if len(topic_args) != 1:
            raise UsageError("Exactly one of whitelist/topic is required.")
    if args.partition is not None:
        if args.topic is None:
            raise UsageError("The topic is required when partition is specified.")
        if args.from_beginning and args.offset_given:
            raise UsageError("Options from-beginning and offset cannot be specified together.")
    elif args.offset_given:
        raise UsageError("The partition is required when offset is specified.")
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


def _check_legacy(args: argparse.Namespace) -> None:
    if args.bootstrap_server is not None:
        raise UsageError("Option [bootstrap-server] is not valid with [zookeeper].")
    if len([a for a in (args.topic, args.whitelist) if a is not None]) != 1:
        raise UsageError("Exactly one of whitelist/blacklist/topic is required.")
    if args.partition is not None or args.offset_given:
        raise UsageError("Option [partition] and [offset] are not valid with [zookeeper].")


def _resolve_group(args: argparse.Namespace, file_props: dict[str, Any], cli_props: dict[str, Any]) -> str | None:
    """Kafka 2.8: --group, group.id of --consumer.config and of --consumer-property must agree."""
    given: list[str] = []
    for g in (args.group, file_props.get("group.id"), cli_props.get("group.id")):
        if g is not None and str(g) not in given:
            given.append(str(g))
    if len(given) > 1:
        raise UsageError("The group ids provided in different places (directly using '--group', via "
                         "'--consumer-property', or via '--consumer.config') do not match. Detected group ids: "
                         + ", ".join(f"'{g}'" for g in given))
    return given[0] if given else None


def consumer_props(args: argparse.Namespace) -> dict[str, Any]:
    """The consumer's properties as Kafka 2.8's ConsoleConsumer builds them (sets ``args.group_passed``)."""
    file_props: dict[str, Any] = load_properties_file(args.consumer_config) if args.consumer_config else {}
    cli_props: dict[str, Any] = parse_properties_list(args.consumer_property)
    group = _resolve_group(args, file_props, cli_props)
    props: dict[str, Any] = {**file_props, **cli_props}
    args.group_passed = group is not None
    if group is not None:
        props["group.id"] = group
        if args.partition is not None:
            raise UsageError("Options group and partition cannot be specified together.")
    else:
        props["group.id"] = f"console-consumer-{random.randrange(100000)}"
        # A throwaway group: nothing to resume later, so nothing is committed unless asked for.
        props.setdefault("enable.auto.commit", "false")
    if args.from_beginning:
        reset = props.get("auto.offset.reset")
        if reset is not None and str(reset) != "earliest":
            raise CommandError(f"Can't simultaneously specify --from-beginning and 'auto.offset.reset={reset}', "
                               "please remove one option")
        props["auto.offset.reset"] = "earliest"
    else:
        props.setdefault("auto.offset.reset", "latest")
    props["bootstrap.servers"] = args.bootstrap_server
    props.setdefault("client.id", "console-consumer")
    props["isolation.level"] = args.isolation_level
    for k in ("key.deserializer", "value.deserializer"):
        props.pop(k, None)
    return props


def whitelist_regex(whitelist: str) -> str:
    """Kafka's Whitelist: commas separate alternatives, blanks and quotes are dropped."""
    return whitelist.strip().replace(",", "|").replace(" ", "").replace('"', "")


async def _build_consumer(args: argparse.Namespace, props: dict[str, Any]) -> Consumer:
    if args.partition is None and GROUP_MODE is not None:
        return await GROUP_MODE(args, props)
    consumer = Consumer(props)
    if args.partition is None:
        membership = ConsumerGroupMembership.attach(consumer)
        try:
            await consumer.start()
            if args.whitelist is not None:
                await membership.subscribe_pattern(consumer, whitelist_regex(args.whitelist))
            else:
                await consumer.subscribe([args.topic])
        except BaseException:
            await consumer.close()
            raise
        return consumer
    await consumer.start()
    tps = [TopicPartition(args.topic, args.partition)]
    consumer.assign(tps)
    if args.offset_given and args.offset != "latest":
        if args.offset == "earliest":
            consumer.seek_to_beginning(tps)
        else:
            consumer.seek(tps[0], int(args.offset))
    elif args.from_beginning:
        consumer.seek_to_beginning(tps)
    else:
        consumer.seek_to_end(tps)
    return consumer


class _LegacySource:
    """--zookeeper: the ZooKeeper-coordinated high-level consumer behind the console loop."""

    def __init__(self, args: argparse.Namespace) -> None:
        from kafkapy.clients.legacy import ZookeeperConsumerConnector
        props: dict[str, Any] = load_properties_file(args.consumer_config) if args.consumer_config else {}
        props.update(parse_properties_list(args.consumer_property))
        if args.group is not None:
            props["group.id"] = args.group
        self.group_passed = "group.id" in props
        if not self.group_passed:
            props["group.id"] = f"console-consumer-{random.randrange(100000)}"
        props["zookeeper.connect"] = args.zookeeper
        props["auto.offset.reset"] = "smallest" if args.from_beginning else props.get("auto.offset.reset",
                                                                                       "largest")
        self.group = str(props["group.id"])
        self.delete_first = bool(args.delete_consumer_offsets)
        self.from_beginning = bool(args.from_beginning)
        known = ("zookeeper.connect", "group.id", "consumer.id", "auto.commit.enable", "auto.commit.interval.ms",
                 "auto.offset.reset", "rebalance.max.retries", "rebalance.backoff.ms",
                 "zookeeper.session.timeout.ms", "partition.assignment.strategy", "exclude.internal.topics",
                 "client.id")
        config = {k: v for k, v in props.items() if k in known}
        if args.whitelist is not None:
            self.connector = ZookeeperConsumerConnector(config, whitelist=whitelist_regex(args.whitelist))
        else:
            self.connector = ZookeeperConsumerConnector(config, {args.topic: 1})

    async def start(self) -> None:
        from kafkapy.zk.kafka_zk import KafkaZkClient
        zk = await KafkaZkClient.connect(self.connector.config["zookeeper.connect"])
        try:
            if not await zk.get_sorted_broker_ids():
                raise CommandError("No brokers found in ZK.")
            path = f"/consumers/{self.group}"
            if self.delete_first:
                await zk.zk.delete(path, recursive=True)
            elif self.from_beginning and await zk.zk.exists(f"{path}/offsets") is not None:
                raise CommandError(f"Found previous offset information for this group {self.group}. Please use "
                                   "--delete-consumer-offsets to delete previous offsets metadata")
        finally:
            await zk.close()
        await self.connector.start()

    async def poll(self, timeout_ms: int, max_records: int | None = None) -> list[ConsumerRecord]:
        records = await self.connector.poll(timeout_ms)
        if max_records is not None and len(records) > max_records:
            # Only what is printed counts as consumed: move positions back to the first dropped record.
            for r in reversed(records[max_records:]):
                self.connector.positions[TopicPartition(r.topic, r.partition)] = r.offset
            records = records[:max_records]
        return records

    async def close(self) -> None:
        await self.connector.shutdown()
        if not self.group_passed:
            from kafkapy.zk.kafka_zk import KafkaZkClient
            zk = await KafkaZkClient.connect(self.connector.config["zookeeper.connect"])
            try:
                await zk.zk.delete(f"/consumers/{self.group}", recursive=True)
            finally:
                await zk.close()


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
        _check(args, argv)
        props = consumer_props(args) if args.zookeeper is None else {}
        formatter = DefaultMessageFormatter(parse_properties_list(args.property))
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    except CommandError as exc:
        err.write(f"{exc}\n")
        return 1
    count = 0
    status = 0
    consumer: Consumer | _LegacySource | None = None
    loop = asyncio.get_running_loop()
    try:
        if args.zookeeper is not None:
            err.write(LEGACY_WARNING + "\n")
            err.flush()
            legacy = _LegacySource(args)
            await legacy.start()
            consumer = legacy
        else:
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
    except CommandError as exc:
        err.write(f"{exc}\n")
        status = 1
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
