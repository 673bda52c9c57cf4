"""kafka-log-dirs.sh --describe: the log directories of brokers as JSON (Kafka 2.8's LogDirsCommand)."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from kafkapy.clients.admin import AdminClient
from kafkapy.clients.errors import KafkaClientError
from kafkapy.common.errors import ApiError
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, load_properties_file, run_tool

DESCRIPTION = "This tool helps to query log directory usage on the specified brokers."

OPTIONS = [
    Opt("--bootstrap-server", "<String: The server(s) to use for bootstrapping>", "REQUIRED: the broker(s) to "
        "connect to."),
    Opt("--broker-list", "<String: Broker list>", "Brokers to query, comma separated (default: all brokers)."),
    Opt("--command-config", "<String: Admin client property file>", "A properties file with admin client "
        "settings."),
    Opt("--describe", None, "Describe the log directories of the brokers."),
    Opt("--help", None, "Show this help."),
    Opt("--topic-list", "<String: Topic list>", "Topics to include, comma separated (default: all topics)."),
    Opt("--version", None, "Print the Kafka version."),
]
PARSER = ToolParser("kafka-log-dirs.sh", OPTIONS, DESCRIPTION)


async def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        return PARSER.print_usage_and_die(DESCRIPTION, err)
    try:
        args = PARSER.parse(argv)
        if args.help:
            return PARSER.print_usage_and_die(DESCRIPTION, err)
        if args.bootstrap_server is None:
            raise UsageError('Missing required argument "[bootstrap-server]"')
        if not args.describe:
            raise UsageError('Missing required argument "[describe]"')
        brokers = [int(b) for b in args.broker_list.split(",") if b.strip()] if args.broker_list else None
        topics = [t.strip() for t in args.topic_list.split(",") if t.strip()] if args.topic_list else None
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    except ValueError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    out.write("Querying brokers for log directories information\n")
    out.flush()
    try:
        props = load_properties_file(args.command_config) if args.command_config else {}
        props["bootstrap.servers"] = args.bootstrap_server
        admin = AdminClient(props)
        try:
            dirs = await admin.describe_log_dirs(brokers, None)
        finally:
            await admin.close()
    except (ApiError, KafkaClientError, CommandError, OSError) as exc:
        err.write(f"{exc}\n")
        return 1
    out.write(f"Received log directory information from brokers {','.join(str(b) for b in dirs)}\n")
    doc = {"version": 1, "brokers": [
        {"broker": b, "logDirs": [
            {"logDir": d, "error": None if info.error_code == 0 else str(info.error_code),
             "partitions": [{"partition": str(tp), "size": r.size, "offsetLag": r.offset_lag,
                             "isFuture": r.is_future}
                            for tp, r in info.replicas.items() if topics is None or tp.topic in topics]}
            for d, info in per_dir.items()]}
        for b, per_dir in dirs.items()]}
    out.write(json.dumps(doc, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdout, sys.stderr))
