"""kafka-broker-api-versions.sh: the API versions of every broker (Kafka 2.8's BrokerApiVersionsCommand).

For each broker: ``host:port (id: N rack: R) -> (`` then one line per API the client knows,
``\\tName(key): min to max [usable: v]`` (or ``UNSUPPORTED``), comma separated, then ``)``.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from kafkapy.clients.admin import AdminClient
from kafkapy.clients.errors import KafkaClientError
from kafkapy.common.errors import ApiError
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages import get_api
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, load_properties_file, run_tool

DESCRIPTION = "This tool helps to retrieve broker version information."

OPTIONS = [
    Opt("--bootstrap-server", "<String: server(s) to use for bootstrapping>", "REQUIRED: the broker(s) to "
        "connect to."),
    Opt("--command-config", "<String: command config property file>", "A properties file with admin client "
        "settings."),
    Opt("--help", None, "Show this help."),
    Opt("--version", None, "Print the Kafka version."),
]
PARSER = ToolParser("kafka-broker-api-versions.sh", OPTIONS, DESCRIPTION)

# API keys a 2.8 client lists: every key except the KRaft-internal ones.
_NOT_LISTED = {52, 53, 54, 55, 58, 59, 62, 63, 64}


def format_versions(versions: dict[int, tuple[int, int]]) -> list[str]:
    lines = []
    for key in ApiKey:
        if int(key) in _NOT_LISTED:
            continue
        spec = get_api(key)
        name = f"{spec.name}({int(key)})"
        theirs = versions.get(int(key))
        if theirs is None:
            lines.append(f"\t{name}: UNSUPPORTED")
            continue
        lo, hi = theirs
        rng = f"{lo}" if lo == hi else f"{lo} to {hi}"
        if spec.max_version < lo:
            usable = "[unusable: node too new]"
        elif hi < spec.min_version:
            usable = "[unusable: node too old]"
        else:
            usable = f"[usable: {min(hi, spec.max_version)}]"
        lines.append(f"\t{name}: {rng} {usable}")
    return lines


async def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        return PARSER.print_usage_and_die(DESCRIPTION, err)
    try:
        args = PARSER.parse(argv)
        if args.help:
            return PARSER.print_usage_and_die(DESCRIPTION, err)
        if args.bootstrap_server is None:
            raise UsageError('Missing required argument "[bootstrap-server]"')
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    try:
        props = load_properties_file(args.command_config) if args.command_config else {}
        props["bootstrap.servers"] = args.bootstrap_server
        admin = AdminClient(props)
        try:
            result = await admin.api_versions()
        finally:
            await admin.close()
    except (ApiError, KafkaClientError, CommandError, OSError, ValueError) as exc:
        err.write(f"{exc}\n")
        return 1
    for _bid, (node, versions) in result.items():
        rack = node.rack if node.rack is not None else "null"
        out.write(f"{node.host}:{node.port} (id: {node.node_id} rack: {rack}) -> (\n")
        out.write(",\n".join(format_versions(versions)) + "\n)\n")
    return 0


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdout, sys.stderr))
