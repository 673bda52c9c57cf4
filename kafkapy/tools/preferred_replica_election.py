"""kafka-preferred-replica-election.sh: move leadership back to preferred replicas (Kafka 2.8's deprecated
PreferredReplicaLeaderElectionCommand).

``--zookeeper`` writes ``/admin/preferred_replica_election`` (every partition of every topic when no JSON
file is given) and the controller runs the election; ``--bootstrap-server`` sends ElectLeaders (PREFERRED).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, load_properties_file, run_tool
from kafkapy.tools.leader_election import PREFERRED, _exception_text, elect_leaders

__all__ = ["main", "main_async", "parse_preferred_json", "PARSER"]

DESCRIPTION = ("This tool helps to causes leadership for each partition to be transferred back to the 'preferred "
               "replica', it can be used to balance leadership among the servers.")
DEPRECATION = "This tool is deprecated. Please use kafka-leader-election tool. Tracking issue: KAFKA-8405"

OPTIONS = [
    Opt("--admin.config", "<String: config file>", "Properties for the admin client (with --bootstrap-server)."),
    Opt("--bootstrap-server", "<String: host:port>", "The broker(s) to connect to. REQUIRED unless --zookeeper "
        "is given."),
    Opt("--help", None, "Print usage information."),
    Opt("--path-to-json-file", "<String: list of partitions for which preferred replica leader election needs "
        "to be triggered>", "A JSON file: {\"partitions\":[{\"topic\":\"foo\",\"partition\":1}]}. Defaults to "
        "all existing partitions."),
    Opt("--version", None, "Display Kafka version."),
    Opt("--zookeeper", "<String: urls>", "DEPRECATED: the ZooKeeper connect string. Use --bootstrap-server "
        "instead."),
]

PARSER = ToolParser("kafka-preferred-replica-election.sh", OPTIONS, DESCRIPTION)


def parse_preferred_json(text: str) -> list[TopicPartition]:
    try:
        data = json.loads(text)
    except ValueError:
        raise CommandError("The input string is not a valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("partitions"), list) or not data["partitions"]:
        raise CommandError("Preferred replica election data is empty")
    try:
        tps = [TopicPartition(str(e["topic"]), int(e["partition"])) for e in data["partitions"]]
    except (KeyError, TypeError, ValueError):
        raise CommandError("Invalid partition entry in the preferred replica election data") from None
    dup = sorted({tp for tp in tps if tps.count(tp) > 1}, key=lambda x: (x.topic, x.partition))
    if dup:
        raise CommandError("Preferred replica election data contains duplicate partitions: %s"
                           % ",".join(f"{tp.topic}-{tp.partition}" for tp in dup))
    return tps


def _set_text(tps: Sequence[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}-{tp.partition}" for tp in sorted(tps, key=lambda x: (x.topic, x.partition)))


async def _via_zookeeper(connect: str, partitions: list[TopicPartition] | None, out: TextIO) -> int:
    from kafkapy.zk import errors as zk_errors
    from kafkapy.zk.kafka_zk import KafkaZkClient
    from kafkapy.zk.znodes import PreferredReplicaElectionZNode
    zk = await KafkaZkClient.connect(connect, session_timeout_ms=30000, connection_timeout_ms=30000)
    try:
        existing = await zk.get_all_partitions()
        wanted = sorted(existing, key=lambda x: (x.topic, x.partition)) if partitions is None else partitions
        valid = []
        for tp in wanted:
            if tp in existing:
                valid.append(tp)
            else:
                out.write(f"Skipping preferred replica leader election for partition {tp.topic}-{tp.partition} "
                          "since it doesn't exist.\n")
        try:
            await zk.create_preferred_replica_election(valid)
        except zk_errors.NodeExistsError:
            pending = await zk.get_preferred_replica_election() or frozenset()
            out.write("Preferred replica leader election currently in progress for %s. Aborting operation\n"
                      % _set_text(list(pending)))
            return 1
        out.write("Created preferred replica election path with %s\n"
                  % PreferredReplicaElectionZNode.encode(valid).decode())
        out.write("Successfully started preferred replica election for partitions %s\n" % _set_text(valid))
        return 0
    finally:
        await zk.close()


async def _via_admin(args: argparse.Namespace, partitions: list[TopicPartition] | None, out: TextIO) -> int:
    from kafkapy.clients.admin import AdminClient
    props: dict[str, Any] = load_properties_file(args.admin_config) if args.admin_config else {}
    props["bootstrap.servers"] = args.bootstrap_server
    admin = AdminClient(props)
    try:
        await admin.start()
        results = await elect_leaders(admin, PREFERRED, partitions)
    finally:
        await admin.close()
    succeeded = [tp for tp, e in results.items() if e is None]
    noop = [tp for tp, e in results.items() if e is not None and e.code == ErrorCode.ELECTION_NOT_NEEDED]
    failed = {tp: e for tp, e in results.items() if e is not None and e.code != ErrorCode.ELECTION_NOT_NEEDED}
    if succeeded:
        out.write(f"Successfully completed preferred leader election for partitions {_set_text(succeeded)}\n")
    if noop:
        out.write(f"Preferred replica already elected for partitions {_set_text(noop)}\n")
    for tp in sorted(failed, key=lambda x: (x.topic, x.partition)):
        out.write(f"Error completing preferred leader election for partition: {tp.topic}-{tp.partition}: "
                  f"{_exception_text(failed[tp])}\n")
    if failed:
        out.write(f"Error: {len(failed)} preferred replica(s) could not be elected\n")
        return 1
    return 0


async def main_async(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = PARSER.parse(argv)
        done = PARSER.help_or_version(args, argv, out)
        if done is not None:
            return done
        if not args.bootstrap_server and not args.zookeeper:
            raise UsageError("Exactly one of '--bootstrap-server' or '--zookeeper' must be provided")
        if args.bootstrap_server and args.zookeeper:
            raise UsageError("Exactly one of '--bootstrap-server' or '--zookeeper' must be provided")
        if args.zookeeper and args.admin_config:
            raise UsageError('Option "[admin.config]" can\'t be used with option "[zookeeper]"')
    except UsageError as e:
        return PARSER.print_usage_and_die(str(e), err)
    out.write(DEPRECATION + "\n")
    try:
        partitions = None
        if args.path_to_json_file:
            path = Path(args.path_to_json_file)
            if not path.is_file():
                raise CommandError(f"{path} (No such file or directory)")
            partitions = parse_preferred_json(path.read_text())
        if args.zookeeper:
            err.write("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n")
            return await _via_zookeeper(args.zookeeper, partitions, out)
        return await _via_admin(args, partitions, out)
    except (CommandError, ApiError, OSError, TimeoutError, ValueError) as e:
        out.write(f"Error: {e}\n")
        return 1


def main(argv: list[str] | None = None) -> None:
    run_tool(main_async, argv)


if __name__ == "__main__":
    main()
