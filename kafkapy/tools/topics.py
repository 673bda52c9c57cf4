"""kafka-topics.sh: create, list, describe, alter and delete topics (Kafka 2.8's TopicCommand).

``--zookeeper`` works on the znodes directly through AdminZkClient, exactly as Kafka 2.8's
ZooKeeper path; ``--bootstrap-server`` goes through kafkapy's AdminClient. Output lines and
error texts follow Kafka 2.8 (zookeeper-layout.md §8).
"""
from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

from kafkapy.clients.admin import AdminClient, ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafkapy.common.config import ConfigError
from kafkapy.common.errors import ApiError
from kafkapy.common.types import TopicPartition
from kafkapy.log.config import TOPIC_CONFIG_DEF
from kafkapy.tools._common import (KAFKA_VERSION, CommandError, Opt, ToolParser, UsageError,
                                   check_invalid, load_properties_file, run_tool)
from kafkapy.zk import errors as zk_errors
from kafkapy.zk.admin_zk import (COLLISION_WARNING, INTERNAL_TOPICS, AdminZkClient, RackAwareMode,
                                 has_collision_chars)
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import ConfigType

DESCRIPTION = "Create, delete, describe, or change a topic."
HELP_DESCRIPTION = "This tool helps to create, delete, describe, or change a topic."

OPTIONS = [
    Opt("--alter", None, "Change the partition count, replica assignment or configuration of a topic."),
    Opt("--at-min-isr-partitions", None, "With --describe, show only partitions whose ISR size equals the "
        "configured minimum. Not available with --zookeeper."),
    Opt("--bootstrap-server", "<String: server to connect to>", "REQUIRED: the broker(s) to talk to. With this "
        "option no ZooKeeper connection is made."),
    Opt("--command-config", "<String: command config property file>", "A properties file with client settings "
        "for the admin client (only with --bootstrap-server)."),
    Opt("--config", "<String: name=value>", "A topic config override for a topic being created or altered. "
        "May be given several times.", multi=True),
    Opt("--create", None, "Create a topic."),
    Opt("--delete", None, "Delete topics."),
    Opt("--delete-config", "<String: name>", "A topic config override to remove from a topic being altered "
        "(with --zookeeper only). May be given several times.", multi=True),
    Opt("--describe", None, "Show the details of the given topics."),
    Opt("--disable-rack-aware", None, "Assign replicas without looking at broker racks."),
    Opt("--exclude-internal", None, "Leave internal topics out of --list and --describe (they are included "
        "by default)."),
    Opt("--force", None, "Do not ask for confirmation."),
    Opt("--help", None, "Show this help."),
    Opt("--if-exists", None, "With --alter, --describe or --delete, act only if the topic exists."),
    Opt("--if-not-exists", None, "With --create, act only if the topic does not exist yet."),
    Opt("--list", None, "List the topics."),
    Opt("--partitions", "<Integer: # of partitions>", "The partition count of a topic being created or "
        "altered (it can only grow). Without it, --create with --bootstrap-server uses the broker default."),
    Opt("--replica-assignment", "<String: broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , "
        "broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ...>",
        "Manual replica placement for a topic being created or altered."),
    Opt("--replication-factor", "<Integer: replication factor>", "The replica count of each partition of a "
        "topic being created. Without it, --create with --bootstrap-server uses the broker default."),
    Opt("--topic", "<String: topic>", "The topic to create, alter, describe or delete. Except with --create, "
        "a regular expression is accepted; escape dots ('\\.') to match them literally."),
    Opt("--topics-with-overrides", None, "With --describe, show only topics that have config overrides."),
    Opt("--unavailable-partitions", None, "With --describe, show only partitions whose leader is not "
        "available."),
    Opt("--under-min-isr-partitions", None, "With --describe, show only partitions whose ISR is smaller than "
        "the configured minimum. Not available with --zookeeper."),
    Opt("--under-replicated-partitions", None, "With --describe, show only under-replicated partitions."),
    Opt("--version", None, "Print the Kafka version."),
    Opt("--zookeeper", "<String: hosts>", "DEPRECATED: the ZooKeeper connect string (host:port[,host:port]"
        "[/chroot]). Use --bootstrap-server instead."),
]

PARSER = ToolParser("kafka-topics.sh", OPTIONS, DESCRIPTION)


class TopicCommandError(Exception):
    """Printed as ``Error while executing topic command : <message>``."""


# ------------------------------------------------------------------ Java ordering
def java_string_hash(s: str) -> int:
    h = 0
    for unit in s.encode("utf-16-be").hex(" ", 2).split():      # UTF-16 code units, as Java's chars
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return h


def java_hashmap_order(keys: Sequence[str]) -> list[str]:
    """Iteration order of a java.util.HashMap (or Properties) filled with `keys` in this order."""
    cap = 16
    while len(keys) > 0.75 * cap:
        cap *= 2
    buckets: dict[int, list[str]] = {}
    for k in keys:
        h = java_string_hash(k)
        buckets.setdefault((h ^ (h >> 16)) & (cap - 1), []).append(k)
    return [k for b in sorted(buckets) for k in buckets[b]]


def format_configs(configs: Mapping[str, str]) -> str:
    return ",".join(f"{k}={configs[k]}" for k in java_hashmap_order(list(configs)))


# ------------------------------------------------------------------ argument helpers
def topic_regex(arg: str) -> re.Pattern[str]:
    """Kafka's IncludeList: trim, ',' -> '|', drop spaces and surrounding quotes; must match whole names."""
    text = arg.strip().replace(",", "|").replace(" ", "")
    text = re.sub(r'^["\']|["\']$', "", text)
    try:
        return re.compile(text)
    except re.error as exc:
        raise TopicCommandError(f"{text} is an invalid regex.") from exc


def parse_replica_assignment(text: str) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    for i, group in enumerate(text.split(",")):
        try:
            brokers = [int(b.strip()) for b in group.split(":")]
        except ValueError:
            raise TopicCommandError(f'For input string: "{group}"') from None
        if len(set(brokers)) != len(brokers):
            dups = sorted({b for b in brokers if brokers.count(b) > 1})
            raise TopicCommandError(f"Partition replica lists may not contain duplicate entries: "
                                    f"{','.join(map(str, dups))}")
        result[i] = brokers
        if len(result[i]) != len(result[0]):
            raise TopicCommandError(f"Partition {i} has different replication factor: "
                                    f"[{', '.join(map(str, brokers))}]")
    return result


def parse_configs(items: Iterable[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        parts = item.split("=")
        if len(parts) != 2 or not parts[0]:
            raise TopicCommandError("Invalid topic config: all configs to be added must be in the format "
                                    "\"key=val\".")
        out[parts[0].strip()] = parts[1].strip()
    return out


def validate_topic_configs(configs: Mapping[str, str]) -> None:
    for name in configs:
        if not TOPIC_CONFIG_DEF.is_known(name):
            raise TopicCommandError(f"Unknown topic config name: {name}")
    try:
        TOPIC_CONFIG_DEF.parse(configs)
    except ConfigError as exc:
        raise TopicCommandError(str(exc)) from exc


def _int_opt(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise TopicCommandError(f"Cannot parse argument '{value}' of option {name}") from None


def check_args(args: argparse.Namespace) -> None:
    actions = [a for a in ("create", "list", "alter", "describe", "delete") if getattr(args, a)]
    if len(actions) != 1:
        raise UsageError("Command must include exactly one action: --list, --describe, --create, --alter or "
                         "--delete")
    has_zk = args.zookeeper is not None
    has_bs = args.bootstrap_server is not None
    if has_zk == has_bs:
        raise UsageError("Only one of --bootstrap-server or --zookeeper must be specified")
    if args.create or args.alter or args.delete:
        if args.topic is None:
            raise UsageError('Missing required argument "[topic]"')
    if args.create and args.replica_assignment is None:
        if has_zk and (args.partitions is None or args.replication_factor is None):
            missing = "partitions" if args.partitions is None else "replication-factor"
            raise UsageError(f'Missing required argument "[{missing}]"')
    if args.create and args.replica_assignment is not None:
        check_invalid(args, "--replica-assignment", ["--partitions", "--replication-factor"])
    if has_zk:
        for opt in ("--under-min-isr-partitions", "--at-min-isr-partitions"):
            check_invalid(args, opt, ["--zookeeper"])
    if not args.describe:
        for opt in ("--under-replicated-partitions", "--unavailable-partitions", "--topics-with-overrides"):
            check_invalid(args, opt, ["--" + _first_action(actions)])
    if not args.create:
        if args.replication_factor is not None:
            raise UsageError(f'Option "[replication-factor]" can\'t be used with option "[{_first_action(actions)}]"')
        if args.if_not_exists:
            raise UsageError(f'Option "[if-not-exists]" can\'t be used with option "[{_first_action(actions)}]"')
    if not (args.alter or args.delete or args.describe) and args.if_exists:
        raise UsageError(f'Option "[if-exists]" can\'t be used with option "[{_first_action(actions)}]"')
    if not (args.create or args.alter) and (args.partitions is not None or args.config):
        raise UsageError(f'Option "[{"partitions" if args.partitions is not None else "config"}]" can\'t be used '
                         f'with option "[{_first_action(actions)}]"')
    if not args.alter and args.delete_config:
        raise UsageError(f'Option "[delete-config]" can\'t be used with option "[{_first_action(actions)}]"')
    if has_bs and args.delete_config:
        raise UsageError('Option "[delete-config]" can\'t be used with option "[bootstrap-server]"')


def _first_action(actions: Sequence[str]) -> str:
    return actions[0] if actions else "create"


# ------------------------------------------------------------------ describe rendering
def topic_line(topic: str, topic_id: str | None, partitions: int, rf: int, configs: str,
               marked: bool) -> str:
    tid = f"\tTopicId: {topic_id}" if topic_id else ""
    mark = "\tMarkedForDeletion: true" if marked else ""
    return f"Topic: {topic}{tid}\tPartitionCount: {partitions}\tReplicationFactor: {rf}\tConfigs: {configs}{mark}"


def partition_line(topic: str, partition: int, leader: int | None, replicas: Sequence[int], isr: Sequence[int],
                   marked: bool, adding: Sequence[int] = (), removing: Sequence[int] = ()) -> str:
    lead = "none" if leader is None or leader < 0 else str(leader)
    line = (f"\tTopic: {topic}\tPartition: {partition}\tLeader: {lead}\tReplicas: {','.join(map(str, replicas))}"
            f"\tIsr: {','.join(map(str, isr))}")
    if adding:
        line += f"\tAdding Replicas: {','.join(map(str, adding))}"
    if removing:
        line += f"\tRemoving Replicas: {','.join(map(str, removing))}"
    if marked:
        line += "\tMarkedForDeletion: true"
    return line


# ------------------------------------------------------------------ ZooKeeper path
class ZkTopicService:
    def __init__(self, zk: KafkaZkClient, out: TextIO) -> None:
        self.zk = zk
        self.admin = AdminZkClient(zk)
        self.out = out

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")

    async def _topics(self, args: argparse.Namespace) -> list[str]:
        topics = sorted(await self.zk.get_all_topics())
        if args.topic is not None:
            rx = topic_regex(args.topic)
            topics = [t for t in topics if rx.fullmatch(t)]
        if args.exclude_internal:
            topics = [t for t in topics if t not in INTERNAL_TOPICS]
        return topics

    def _ensure_matched(self, args: argparse.Namespace, topics: Sequence[str]) -> None:
        if args.topic is not None and not topics and not args.if_exists:
            raise TopicCommandError(f"Topic '{args.topic}' does not exist as expected")

    async def create(self, args: argparse.Namespace) -> None:
        topic = args.topic
        if has_collision_chars(topic):
            self._print(COLLISION_WARNING)
        configs = parse_configs(args.config)
        try:
            validate_topic_configs(configs)
            if args.replica_assignment is not None:
                assignment = parse_replica_assignment(args.replica_assignment)
                await self.admin.create_topic_with_assignment(topic, configs, assignment)
            else:
                mode = RackAwareMode.DISABLED if args.disable_rack_aware else RackAwareMode.ENFORCED
                await self.admin.create_topic(topic, args.partitions, args.replication_factor, configs, mode)
        except zk_errors.TopicExistsError:
            if args.if_not_exists:
                return
            raise
        self._print(f"Created topic {topic}.")

    async def list(self, args: argparse.Namespace) -> None:
        topics = await self._topics(args)
        deleting = set(await self.zk.get_topic_deletions())
        for t in topics:
            self._print(f"{t} - marked for deletion" if t in deleting else t)

    async def describe(self, args: argparse.Namespace) -> None:
        topics = await self._topics(args)
        self._ensure_matched(args, topics)
        live = set(await self.zk.get_sorted_broker_ids())
        deleting = set(await self.zk.get_topic_deletions())
        partition_filter = args.under_replicated_partitions or args.unavailable_partitions
        for topic in topics:
            assignment = await self.zk.get_topic_assignment(topic)
            if assignment is None:
                raise TopicCommandError(f"Topic {topic} doesn't exist!")
            marked = topic in deleting
            configs = await self.zk.get_entity_config(ConfigType.TOPIC, topic)
            parts = dict(assignment.partitions)
            if not partition_filter and (not args.topics_with_overrides or configs):
                rf = len(next(iter(parts.values())).replicas) if parts else 0
                self._print(topic_line(topic, assignment.topic_id, len(parts), rf, format_configs(configs), marked))
            if args.topics_with_overrides:
                continue
            states = await self.zk.get_topic_partition_states(TopicPartition(topic, p) for p in sorted(parts))
            for p in sorted(parts):
                replicas = parts[p].replicas
                state = states.get(TopicPartition(topic, p))
                leader = state.leader if state is not None else None
                isr = state.isr if state is not None else ()
                if args.under_replicated_partitions and not len(isr) < len(replicas):
                    continue
                if args.unavailable_partitions and not (leader is None or leader < 0 or leader not in live):
                    continue
                self._print(partition_line(topic, p, leader, replicas, isr, marked and partition_filter))

    async def alter(self, args: argparse.Namespace) -> None:
        topics = await self._topics(args)
        self._ensure_matched(args, topics)
        for topic in topics:
            if args.config or args.delete_config:
                self._print("WARNING: Altering topic configuration from this script has been deprecated and may "
                            "be removed in future releases.")
                self._print("         Going forward, please use kafka-configs.sh for this functionality")
                current = await self.zk.get_entity_config(ConfigType.TOPIC, topic)
                current.update(parse_configs(args.config))
                for name in args.delete_config or ():
                    current.pop(name.strip(), None)
                validate_topic_configs(current)
                await self.admin.change_topic_config(topic, current)
                self._print(f"Updated config for topic {topic}.")
            if args.partitions is not None:
                if topic in INTERNAL_TOPICS:
                    raise TopicCommandError(f"The number of partitions for the internal topic {topic} cannot be "
                                            "changed.")
                self._print("WARNING: If partitions are increased for a topic that has a key, the partition logic "
                            "or ordering of the messages will be affected")
                assignment = (parse_replica_assignment(args.replica_assignment)
                              if args.replica_assignment is not None else None)
                mode = RackAwareMode.DISABLED if args.disable_rack_aware else RackAwareMode.ENFORCED
                await self.admin.add_partitions(topic, args.partitions, assignment, mode)
                self._print("Adding partitions succeeded!")

    async def delete(self, args: argparse.Namespace) -> None:
        topics = await self._topics(args)
        self._ensure_matched(args, topics)
        for topic in topics:
            if topic in INTERNAL_TOPICS:
                raise TopicCommandError(f"Topic {topic} is a kafka internal topic and is not allowed to be "
                                        "marked for deletion.")
            try:
                await self.admin.delete_topic(topic)
            except zk_errors.TopicAlreadyMarkedForDeletionError:
                self._print(f"Topic {topic} is already marked for deletion.")
                continue
            self._print(f"Topic {topic} is marked for deletion.")
            self._print("Note: This will have no impact if delete.topic.enable is not set to true.")


# ------------------------------------------------------------------ broker (AdminClient) path
class AdminTopicService:
    def __init__(self, admin: AdminClient, out: TextIO) -> None:
        self.admin = admin
        self.out = out

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")

    async def _topics(self, args: argparse.Namespace) -> list[str]:
        topics = await self.admin.list_topics(include_internal=not args.exclude_internal)
        if args.topic is not None:
            rx = topic_regex(args.topic)
            topics = [t for t in topics if rx.fullmatch(t)]
        return topics

    def _ensure_matched(self, args: argparse.Namespace, topics: Sequence[str]) -> None:
        if args.topic is not None and not topics and not args.if_exists:
            raise TopicCommandError(f"Topic '{args.topic}' does not exist as expected")

    async def create(self, args: argparse.Namespace) -> None:
        topic = args.topic
        if has_collision_chars(topic):
            self._print(COLLISION_WARNING)
        configs = parse_configs(args.config)
        assignment = parse_replica_assignment(args.replica_assignment) if args.replica_assignment else None
        new = NewTopic(topic, args.partitions if args.partitions is not None else -1,
                       args.replication_factor if args.replication_factor is not None else -1,
                       assignment, configs)
        result = (await self.admin.create_topics([new]))[topic]
        if result is not None:
            if args.if_not_exists and result.error_name == "TOPIC_ALREADY_EXISTS":
                return
            raise result
        self._print(f"Created topic {topic}.")

    async def list(self, args: argparse.Namespace) -> None:
        for t in await self._topics(args):
            self._print(t)

    async def describe(self, args: argparse.Namespace) -> None:
        topics = await self._topics(args)
        self._ensure_matched(args, topics)
        described = await self.admin.describe_topics(topics)
        md = self.admin.client.metadata
        live = set(md.brokers)
        configs = await self.admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
        partition_filter = (args.under_replicated_partitions or args.unavailable_partitions
                            or args.under_min_isr_partitions or args.at_min_isr_partitions)
        for topic in topics:
            tm = described.get(topic)
            if tm is None:
                continue
            entries = configs.get(ConfigResource(ConfigResourceType.TOPIC, topic))
            if isinstance(entries, Exception):
                raise entries
            overrides = [e for e in entries or () if not e.is_default]
            min_isr = next((int(e.value) for e in entries or () if e.name == "min.insync.replicas" and e.value), 1)
            parts = tm.partitions
            if not partition_filter and (not args.topics_with_overrides or overrides):
                rf = len(parts[min(parts)].replicas) if parts else 0
                self._print(topic_line(topic, tm.topic_id, len(parts), rf,
                                       ",".join(f"{e.name}={e.value}" for e in overrides), False))
            if args.topics_with_overrides:
                continue
            for p in sorted(parts):
                pm = parts[p]
                leader = pm.leader if pm.leader >= 0 else None
                if args.under_replicated_partitions and not len(pm.isr) < len(pm.replicas):
                    continue
                if args.unavailable_partitions and not (leader is None or leader not in live):
                    continue
                if args.under_min_isr_partitions and not len(pm.isr) < min_isr:
                    continue
                if args.at_min_isr_partitions and not len(pm.isr) == min_isr:
                    continue
                self._print(partition_line(topic, p, leader, pm.replicas, pm.isr, False))

    async def alter(self, args: argparse.Namespace) -> None:
        topics = await self._topics(args)
        self._ensure_matched(args, topics)
        for topic in topics:
            if args.config:
                configs = parse_configs(args.config)
                res = ConfigResource(ConfigResourceType.TOPIC, topic)
                from kafkapy.clients.admin import AlterConfigOp
                err = (await self.admin.incremental_alter_configs(
                    {res: [(k, v, AlterConfigOp.SET) for k, v in configs.items()]}))[res]
                if err is not None:
                    raise err
            if args.partitions is not None:
                assignment = None
                if args.replica_assignment is not None:
                    full = parse_replica_assignment(args.replica_assignment)
                    current = len((await self.admin.describe_topics([topic]))[topic].partitions)
                    assignment = [full[p] for p in sorted(full) if p >= current]
                err = (await self.admin.create_partitions({topic: NewPartitions(args.partitions, assignment)}))[topic]
                if err is not None:
                    raise err

    async def delete(self, args: argparse.Namespace) -> None:
        topics = await self._topics(args)
        self._ensure_matched(args, topics)
        internal = [t for t in topics if t in INTERNAL_TOPICS]
        if internal:
            raise TopicCommandError(f"Topic {internal[0]} is a kafka internal topic and is not allowed to be "
                                    "marked for deletion.")
        results = await self.admin.delete_topics(topics)
        for t, err in results.items():
            if err is not None:
                raise err


# ------------------------------------------------------------------ entry point
async def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        return PARSER.print_usage_and_die(DESCRIPTION, err)
    try:
        args = PARSER.parse(argv)
        if args.help:
            return PARSER.print_usage_and_die(HELP_DESCRIPTION, err)
        if args.version:
            out.write(KAFKA_VERSION + " (kafkapy)\n")
            return 0
        check_args(args)
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    action = next(a for a in ("create", "list", "alter", "describe", "delete") if getattr(args, a))
    try:
        args.partitions = _int_opt(args.partitions, "partitions")
        args.replication_factor = _int_opt(args.replication_factor, "replication-factor")
        if args.zookeeper is not None:
            try:
                zk = await KafkaZkClient.connect(args.zookeeper, session_timeout_ms=30000)
            except (zk_errors.ZkError, OSError) as exc:
                raise TopicCommandError(f"Timed out waiting for connection while in state: CONNECTING ({exc})") \
                    from exc
            try:
                await getattr(ZkTopicService(zk, out), action)(args)
            finally:
                await zk.close()
        else:
            props = load_properties_file(args.command_config) if args.command_config else {}
            props["bootstrap.servers"] = args.bootstrap_server
            admin = AdminClient(props)
            try:
                await getattr(AdminTopicService(admin, out), action)(args)
            finally:
                await admin.close()
    except (TopicCommandError, ApiError, CommandError, zk_errors.ZkError, ValueError, OSError) as exc:
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        out.write(f"Error while executing topic command : {message}\n")
        out.flush()
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr))


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdout, sys.stderr))
