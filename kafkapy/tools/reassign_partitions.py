"""kafka-reassign-partitions.sh: move partition replicas between brokers (Kafka 2.8's ReassignPartitionsCommand).

Actions: ``--generate`` (propose an assignment of whole topics onto a broker list), ``--execute``
(start the reassignment in a JSON file), ``--verify`` (report progress; once everything is done,
remove the replication throttles), ``--list`` and ``--cancel`` (``--bootstrap-server`` only).

``--zookeeper`` is the legacy path: ``--execute`` writes ``/admin/reassign_partitions`` and the
controller picks it up; ``--verify`` compares that znode and the topic assignments.
``--bootstrap-server`` uses the AlterPartitionReassignments / ListPartitionReassignments APIs.

Throttles are written the way Kafka writes them (``leader.replication.throttled.replicas`` /
``follower.replication.throttled.replicas`` on the topics, ``leader.replication.throttled.rate`` /
``follower.replication.throttled.rate`` on the brokers involved); kafkapy's brokers store them but
do not enforce a replication rate yet.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, check_invalid, run_tool

__all__ = ["main", "parse_topics_to_move", "parse_reassignment", "parse_broker_list", "format_reassignment_json",
           "calculate_assignment", "leader_throttles", "follower_throttles", "format_ongoing",
           "verify_lines", "Ongoing", "PARSER"]

DESCRIPTION = "This tool helps to move topic partitions between replicas."

OPTIONS = [
    Opt("--additional", None, "With --execute, start this reassignment next to the ones already running "
        "(or resubmit a running one to change its throttle)."),
    Opt("--bootstrap-server", "<String: Server(s) to use for bootstrapping>", "The broker(s) to connect to "
        "(host:port, comma separated). REQUIRED unless --zookeeper is given."),
    Opt("--broker-list", "<String: brokerlist>", "With --generate: the brokers to move the topics onto, "
        "as \"0,1,2\"."),
    Opt("--cancel", None, "Cancel the active reassignments of the partitions in --reassignment-json-file."),
    Opt("--command-config", "<String: Admin client property file>", "Properties for the admin client "
        "(with --bootstrap-server)."),
    Opt("--disable-rack-aware", None, "With --generate, ignore broker racks."),
    Opt("--execute", None, "Start the reassignment given by --reassignment-json-file."),
    Opt("--generate", None, "Propose a reassignment of the topics in --topics-to-move-json-file onto the "
        "brokers in --broker-list (it is only printed, not executed)."),
    Opt("--help", None, "Print usage information."),
    Opt("--list", None, "List the partition reassignments in progress."),
    Opt("--preserve-throttles", None, "With --verify or --cancel, leave broker and topic throttles in place."),
    Opt("--reassignment-json-file", "<String: manual assignment json file path>", "The reassignment JSON file "
        "({\"version\":1,\"partitions\":[{\"topic\":..,\"partition\":..,\"replicas\":[..],"
        "\"log_dirs\":[..]}]}); \"log_dirs\" is optional."),
    Opt("--throttle", "<Long: throttle>", "With --execute: the replication rate limit in bytes/sec for "
        "the moving replicas.", default="-1"),
    Opt("--timeout", "<Long: timeout>", "Milliseconds to wait for the reassignment to start.", default="10000"),
    Opt("--topics-to-move-json-file", "<String: topics to reassign json file path>", "With --generate: the "
        "topics to move, as {\"topics\":[{\"topic\":\"foo\"}],\"version\":1}."),
    Opt("--verify", None, "Check whether the reassignment in --reassignment-json-file has completed; "
        "once it has, remove the throttles."),
    Opt("--version", None, "Display Kafka version."),
    Opt("--zookeeper", "<String: urls>", "DEPRECATED: the ZooKeeper connect string. Use --bootstrap-server "
        "instead."),
]

PARSER = ToolParser("kafka-reassign-partitions.sh", OPTIONS, DESCRIPTION)
ACTIONS = ("--generate", "--execute", "--verify", "--cancel", "--list")

LEADER_THROTTLED_RATE = "leader.replication.throttled.rate"
FOLLOWER_THROTTLED_RATE = "follower.replication.throttled.rate"
LEADER_THROTTLED_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_THROTTLED_REPLICAS = "follower.replication.throttled.replicas"


class TerseError(Exception):
    """A failure printed as its message alone (Kafka's TerseReassignmentFailureException)."""


@dataclass(frozen=True, slots=True)
class Ongoing:
    """A reassignment in progress: the full replica set and the replicas being added/removed."""
    replicas: tuple[int, ...]
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()


# ------------------------------------------------------------------ pure helpers
def _tp_str(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"


def _sorted(tps: Iterable[TopicPartition]) -> list[TopicPartition]:
    return sorted(tps, key=lambda tp: (tp.topic, tp.partition))


def _duplicates(items: Iterable[Any]) -> list[Any]:
    seen: set[Any] = set()
    dup: list[Any] = []
    for item in items:
        if item in seen and item not in dup:
            dup.append(item)
        seen.add(item)
    return dup


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise CommandError("The input string is not a valid JSON") from None


def parse_broker_list(text: str) -> list[int]:
    try:
        brokers = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CommandError(f"Invalid broker list: {text}") from None
    dup = _duplicates(brokers)
    if dup:
        raise CommandError("Broker list contains duplicate entries: %s" % ",".join(map(str, dup)))
    return brokers


def parse_topics_to_move(text: str) -> list[str]:
    data = _load_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
        raise CommandError("Missing or invalid \"topics\" field in the topics-to-move JSON")
    if data.get("version", 1) != 1:
        raise CommandError(f"Not supported version field value {data['version']}")
    topics = []
    for entry in data["topics"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("topic"), str):
            raise CommandError(f"Invalid topic entry: {json.dumps(entry)}")
        topics.append(entry["topic"])
    dup = _duplicates(topics)
    if dup:
        raise CommandError("List of topics to reassign contains duplicate entries: %s" % ",".join(dup))
    return topics


def parse_reassignment(text: str) -> tuple[dict[TopicPartition, list[int]], dict[tuple[TopicPartition, int], str]]:
    """Kafka's reassignment JSON -> (target replicas per partition, explicit log dirs per (partition, replica))."""
    data = _load_json(text)
    if not isinstance(data, dict):
        raise CommandError("The input string is not a valid JSON")
    if data.get("version", 1) != 1:
        raise CommandError(f"Not supported version field value {data['version']}")
    entries = data.get("partitions")
    if not isinstance(entries, list) or not entries:
        raise CommandError("Partition reassignment list cannot be empty")
    order: list[TopicPartition] = []
    targets: dict[TopicPartition, list[int]] = {}
    log_dirs: dict[tuple[TopicPartition, int], str] = {}
    for e in entries:
        try:
            tp = TopicPartition(str(e["topic"]), int(e["partition"]))
            replicas = [int(r) for r in e["replicas"]]
        except (KeyError, TypeError, ValueError):
            raise CommandError(f"Invalid partition entry: {json.dumps(e)}") from None
        dirs = e.get("log_dirs")
        if dirs is not None:
            if len(dirs) != len(replicas):
                raise CommandError(f"Size of replicas list {replicas} is different from size of log dirs "
                                   f"list {dirs} for partition {_tp_str(tp)}")
            for r, d in zip(replicas, dirs):
                if d != "any":
                    log_dirs[(tp, r)] = str(d)
        order.append(tp)
        targets[tp] = replicas
    if any(not r for r in targets.values()):
        raise CommandError("Partition replica list cannot be empty")
    dup_tps = _duplicates(order)
    if dup_tps:
        raise CommandError("Partition reassignment contains duplicate topic partitions: %s"
                           % ",".join(_tp_str(tp) for tp in dup_tps))
    dup_msgs = ["%s contains multiple entries for %s" % (_tp_str(tp), ",".join(map(str, d)))
                for tp, r in targets.items() if (d := _duplicates(r))]
    if dup_msgs:
        raise CommandError("Partition replica lists may not contain duplicate entries: %s" % ". ".join(dup_msgs))
    return targets, log_dirs


def format_reassignment_json(assignment: Mapping[TopicPartition, Sequence[int]],
                             log_dirs: Mapping[tuple[TopicPartition, int], str] | None = None) -> str:
    """Kafka's compact reassignment JSON, partitions sorted, "any" for unspecified log dirs."""
    log_dirs = log_dirs or {}
    parts = [{"topic": tp.topic, "partition": tp.partition, "replicas": list(assignment[tp]),
              "log_dirs": [log_dirs.get((tp, r), "any") for r in assignment[tp]]}
             for tp in _sorted(assignment)]
    return json.dumps({"version": 1, "partitions": parts}, separators=(",", ":"))


def calculate_assignment(current: Mapping[TopicPartition, Sequence[int]], brokers: Sequence[Any],
                         rng: random.Random | None = None) -> dict[TopicPartition, list[int]]:
    """Propose a new placement of each topic's partitions (same count and replication factor) on `brokers`
    (ids or BrokerMetadata), with Kafka's replica assignment algorithm."""
    from kafkapy.zk.admin_zk import assign_replicas_to_brokers
    by_topic: dict[str, list[TopicPartition]] = {}
    for tp in current:
        by_topic.setdefault(tp.topic, []).append(tp)
    proposed: dict[TopicPartition, list[int]] = {}
    for topic, tps in by_topic.items():
        rf = len(current[tps[0]])
        try:
            assignment = assign_replicas_to_brokers(len(tps), rf, brokers, rng=rng)
        except ApiError as e:
            raise CommandError(e.message or str(e)) from None
        for p, replicas in assignment.items():
            proposed[TopicPartition(topic, p)] = list(replicas)
    return proposed


def _throttle_value(entries: Mapping[str, list[str]], topic: str) -> str:
    return ",".join(entries.get(topic, []))


def leader_throttles(current: Mapping[TopicPartition, Sequence[int]],
                     proposed: Mapping[TopicPartition, Sequence[int]]) -> dict[str, str]:
    """topic -> "partition:broker,..." for the current replicas of every moving partition (they lead the
    copy)."""
    out: dict[str, list[str]] = {}
    for tp in _sorted(proposed):
        cur = list(current.get(tp, ()))
        if set(cur) == set(proposed[tp]) and cur[:1] == list(proposed[tp])[:1]:
            continue
        out.setdefault(tp.topic, []).extend(f"{tp.partition}:{b}" for b in cur)
    return {t: _throttle_value(out, t) for t in out}


def follower_throttles(current: Mapping[TopicPartition, Sequence[int]],
                       proposed: Mapping[TopicPartition, Sequence[int]]) -> dict[str, str]:
    """topic -> "partition:broker,..." for the replicas being added."""
    out: dict[str, list[str]] = {}
    for tp in _sorted(proposed):
        adding = [b for b in proposed[tp] if b not in set(current.get(tp, ()))]
        if adding:
            out.setdefault(tp.topic, []).extend(f"{tp.partition}:{b}" for b in adding)
    return {t: _throttle_value(out, t) for t in out}


def format_ongoing(ongoing: Mapping[TopicPartition, Ongoing]) -> str:
    if not ongoing:
        return "No partition reassignments found."
    lines = []
    for tp in _sorted(ongoing):
        o = ongoing[tp]
        line = "%s: replicas: %s." % (_tp_str(tp), ",".join(map(str, o.replicas)))
        if o.adding:
            line += " adding: %s." % ",".join(map(str, o.adding))
        if o.removing:
            line += " removing: %s." % ",".join(map(str, o.removing))
        lines.append(line)
    return "Current partition reassignments:\n" + "\n".join(lines)


def verify_lines(targets: Mapping[TopicPartition, Sequence[int]], ongoing: Mapping[TopicPartition, Any],
                 current: Mapping[TopicPartition, Sequence[int]]) -> tuple[list[str], bool]:
    """("Status of partition reassignment:" + one line per partition, whether all are complete)."""
    lines = ["Status of partition reassignment:"]
    done = True
    for tp in _sorted(targets):
        if tp in ongoing:
            lines.append("Reassignment of partition %s is still in progress." % _tp_str(tp))
            done = False
        elif list(current.get(tp, ())) == list(targets[tp]):
            lines.append("Reassignment of partition %s is complete." % _tp_str(tp))
        else:
            lines.append("There is no active reassignment of partition %s, but replica set is %s rather than %s."
                         % (_tp_str(tp), ",".join(map(str, current.get(tp, ()))),
                            ",".join(map(str, targets[tp]))))
            done = False
    return lines, done


# ------------------------------------------------------------------ backends
class Backend(Protocol):
    async def assignment(self, topics: Iterable[str]) -> dict[TopicPartition, list[int]]: ...
    async def brokers(self) -> list[Any]: ...
    async def ongoing(self) -> dict[TopicPartition, Ongoing]: ...
    async def start(self, targets: Mapping[TopicPartition, Sequence[int]]) -> dict[TopicPartition, str | None]: ...
    async def cancel(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, str | None]: ...
    async def set_throttles(self, topic_configs: Mapping[str, Mapping[str, str | None]],
                            broker_configs: Mapping[int, Mapping[str, str | None]]) -> None: ...
    async def close(self) -> None: ...


class ZkBackend:
    def __init__(self, zk: Any, rack_aware: bool) -> None:
        from kafkapy.zk.admin_zk import AdminZkClient
        self.zk = zk
        self.admin = AdminZkClient(zk)
        self.rack_aware = rack_aware

    async def assignment(self, topics: Iterable[str]) -> dict[TopicPartition, list[int]]:
        return {tp: list(r) for tp, r in (await self.admin.get_replica_assignment_for_topics(topics)).items()}

    async def brokers(self) -> list[Any]:
        from kafkapy.zk.admin_zk import RackAwareMode
        mode = RackAwareMode.ENFORCED if self.rack_aware else RackAwareMode.DISABLED
        try:
            return list(await self.admin.get_broker_metadatas(mode))
        except ApiError as e:
            raise CommandError(e.message or str(e)) from None

    async def ongoing(self) -> dict[TopicPartition, Ongoing]:
        pending = await self.zk.get_partition_reassignment() or {}
        return {tp: Ongoing(tuple(r)) for tp, r in pending.items()}

    async def start(self, targets: Mapping[TopicPartition, Sequence[int]]) -> dict[TopicPartition, str | None]:
        from kafkapy.zk import errors as zk_errors
        if await self.zk.get_partition_reassignment() is not None:
            raise TerseError("There is an existing assignment running.")
        try:
            await self.zk.create_partition_reassignment({tp: tuple(r) for tp, r in targets.items()})
        except zk_errors.NodeExistsError:
            raise TerseError("There is an existing assignment running.") from None
        return {tp: None for tp in targets}

    async def cancel(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, str | None]:
        raise UsageError('Option "[cancel]" can\'t be used with option "[zookeeper]"')

    async def set_throttles(self, topic_configs: Mapping[str, Mapping[str, str | None]],
                            broker_configs: Mapping[int, Mapping[str, str | None]]) -> None:
        from kafkapy.zk.znodes import ConfigType
        for topic, changes in topic_configs.items():
            config = await self.zk.get_entity_config(ConfigType.TOPIC, topic)
            _apply(config, changes)
            await self.admin.change_topic_config(topic, config)
        for broker, changes in broker_configs.items():
            config = await self.zk.get_entity_config(ConfigType.BROKER, str(broker))
            if _apply(config, changes):
                await self.admin.change_entity_config(ConfigType.BROKER, str(broker), config)

    async def close(self) -> None:
        await self.zk.close()


def _apply(config: dict[str, str], changes: Mapping[str, str | None]) -> bool:
    changed = False
    for k, v in changes.items():
        if v is None:
            changed |= config.pop(k, None) is not None
        elif config.get(k) != v:
            config[k] = v
            changed = True
    return changed


class AdminBackend:
    def __init__(self, admin: Any, timeout_ms: int) -> None:
        self.admin = admin
        self.timeout_ms = timeout_ms

    async def assignment(self, topics: Iterable[str]) -> dict[TopicPartition, list[int]]:
        topics = list(topics)
        described = await self.admin.describe_topics(topics)
        missing = [t for t in topics if t not in described or described[t].error_code != ErrorCode.NONE]
        if missing:
            raise CommandError("Topic %s not found" % ",".join(missing))
        return {TopicPartition(t, p): list(pm.replicas)
                for t, tm in described.items() for p, pm in tm.partitions.items()}

    async def brokers(self) -> list[Any]:
        md = await self.admin.describe_cluster()
        return sorted(md.brokers)

    async def ongoing(self) -> dict[TopicPartition, Ongoing]:
        from kafkapy.protocol.api_keys import ApiKey
        from kafkapy.protocol.messages.list_partition_reassignments import API
        req = API.request(timeout_ms=self.timeout_ms, topics=None)
        resp = await self.admin._retry_controller(ApiKey.LIST_PARTITION_REASSIGNMENTS, req,
                                                  lambda r: [r.error_code])
        if resp.error_code != ErrorCode.NONE:
            raise CommandError(_error_text(resp.error_code, resp.error_message))
        return {TopicPartition(t.name, p.partition_index):
                Ongoing(tuple(p.replicas), tuple(p.adding_replicas), tuple(p.removing_replicas))
                for t in resp.topics for p in t.partitions}

    async def _alter(self, wanted: Mapping[TopicPartition, Sequence[int] | None]) -> dict[TopicPartition, str | None]:
        from kafkapy.protocol.api_keys import ApiKey
        from kafkapy.protocol.messages.alter_partition_reassignments import API
        topic_cls = API.request.struct("topics")
        part_cls = API.request.struct("topics", "partitions")
        by_topic: dict[str, list[Any]] = {}
        for tp in _sorted(wanted):
            r = wanted[tp]
            by_topic.setdefault(tp.topic, []).append(
                part_cls(partition_index=tp.partition, replicas=None if r is None else list(r)))
        req = API.request(timeout_ms=self.timeout_ms,
                          topics=[topic_cls(name=t, partitions=ps) for t, ps in by_topic.items()])
        resp = await self.admin._retry_controller(ApiKey.ALTER_PARTITION_REASSIGNMENTS, req,
                                                  lambda r: [r.error_code])
        if resp.error_code != ErrorCode.NONE:
            return {tp: _error_text(resp.error_code, resp.error_message) for tp in wanted}
        out: dict[TopicPartition, str | None] = {}
        for t in resp.responses:
            for p in t.partitions:
                tp = TopicPartition(t.name, p.partition_index)
                out[tp] = None if p.error_code == ErrorCode.NONE else _error_text(p.error_code, p.error_message)
        return out

    async def start(self, targets: Mapping[TopicPartition, Sequence[int]]) -> dict[TopicPartition, str | None]:
        return await self._alter(targets)

    async def cancel(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, str | None]:
        return await self._alter({tp: None for tp in tps})

    async def set_throttles(self, topic_configs: Mapping[str, Mapping[str, str | None]],
                            broker_configs: Mapping[int, Mapping[str, str | None]]) -> None:
        from kafkapy.clients.admin import AlterConfigOp, ConfigResource, ConfigResourceType
        ops: dict[Any, list[tuple[str, str | None, Any]]] = {}
        for topic, changes in topic_configs.items():
            ops[ConfigResource(ConfigResourceType.TOPIC, topic)] = [
                (k, v, AlterConfigOp.DELETE if v is None else AlterConfigOp.SET) for k, v in changes.items()]
        for broker, changes in broker_configs.items():
            ops[ConfigResource(ConfigResourceType.BROKER, str(broker))] = [
                (k, v, AlterConfigOp.DELETE if v is None else AlterConfigOp.SET) for k, v in changes.items()]
        if not ops:
            return
        results = await self.admin.incremental_alter_configs(ops)
        failed = {r: e for r, e in results.items() if e is not None}
        if failed:
            raise CommandError("; ".join(f"{r.name}: {e.message or e}" for r, e in failed.items()))

    async def close(self) -> None:
        await self.admin.close()


def _error_text(code: int, message: str | None) -> str:
    try:
        name = ErrorCode(code).name
    except ValueError:
        name = str(code)
    return f"{name}: {message}" if message else name


# ------------------------------------------------------------------ actions
async def generate(backend: Backend, args: argparse.Namespace, out: TextIO) -> None:
    topics = parse_topics_to_move(_read(args.topics_to_move_json_file))
    wanted = parse_broker_list(args.broker_list)
    current = await backend.assignment(topics)
    found = {tp.topic for tp in current}
    missing = [t for t in topics if t not in found]
    if missing:
        raise CommandError("Topic %s not found" % ",".join(missing))
    brokers = await backend.brokers()
    ids = {getattr(b, "broker_id", b) for b in brokers}
    unknown = [b for b in wanted if b not in ids]
    if unknown:
        raise CommandError("Unknown broker id %s" % ",".join(map(str, unknown)))
    chosen = [b for b in brokers if getattr(b, "broker_id", b) in set(wanted)]
    proposed = calculate_assignment(current, chosen)
    out.write("Current partition replica assignment\n%s\n\n" % format_reassignment_json(current))
    out.write("Proposed partition reassignment configuration\n%s\n" % format_reassignment_json(proposed))


def _throttle_changes(current: Mapping[TopicPartition, Sequence[int]],
                      targets: Mapping[TopicPartition, Sequence[int]],
                      throttle: int) -> tuple[dict[str, dict[str, str | None]], dict[int, dict[str, str | None]]]:
    leaders = leader_throttles(current, targets)
    followers = follower_throttles(current, targets)
    topic_configs: dict[str, dict[str, str | None]] = {}
    for topic in sorted(set(leaders) | set(followers)):
        topic_configs[topic] = {LEADER_THROTTLED_REPLICAS: leaders.get(topic, ""),
                                FOLLOWER_THROTTLED_REPLICAS: followers.get(topic, "")}
    brokers = sorted({b for r in current.values() for b in r} | {b for r in targets.values() for b in r})
    broker_configs: dict[int, dict[str, str | None]] = {
        b: {LEADER_THROTTLED_RATE: str(throttle), FOLLOWER_THROTTLED_RATE: str(throttle)} for b in brokers}
    return topic_configs, broker_configs


async def execute(backend: Backend, args: argparse.Namespace, out: TextIO) -> None:
    targets, _log_dirs = parse_reassignment(_read(args.reassignment_json_file))
    throttle = _int(args.throttle, "throttle")
    if not args.additional and not args.zookeeper:
        if await backend.ongoing():
            raise TerseError("Cannot execute because there is an existing partition assignment.  Use --additional "
                             "to override this and create a new partition assignment in addition to the existing "
                             "one. The --additional flag can also be used to change the throttle by resubmitting "
                             "the current reassignment.")
    topics = sorted({tp.topic for tp in targets})
    assignment = await backend.assignment(topics)
    missing = [tp for tp in _sorted(targets) if tp not in assignment]
    if missing:
        raise CommandError("The proposed assignment contains non-existent partitions: %s"
                           % ",".join(_tp_str(tp) for tp in missing))
    live = {getattr(b, "broker_id", b) for b in await backend.brokers()}
    dead = sorted({b for r in targets.values() for b in r} - live)
    if dead:
        raise CommandError("The proposed assignment contains non-existent brokerIDs: %s" % ",".join(map(str, dead)))
    current = {tp: assignment[tp] for tp in targets}
    out.write("Current partition replica assignment\n\n%s\n\nSave this to use as the --reassignment-json-file "
              "option during rollback\n" % format_reassignment_json(current))
    if throttle >= 0:
        topic_configs, broker_configs = _throttle_changes(current, targets, throttle)
        await backend.set_throttles(topic_configs, broker_configs)
        out.write("Warning: You must run --verify periodically, until the reassignment completes, to ensure the "
                  "throttle is removed.\n")
        out.write("The inter-broker throttle limit was set to %d B/s\n" % throttle)
    results = await backend.start(targets)
    errors = {tp: e for tp, e in results.items() if e is not None}
    if errors:
        raise TerseError("Error reassigning partition(s):\n%s"
                         % "\n".join(f"{_tp_str(tp)}: {e}" for tp, e in sorted(errors.items())))
    out.write("Successfully started partition reassignment%s for %s\n"
              % ("" if len(targets) == 1 else "s", ",".join(_tp_str(tp) for tp in _sorted(targets))))


async def _clear_throttles(backend: Backend, targets: Mapping[TopicPartition, Sequence[int]], out: TextIO) -> None:
    # Kafka clears live brokers plus the target replicas' brokers; a broker that is down cannot take a config
    # change over the wire, so only the live ones are touched here.
    brokers = sorted({getattr(b, "broker_id", b) for b in await backend.brokers()})
    out.write("Clearing broker-level throttles on broker%s %s\n"
              % ("" if len(brokers) == 1 else "s", ",".join(map(str, brokers))))
    topics = sorted({tp.topic for tp in targets})
    out.write("Clearing topic-level throttles on topic%s %s\n"
              % ("" if len(topics) == 1 else "s", ",".join(topics)))
    await backend.set_throttles(
        {t: {LEADER_THROTTLED_REPLICAS: None, FOLLOWER_THROTTLED_REPLICAS: None} for t in topics},
        {b: {LEADER_THROTTLED_RATE: None, FOLLOWER_THROTTLED_RATE: None} for b in brokers})


async def verify(backend: Backend, args: argparse.Namespace, out: TextIO) -> int:
    targets, _log_dirs = parse_reassignment(_read(args.reassignment_json_file))
    ongoing = await backend.ongoing()
    current = await backend.assignment(sorted({tp.topic for tp in targets}))
    lines, done = verify_lines(targets, ongoing, current)
    out.write("\n".join(lines) + "\n")
    if done and not args.preserve_throttles:
        out.write("\n")
        await _clear_throttles(backend, targets, out)
    return 0


async def list_reassignments(backend: Backend, out: TextIO) -> None:
    out.write(format_ongoing(await backend.ongoing()) + "\n")


async def cancel(backend: Backend, args: argparse.Namespace, out: TextIO) -> None:
    targets, _log_dirs = parse_reassignment(_read(args.reassignment_json_file))
    ongoing = await backend.ongoing()
    active = [tp for tp in _sorted(targets) if tp in ongoing]
    if not active:
        out.write("None of the specified partition reassignments are active.\n")
    else:
        results = await backend.cancel(active)
        errors = {tp: e for tp, e in results.items() if e is not None}
        if errors:
            raise TerseError("Error cancelling partition reassignment%s for:\n%s"
                             % ("" if len(errors) == 1 else "s",
                                "\n".join(f"{_tp_str(tp)}: {e}" for tp, e in sorted(errors.items()))))
        out.write("Successfully cancelled partition reassignment%s for: %s\n"
                  % ("" if len(active) == 1 else "s", ",".join(_tp_str(tp) for tp in active)))
    if not args.preserve_throttles:
        await _clear_throttles(backend, targets, out)


# ------------------------------------------------------------------ command line
def _read(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise CommandError(f"{path} (No such file or directory)")
    return p.read_text()


def _int(value: str | None, name: str) -> int:
    try:
        return int(value) if value is not None else -1
    except ValueError:
        raise UsageError(f"Cannot parse argument '{value}' of option {name}") from None


def check_args(args: argparse.Namespace) -> str:
    actions = [a for a in ACTIONS if getattr(args, a.lstrip("-"))]
    if len(actions) != 1:
        raise UsageError("Command must include exactly one action: --generate, --execute, --verify, --cancel, "
                         "or --list")
    action = actions[0]
    if not args.bootstrap_server and not args.zookeeper:
        raise UsageError("Please specify --bootstrap-server")
    if args.bootstrap_server and args.zookeeper:
        raise UsageError('Option "[bootstrap-server]" can\'t be used with option "[zookeeper]"')
    if args.zookeeper and action in ("--list", "--cancel"):
        raise UsageError(f'Option "{action}" can\'t be used with option "--zookeeper"')
    required = {"--generate": ("--topics-to-move-json-file", "--broker-list"),
                "--execute": ("--reassignment-json-file",), "--verify": ("--reassignment-json-file",),
                "--cancel": ("--reassignment-json-file",), "--list": ()}[action]
    missing = [r for r in required if getattr(args, r.lstrip("-").replace("-", "_")) is None]
    if missing:
        raise UsageError("Missing required argument(s): %s" % ", ".join(m.lstrip("-") for m in missing))
    only_with = {"--throttle": ("--execute",), "--additional": ("--execute",),
                 "--preserve-throttles": ("--verify", "--cancel"), "--broker-list": ("--generate",),
                 "--topics-to-move-json-file": ("--generate",), "--disable-rack-aware": ("--generate",),
                 "--reassignment-json-file": ("--execute", "--verify", "--cancel")}
    for opt, allowed in only_with.items():
        value = getattr(args, opt.lstrip("-").replace("-", "_"))
        if value in (None, False) or (opt == "--throttle" and value == "-1"):
            continue
        if action not in allowed:
            raise UsageError(f'Option "{opt}" can\'t be used with action "{action}"')
    check_invalid(args, "--zookeeper", ["--command-config"])
    return action


async def _open(args: argparse.Namespace) -> Backend:
    if args.zookeeper:
        from kafkapy.zk.kafka_zk import KafkaZkClient
        zk = await KafkaZkClient.connect(args.zookeeper, session_timeout_ms=30000, connection_timeout_ms=30000)
        return ZkBackend(zk, rack_aware=not args.disable_rack_aware)
    from kafkapy.clients.admin import AdminClient
    from kafkapy.tools._common import load_properties_file
    props: dict[str, Any] = dict(load_properties_file(args.command_config)) if args.command_config else {}
    props["bootstrap.servers"] = args.bootstrap_server
    admin = AdminClient(props)
    await admin.start()
    return AdminBackend(admin, _int(args.timeout, "timeout"))


async def main_async(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = PARSER.parse(argv)
        done = PARSER.help_or_version(args, argv, out)
        if done is not None:
            return done
        action = check_args(args)
        _int(args.throttle, "throttle")
    except UsageError as e:
        return PARSER.print_usage_and_die(str(e), err)
    if args.zookeeper:
        err.write("Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.\n")
    try:
        backend = await _open(args)
    except (OSError, ApiError, CommandError) as e:
        out.write(f"Error: {e}\n")
        return 1
    except Exception as e:       # noqa: BLE001 - a tool reports any connection failure in one line
        out.write(f"Error: {type(e).__name__}: {e}\n")
        return 1
    try:
        if action == "--generate":
            await generate(backend, args, out)
        elif action == "--execute":
            await execute(backend, args, out)
        elif action == "--verify":
            await verify(backend, args, out)
        elif action == "--list":
            await list_reassignments(backend, out)
        else:
            await cancel(backend, args, out)
        return 0
    except TerseError as e:
        out.write(f"{e}\n")
        return 1
    except UsageError as e:
        return PARSER.print_usage_and_die(str(e), err)
    except (CommandError, ApiError, OSError) as e:
        out.write(f"Error: {e}\n")
        return 1
    finally:
        await backend.close()


def main(argv: list[str] | None = None) -> None:
    run_tool(main_async, argv)


if __name__ == "__main__":
    main()
