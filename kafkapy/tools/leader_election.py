"""kafka-leader-election.sh: preferred or unclean leader election (Kafka 2.8's LeaderElectionCommand).

    kafka-leader-election.sh --bootstrap-server HOST:PORT --election-type preferred|unclean
        (--all-topic-partitions | --topic T --partition P | --path-to-json-file FILE)

The ElectLeaders request goes to the controller; the answer is reported per partition with
Kafka's lines ("Successfully completed leader election (PREFERRED) for partitions ...",
"Valid replica already elected for partitions ...", one "Error completing ..." line per failure).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, load_properties_file, run_tool

__all__ = ["main", "main_async", "parse_election_json", "elect_leaders", "report", "PREFERRED", "UNCLEAN", "PARSER"]

PREFERRED = 0
UNCLEAN = 1
ELECTION_TYPES = {"preferred": PREFERRED, "unclean": UNCLEAN}
ELECTION_NAMES = {PREFERRED: "PREFERRED", UNCLEAN: "UNCLEAN"}

DESCRIPTION = ("This tool attempts to elect a new leader for a set of topic partitions. The type of elections "
               "supported are preferred replicas and unclean replicas.")

OPTIONS = [
    Opt("--admin.config", "<String: config file>", "Properties for the admin client."),
    Opt("--all-topic-partitions", None, "Elect leaders for every eligible partition. Not with --topic or "
        "--path-to-json-file."),
    Opt("--bootstrap-server", "<String: host:port>", "The broker(s) to connect to (comma separated). REQUIRED."),
    Opt("--election-type", "<[PREFERRED,UNCLEAN]: election type>", "\"preferred\": move leadership to the "
        "preferred replica when it is not the leader; \"unclean\": elect any live replica for partitions "
        "without a leader. REQUIRED."),
    Opt("--help", None, "Print usage information."),
    Opt("--partition", "<Integer: partition id>", "The partition to elect for. REQUIRED with --topic."),
    Opt("--path-to-json-file", "<String: Path to JSON file>", "A JSON file listing the partitions: "
        "{\"partitions\":[{\"topic\":\"foo\",\"partition\":1}]}. Not with --all-topic-partitions or --topic."),
    Opt("--topic", "<String: topic name>", "The topic to elect for. Not with --path-to-json-file or "
        "--all-topic-partitions."),
    Opt("--version", None, "Display Kafka version."),
]

PARSER = ToolParser("kafka-leader-election.sh", OPTIONS, DESCRIPTION)


def parse_election_json(text: str) -> list[TopicPartition]:
    """``{"partitions":[{"topic":..,"partition":..}]}`` -> partitions (duplicates rejected)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise CommandError("The input string is not a valid JSON") from None
    if not isinstance(data, dict) or "partitions" not in data:
        raise CommandError('Replica election data is missing "partitions" field')
    try:
        tps = [TopicPartition(str(e["topic"]), int(e["partition"])) for e in data["partitions"]]
    except (KeyError, TypeError, ValueError):
        raise CommandError("Invalid partition entry in the replica election data") from None
    if not tps:
        raise CommandError("Replica election data is empty")
    seen: set[TopicPartition] = set()
    dup = []
    for tp in tps:
        if tp in seen and tp not in dup:
            dup.append(tp)
        seen.add(tp)
    if dup:
        raise CommandError("Replica election data contains duplicate partitions: %s"
                           % ",".join(f"{tp.topic}-{tp.partition}" for tp in dup))
    return tps


async def elect_leaders(admin: Any, election_type: int, partitions: Iterable[TopicPartition] | None,
                        timeout_ms: int = 30000) -> dict[TopicPartition, ApiError | None]:
    """Send ElectLeaders to the controller; ``None`` partitions means all (the controller decides)."""
    from kafkapy.protocol.api_keys import ApiKey
    from kafkapy.protocol.messages.elect_leaders import API
    topic_cls = API.request.struct("topic_partitions")
    req_parts = None
    if partitions is not None:
        by_topic: dict[str, list[int]] = {}
        for tp in partitions:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        req_parts = [topic_cls(topic=t, partition_id=ps) for t, ps in sorted(by_topic.items())]
    req = API.request(election_type=election_type, topic_partitions=req_parts, timeout_ms=timeout_ms)
    resp = await admin._retry_controller(
        ApiKey.ELECT_LEADERS, req,
        lambda r: [getattr(r, "error_code", 0)] + [p.error_code for t in r.replica_election_results
                                                   for p in t.partition_result])
    top = getattr(resp, "error_code", ErrorCode.NONE)
    if top != ErrorCode.NONE:
        raise ApiError(top)
    out: dict[TopicPartition, ApiError | None] = {}
    for t in resp.replica_election_results:
        for p in t.partition_result:
            tp = TopicPartition(t.topic, p.partition_id)
            out[tp] = None if p.error_code == ErrorCode.NONE else ApiError(p.error_code, p.error_message)
    return out


def _tps(tps: Iterable[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}-{tp.partition}" for tp in sorted(tps, key=lambda x: (x.topic, x.partition)))


def _exception_text(e: ApiError) -> str:
    name = type(e).__name__
    java = name[:-5] + "Exception" if name.endswith("Error") else name
    return f"org.apache.kafka.common.errors.{java}: {e.message}"


def report(election_type: int, results: Mapping[TopicPartition, ApiError | None], out: TextIO) -> int:
    """Print Kafka's lines for the results; the number of failed partitions."""
    name = ELECTION_NAMES[election_type]
    succeeded = [tp for tp, e in results.items() if e is None]
    noop = [tp for tp, e in results.items() if e is not None and e.code == ErrorCode.ELECTION_NOT_NEEDED]
    failed = {tp: e for tp, e in results.items() if e is not None and e.code != ErrorCode.ELECTION_NOT_NEEDED}
    if succeeded:
        out.write(f"Successfully completed leader election ({name}) for partitions {_tps(succeeded)}\n")
    if noop:
        out.write(f"Valid replica already elected for partitions {_tps(noop)}\n")
    for tp in sorted(failed, key=lambda x: (x.topic, x.partition)):
        out.write(f"Error completing leader election ({name}) for partition: {tp.topic}-{tp.partition}: "
                  f"{_exception_text(failed[tp])}\n")
    return len(failed)


def check_args(args: argparse.Namespace) -> tuple[int, list[TopicPartition] | None]:
    if not args.bootstrap_server:
        raise UsageError("Missing required option(s) [bootstrap-server]")
    if not args.election_type:
        raise UsageError("Missing required option(s) [election-type]")
    etype = ELECTION_TYPES.get(args.election_type.lower())
    if etype is None:
        raise UsageError(f"Cannot parse argument '{args.election_type}' of option election-type")
    chosen = [n for n, v in (("all-topic-partitions", args.all_topic_partitions), ("topic", args.topic),
                             ("path-to-json-file", args.path_to_json_file)) if v]
    if len(chosen) != 1:
        raise UsageError("One and only one of the following options is required: all-topic-partitions, topic, "
                         "path-to-json-file")
    if args.topic and args.partition is None:
        raise UsageError("Missing required option(s) [partition]")
    if args.partition is not None and not args.topic:
        raise UsageError('Option "[partition]" can\'t be used without option "[topic]"')
    if args.all_topic_partitions:
        return etype, None
    if args.topic:
        try:
            return etype, [TopicPartition(args.topic, int(args.partition))]
        except ValueError:
            raise UsageError(f"Cannot parse argument '{args.partition}' of option partition") from None
    path = Path(args.path_to_json_file)
    if not path.is_file():
        raise CommandError(f"{path} (No such file or directory)")
    return etype, parse_election_json(path.read_text())


async def main_async(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = PARSER.parse(argv)
        done = PARSER.help_or_version(args, argv, out)
        if done is not None:
            return done
        etype, partitions = check_args(args)
    except UsageError as e:
        return PARSER.print_usage_and_die(str(e), err)
    except CommandError as e:
        out.write(f"Error: {e}\n")
        return 1
    from kafkapy.clients.admin import AdminClient
    try:
        props: dict[str, Any] = load_properties_file(args.admin_config) if args.admin_config else {}
        props["bootstrap.servers"] = args.bootstrap_server
        admin = AdminClient(props)
    except (CommandError, ValueError) as e:
        out.write(f"Error: {e}\n")
        return 1
    try:
        await admin.start()
        results = await elect_leaders(admin, etype, partitions)
    except (ApiError, OSError, TimeoutError) as e:
        out.write(f"Error while making request: {e}\n")
        return 1
    finally:
        await admin.close()
    failed = report(etype, results, out)
    if failed:
        out.write(f"Error: {failed} replica(s) could not be elected\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> None:
    run_tool(main_async, argv)


if __name__ == "__main__":
    main()
