"""kafka-console-producer.sh: read lines from stdin and produce them (Kafka 2.8's ConsoleProducer).

Each line is one record; with ``--property parse.key=true`` the line is split at the first
``key.separator`` (default a tab) into key and value. A ``>`` prompt is printed before each
line when stdin is a terminal. Options keep Kafka's names and defaults.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO, TextIO

from kafkapy.clients.errors import KafkaClientError
from kafkapy.clients.producer import Producer
from kafkapy.common.errors import ApiError
from kafkapy.tools._common import (CommandError, Opt, ToolParser, UsageError, load_properties_file,
                                   parse_properties_list, run_tool)

log = logging.getLogger(__name__)

DESCRIPTION = "This tool helps to read data from standard input and publish it to Kafka."

OPTIONS = [
    Opt("--batch-size", "<Integer: size>", "How many records to send in one batch when not sending "
        "synchronously.", default="200"),
    Opt("--bootstrap-server", "<String: server to connect to>", "REQUIRED unless --broker-list (deprecated) is "
        "given: the broker(s) to connect to, host1:port1,host2:port2."),
    Opt("--broker-list", "<String: broker-list>", "DEPRECATED, use --bootstrap-server instead; ignored when "
        "--bootstrap-server is given. The broker(s) as host1:port1,host2:port2."),
    Opt("--compression-codec", "[String: compression-codec]", "The codec: 'none', 'gzip', 'snappy', 'lz4' or "
        "'zstd'. Given without a value it means 'gzip'."),
    Opt("--help", None, "Show this help."),
    Opt("--line-reader", "<String: reader_class>", "The class that reads lines from standard input.",
        default="kafka.tools.ConsoleProducer$LineMessageReader"),
    Opt("--max-block-ms", "<Long: max block on send>", "How long a send may block when the buffer is full or "
        "metadata is missing.", default="60000"),
    Opt("--max-memory-bytes", "<Long: total memory in bytes>", "The producer's buffer memory for records "
        "waiting to be sent.", default="33554432"),
    Opt("--max-partition-memory-bytes", "<Long: memory in bytes per partition>", "The batch size: records for "
        "one partition are grouped up to this many bytes.", default="16384"),
    Opt("--message-send-max-retries", "<Integer>", "How many times a failed send is retried before the record "
        "is given up.", default="3"),
    Opt("--metadata-expiry-ms", "<Long: metadata expiration interval>", "How often metadata is refreshed even "
        "without leadership changes.", default="300000"),
    Opt("--producer-property", "<String: producer_prop>", "A producer property as key=value; may be given "
        "several times.", multi=True),
    Opt("--producer.config", "<String: config file>", "A file of producer properties. --producer-property "
        "values take precedence."),
    Opt("--property", "<String: prop>", "A line reader property: parse.key, key.separator, ignore.error.",
        multi=True),
    Opt("--request-required-acks", "<String: request required acks>", "The acks setting of produce requests.",
        default="1"),
    Opt("--request-timeout-ms", "<Integer: request timeout ms>", "How long the broker may wait to satisfy "
        "acks.", default="1500"),
    Opt("--retry-backoff-ms", "<Integer>", "How long to wait before refreshing metadata and retrying.",
        default="100"),
    Opt("--socket-buffer-size", "<Integer: size>", "The TCP receive buffer size.", default="102400"),
    Opt("--sync", None, "Send each record synchronously, waiting for its acknowledgement."),
    Opt("--timeout", "<Integer: timeout_ms>", "linger.ms: how long records may wait for a batch to fill.",
        default="1000"),
    Opt("--topic", "<String: topic>", "REQUIRED: the topic to produce to."),
    Opt("--version", None, "Print the Kafka version."),
]

PARSER = ToolParser("kafka-console-producer.sh", OPTIONS, DESCRIPTION)

_CODEC_FLAG = "\0gzip"


def producer_props(args: argparse.Namespace) -> dict[str, Any]:
    """Producer properties the way ConsoleProducer derives them (file < options < --producer-property)."""
    props: dict[str, Any] = {}
    if args.producer_config:
        props.update(load_properties_file(args.producer_config))
    props["bootstrap.servers"] = args.bootstrap_server or args.broker_list
    codec = args.compression_codec
    props["compression.type"] = "none" if codec is None else ("gzip" if codec == _CODEC_FLAG else codec)
    props["linger.ms"] = args.timeout
    props["acks"] = args.request_required_acks
    props["request.timeout.ms"] = args.request_timeout_ms
    props["retries"] = args.message_send_max_retries
    props["retry.backoff.ms"] = args.retry_backoff_ms
    props["buffer.memory"] = args.max_memory_bytes
    props["batch.size"] = args.max_partition_memory_bytes
    props["metadata.max.age.ms"] = args.metadata_expiry_ms
    props["max.block.ms"] = args.max_block_ms
    props["client.id"] = "console-producer"
    props.update(parse_properties_list(args.producer_property))
    return props


def _unescape(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in text else text


class LineMessageReader:
    """Splits stdin lines into (key, value) as Kafka's LineMessageReader does."""

    def __init__(self, props: dict[str, str]) -> None:
        self.parse_key = props.get("parse.key", "false").strip().lower() == "true"
        self.key_separator = _unescape(props.get("key.separator", "\t")).encode()
        self.ignore_error = props.get("ignore.error", "false").strip().lower() == "true"
        self.line_number = 0

    def parse(self, line: bytes) -> tuple[bytes | None, bytes] | None:
        self.line_number += 1
        if not self.parse_key:
            return None, line
        idx = line.find(self.key_separator)
        if idx < 0:
            if self.ignore_error:
                return None, line
            raise CommandError(f"No key found on line {self.line_number}: {line.decode(errors='replace')}")
        return line[:idx], line[idx + len(self.key_separator):]


def _check(args: argparse.Namespace) -> None:
    if args.bootstrap_server is None and args.broker_list is None:
        raise UsageError("Missing required option(s) [bootstrap-server]")
    if args.topic is None:
        raise UsageError('Missing required argument "[topic]"')
    if args.compression_codec is not None and args.compression_codec not in ("none", "gzip", "snappy", "lz4",
                                                                               "zstd", _CODEC_FLAG):
        raise UsageError(f"Invalid value {args.compression_codec} for configuration compression.type: String must "
                         "be one of: none, gzip, snappy, lz4, zstd")


def _normalize_argv(argv: Sequence[str]) -> list[str]:
    """``--compression-codec`` may come without a value (meaning gzip)."""
    out = list(argv)
    for i, a in enumerate(out):
        if a == "--compression-codec" and (i + 1 == len(out) or out[i + 1].startswith("--")):
            out.insert(i + 1, _CODEC_FLAG)
            break
    return out


def _error_callback(topic: str, key: bytes | None, value: bytes) -> Any:
    def cb(_md: Any, exc: BaseException | None) -> None:
        if exc is not None:
            key_text = "null" if key is None else f"{len(key)} bytes"
            sys.stderr.write(f"[kafkapy] ERROR Error when sending message to topic {topic} with key: {key_text}, "
                             f"value: {len(value)} bytes with error: {exc}\n")
    return cb


async def run(argv: Sequence[str], stdin: BinaryIO, out: TextIO, err: TextIO,
              interactive: bool | None = None) -> int:
    try:
        args = PARSER.parse(_normalize_argv(argv))
        if args.help:
            return PARSER.print_usage_and_die(DESCRIPTION, err)
        if args.version:
            out.write("2.8.2 (kafkapy)\n")
            return 0
        _check(args)
        props = producer_props(args)
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    except CommandError as exc:
        err.write(f"{exc}\n")
        return 1
    reader = LineMessageReader(parse_properties_list(args.property))
    prompt = stdin.isatty() if interactive is None else interactive
    loop = asyncio.get_running_loop()
    try:
        producer = Producer(props)
        await producer.start()
    except (ValueError, ApiError, KafkaClientError, OSError) as exc:
        err.write(f"{exc}\n")
        return 1
    status = 0
    try:
        while True:
            if prompt:
                out.write(">")
                out.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            if line.endswith(b"\n"):
                line = line[:-1]
                if line.endswith(b"\r"):
                    line = line[:-1]
            key, value = reader.parse(line)
            fut = await producer.send(args.topic, value, key, callback=_error_callback(args.topic, key, value))
            if args.sync:
                try:
                    await fut
                except (ApiError, KafkaClientError) as exc:
                    log.debug("synchronous send failed: %s", exc)
    except CommandError as exc:
        err.write(f"org.apache.kafka.common.KafkaException: {exc}\n")
        status = 1
    except (ApiError, KafkaClientError, OSError) as exc:
        err.write(f"ERROR {exc}\n")
        status = 1
    finally:
        await producer.close()
    return status


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdin.buffer, sys.stdout, sys.stderr))
