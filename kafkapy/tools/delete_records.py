"""kafka-delete-records.sh: move partitions' log start offsets forward (Kafka 2.8's DeleteRecordsCommand).

The ``--offset-json-file`` holds ``{"partitions": [{"topic": "t", "partition": 0, "offset": 5}],
"version": 1}``; offset -1 means the high watermark.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kafkapy.clients.admin import AdminClient
from kafkapy.clients.errors import KafkaClientError
from kafkapy.common.errors import ApiError
from kafkapy.common.types import TopicPartition
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, load_properties_file, run_tool
from kafkapy.tools.configs import _java_name

DESCRIPTION = "This tool helps to delete records of the given partitions down to the specified offset."

OPTIONS = [
    Opt("--bootstrap-server", "<String: server(s) to use for bootstrapping>", "REQUIRED: the broker(s) to "
        "connect to."),
    Opt("--command-config", "<String: command config property file path>", "A properties file with admin client "
        "settings."),
    Opt("--help", None, "Show this help."),
    Opt("--offset-json-file", "<String: Offset json file path>", "REQUIRED: a JSON file like "
        '{"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version": 1}.'),
    Opt("--version", None, "Print the Kafka version."),
]
PARSER = ToolParser("kafka-delete-records.sh", OPTIONS, DESCRIPTION)


def parse_offset_json(text: str) -> dict[TopicPartition, int]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise CommandError("The input string is not a valid JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("partitions"), list):
        raise CommandError("Offset json file doesn't contain a partitions list")
    if doc.get("version", 1) != 1:
        raise CommandError(f"Not supported version field value {doc.get('version')}")
    out: dict[TopicPartition, int] = {}
    dups: list[str] = []
    for p in doc["partitions"]:
        tp = TopicPartition(str(p["topic"]), int(p["partition"]))
        if tp in out:
            dups.append(str(tp))
        out[tp] = int(p["offset"])
    if dups:
        raise CommandError(f"Offset json file contains duplicate topic partitions: {','.join(dups)}")
    return out


async def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        return PARSER.print_usage_and_die(DESCRIPTION, err)
    try:
        args = PARSER.parse(argv)
        if args.help:
            return PARSER.print_usage_and_die(DESCRIPTION, err)
        for name in ("bootstrap_server", "offset_json_file"):
            if getattr(args, name) is None:
                raise UsageError(f'Missing required argument "[{name.replace("_", "-")}]"')
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    try:
        path = Path(args.offset_json_file)
        if not path.is_file():
            raise CommandError(f"java.io.IOException: Unable to read file {args.offset_json_file}")
        offsets = parse_offset_json(path.read_text())
        props = load_properties_file(args.command_config) if args.command_config else {}
        props["bootstrap.servers"] = args.bootstrap_server
        admin = AdminClient(props)
        out.write("Executing records delete operation\n")
        out.flush()
        try:
            result = await admin.delete_records(offsets)
        finally:
            await admin.close()
    except CommandError as exc:
        err.write(f"{exc}\n")
        return 1
    except (ApiError, KafkaClientError, OSError, ValueError) as exc:
        err.write(f"{exc}\n")
        return 1
    out.write("Records delete operation completed:\n")
    for tp in offsets:
        r = result.get(tp)
        if isinstance(r, int):
            out.write(f"partition: {tp}\tlow_watermark: {r}\n")
        else:
            out.write(f"partition: {tp}\terror: {_java_name(r) if r else 'unknown'}: "
                      f"{r.message if isinstance(r, ApiError) else r}\n")
    return 0


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdout, sys.stderr))
