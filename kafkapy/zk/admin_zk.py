"""`AdminZkClient`: topic and config administration in ZooKeeper (tools, CreateTopics,
auto-creation), plus Kafka's replica assignment algorithm as pure functions.

`assign_replicas_to_brokers` reproduces AdminUtils' assignment exactly for a fixed
start index (zookeeper-layout.md §6): the rack-unaware round robin with a replica
shift bumped every `len(brokers)` partitions, and the rack-aware variant over the
rack-alternated broker list. Without a fixed start index the start and the shift
are two independent random draws, as in Kafka.
"""
from __future__ import annotations

import enum
import logging
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kafkapy.common.types import TopicPartition
from kafkapy.zk import errors
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import ConfigType, ReplicaAssignment, TopicAssignment

log = logging.getLogger(__name__)

MAX_TOPIC_NAME_LENGTH = 249
_LEGAL_TOPIC_RE = re.compile(r"^[a-zA-Z0-9._-]+$")
COLLISION_WARNING = ("WARNING: Due to limitations in metric names, topics with a period ('.') or "
                     "underscore ('_') could collide. To avoid issues it is best to use either, "
                     "but not both.")
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


@dataclass(frozen=True, slots=True, order=True)
class BrokerMetadata:
    broker_id: int
    rack: str | None = None


class RackAwareMode(enum.Enum):
    ENFORCED = "enforced"   # all or no brokers must have racks
    DISABLED = "disabled"   # ignore racks
    SAFE = "safe"           # use racks only if every broker has one


# ====================================================================== topic names
def validate_topic_name(topic: str) -> None:
    """Kafka's legal topic names; raises InvalidTopicError."""
    if not topic:
        raise errors.InvalidTopicError("Topic name is illegal, it can't be empty")
    if topic in (".", ".."):
        raise errors.InvalidTopicError('Topic name cannot be "." or ".."')
    if len(topic) > MAX_TOPIC_NAME_LENGTH:
        raise errors.InvalidTopicError(
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, "
            f"topic name: {topic}")
    if not _LEGAL_TOPIC_RE.match(topic):
        raise errors.InvalidTopicError(
            f'Topic name "{topic}" is illegal, it contains a character other than ASCII '
            f"alphanumerics, '.', '_' and '-'")


def has_collision_chars(topic: str) -> bool:
    return "." in topic or "_" in topic


def unify_collision_chars(topic: str) -> str:
    return topic.replace(".", "_")


def has_collision(a: str, b: str) -> bool:
    return unify_collision_chars(a) == unify_collision_chars(b)


# ====================================================================== assignment
def _replica_index(first_replica_index: int, second_replica_shift: int, replica_index: int,
                   n_brokers: int) -> int:
    shift = 1 + (second_replica_shift + replica_index) % (n_brokers - 1)
    return (first_replica_index + shift) % n_brokers


def rack_alternated_broker_list(broker_racks: Mapping[int, str]) -> list[int]:
    """Brokers ordered by walking the sorted racks round robin (ids sorted in a rack)."""
    by_rack: dict[str, list[int]] = {}
    for broker_id, rack in broker_racks.items():
        by_rack.setdefault(rack, []).append(broker_id)
    queues = [sorted(ids) for _, ids in sorted(by_rack.items())]
    result: list[int] = []
    depth = 0
    while len(result) < len(broker_racks):
        for ids in queues:
            if depth < len(ids):
                result.append(ids[depth])
        depth += 1
    return result


def assign_replicas_to_brokers(n_partitions: int, replication_factor: int,
                               broker_metadatas: Sequence[BrokerMetadata] | Sequence[int],
                               fixed_start_index: int = -1, start_partition_id: int = -1,
                               rng: random.Random | None = None) -> dict[int, list[int]]:
    """Kafka's replica assignment: partition id -> replica list (first = preferred).
    Brokers are used sorted by id; racks decide between the two variants."""
    metas = sorted(m if isinstance(m, BrokerMetadata) else BrokerMetadata(int(m)) for m in broker_metadatas)
    if n_partitions <= 0:
        raise errors.InvalidPartitionsError("Number of partitions must be larger than 0.")
    if replication_factor <= 0:
        raise errors.InvalidReplicationFactorError("Replication factor must be larger than 0.")
    if replication_factor > len(metas):
        raise errors.InvalidReplicationFactorError(
            f"Replication factor: {replication_factor} larger than available brokers: {len(metas)}.")
    rng = rng or random.Random()
    racked = [m for m in metas if m.rack is not None]
    if not racked:
        return _assign_rack_unaware(n_partitions, replication_factor, [m.broker_id for m in metas],
                                    fixed_start_index, start_partition_id, rng)
    if len(racked) < len(metas):
        raise errors.AdminOperationError(
            "Not all brokers have rack information for replica rack aware assignment.")
    return _assign_rack_aware(n_partitions, replication_factor,
                              {m.broker_id: m.rack for m in metas},  # type: ignore[misc]
                              fixed_start_index, start_partition_id, rng)


def _assign_rack_unaware(n_partitions: int, replication_factor: int, brokers: list[int],
                         fixed_start_index: int, start_partition_id: int,
                         rng: random.Random) -> dict[int, list[int]]:
    n = len(brokers)
    start_index = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    replica_shift = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    pid = max(0, start_partition_id)
    result: dict[int, list[int]] = {}
    for _ in range(n_partitions):
        if pid > 0 and pid % n == 0:
            replica_shift += 1
        first = (pid + start_index) % n
        replicas = [brokers[first]]
        for j in range(replication_factor - 1):
            replicas.append(brokers[_replica_index(first, replica_shift, j, n)])
        result[pid] = replicas
        pid += 1
    return result


def _assign_rack_aware(n_partitions: int, replication_factor: int, broker_racks: Mapping[int, str],
                       fixed_start_index: int, start_partition_id: int,
                       rng: random.Random) -> dict[int, list[int]]:
    arranged = rack_alternated_broker_list(broker_racks)
    n = len(arranged)
    num_racks = len(set(broker_racks.values()))
    start_index = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    replica_shift = fixed_start_index if fixed_start_index >= 0 else rng.randrange(n)
    pid = max(0, start_partition_id)
    result: dict[int, list[int]] = {}
    for _ in range(n_partitions):
        if pid > 0 and pid % n == 0:
            replica_shift += 1
        first = (pid + start_index) % n
        leader = arranged[first]
        replicas = [leader]
        racks_used = {broker_racks[leader]}
        brokers_used = {leader}
        k = 0
        for _ in range(replication_factor - 1):
            while True:
                candidate = arranged[_replica_index(first, replica_shift * num_racks, k, n)]
                rack = broker_racks[candidate]
                k += 1
                if ((rack not in racks_used or len(racks_used) == num_racks)
                        and (candidate not in brokers_used or len(brokers_used) == n)):
                    replicas.append(candidate)
                    racks_used.add(rack)
                    brokers_used.add(candidate)
                    break
        result[pid] = replicas
        pid += 1
    return result


def broker_metadatas_for_mode(brokers: Iterable[BrokerMetadata],
                              mode: RackAwareMode = RackAwareMode.ENFORCED) -> list[BrokerMetadata]:
    """Apply a rack-aware mode to the live brokers (sorted by id)."""
    metas = sorted(brokers)
    with_rack = sum(1 for m in metas if m.rack is not None)
    if mode is RackAwareMode.DISABLED:
        return [BrokerMetadata(m.broker_id) for m in metas]
    if mode is RackAwareMode.SAFE:
        return metas if with_rack == len(metas) else [BrokerMetadata(m.broker_id) for m in metas]
    if 0 < with_rack < len(metas):
        raise errors.AdminOperationError(
            "Not all brokers have rack information. Add --disable-rack-aware in command line to "
            "make replica assignment without rack information.")
    return metas


def validate_replica_assignment(assignment: Mapping[int, Sequence[int]]) -> None:
    """The structural checks of a manual or computed assignment for a new topic."""
    if not assignment:
        raise errors.InvalidReplicaAssignmentError("Replica assignment is empty")
    sizes = {len(r) for r in assignment.values()}
    if len(sizes) != 1:
        raise errors.InvalidReplicaAssignmentError("All partitions should have the same number of replicas")
    for replicas in assignment.values():
        if len(set(replicas)) != len(replicas):
            raise errors.InvalidReplicaAssignmentError(
                f"Duplicate replica assignment found: {dict(assignment)}")
        if not replicas:
            raise errors.InvalidReplicaAssignmentError("Replica list is empty")
    if sorted(assignment) != list(range(len(assignment))):
        raise errors.InvalidReplicaAssignmentError(
            "partitions should be a consecutive 0-based integer sequence")


# ====================================================================== the client
class AdminZkClient:
    """Admin verbs over a `KafkaZkClient` (shared by tools and the broker)."""

    def __init__(self, zk_client: KafkaZkClient, *, rng: random.Random | None = None) -> None:
        self.zk_client = zk_client
        self.rng = rng or random.Random()

    # ----------------------------------------------------------------- brokers
    async def get_broker_metadatas(self, mode: RackAwareMode = RackAwareMode.ENFORCED,
                                   broker_list: Iterable[int] | None = None) -> list[BrokerMetadata]:
        brokers = await self.zk_client.get_all_brokers()
        wanted = set(broker_list) if broker_list is not None else None
        metas = [BrokerMetadata(b.broker_id, b.rack) for b in brokers
                 if wanted is None or b.broker_id in wanted]
        return broker_metadatas_for_mode(metas, mode)

    # ----------------------------------------------------------------- topics
    async def create_topic(self, topic: str, partitions: int, replication_factor: int,
                           config: Mapping[str, str] | None = None,
                           rack_aware_mode: RackAwareMode = RackAwareMode.ENFORCED,
                           config_validator: Callable[[Mapping[str, str]], None] | None = None
                           ) -> dict[int, list[int]]:
        """Assign replicas over the live brokers (random start) and create the topic."""
        brokers = await self.get_broker_metadatas(rack_aware_mode)
        assignment = assign_replicas_to_brokers(partitions, replication_factor, brokers, rng=self.rng)
        await self.create_topic_with_assignment(topic, config or {}, assignment,
                                                config_validator=config_validator)
        return assignment

    async def validate_topic_create(self, topic: str, assignment: Mapping[int, Sequence[int]],
                                    config: Mapping[str, str],
                                    config_validator: Callable[[Mapping[str, str]], None] | None = None
                                    ) -> None:
        validate_topic_name(topic)
        if await self.zk_client.topic_exists(topic):
            raise errors.TopicExistsError(f"Topic '{topic}' already exists.")
        if has_collision_chars(topic):
            colliding = [t for t in await self.zk_client.get_all_topics() if has_collision(topic, t)]
            if colliding:
                raise errors.InvalidTopicError(
                    f"Topic '{topic}' collides with existing topics: {', '.join(colliding)}")
        validate_replica_assignment(assignment)
        if config_validator is not None:
            try:
                config_validator(config)
            except errors.AdminError:
                raise
            except ValueError as exc:
                raise errors.InvalidConfigError(str(exc)) from exc

    async def create_topic_with_assignment(self, topic: str, config: Mapping[str, str],
                                           assignment: Mapping[int, Sequence[int]], *,
                                           validate: bool = True, topic_id: str | None = None,
                                           config_validator: Callable[[Mapping[str, str]], None] | None = None
                                           ) -> None:
        """Write `/config/topics/<t>` (always), then `/brokers/topics/<t>`."""
        if validate:
            await self.validate_topic_create(topic, assignment, config, config_validator)
        await self.zk_client.set_or_create_entity_config(ConfigType.TOPIC, topic, dict(config))
        try:
            await self.zk_client.create_topic_assignment(topic, {p: list(r) for p, r in assignment.items()},
                                                         topic_id)
        except errors.NodeExistsError as exc:
            raise errors.TopicExistsError(f"Topic '{topic}' already exists.") from exc
        log.info("Topic creation %s with assignment %s", topic, dict(assignment))

    async def get_topic_assignment(self, topic: str) -> TopicAssignment | None:
        return await self.zk_client.get_topic_assignment(topic)

    async def get_replica_assignment_for_topics(self, topics: Iterable[str]
                                                ) -> dict[TopicPartition, tuple[int, ...]]:
        assignments = await self.zk_client.get_topic_assignments(topics)
        return {TopicPartition(t, p): ra.replicas
                for t, a in assignments.items() for p, ra in a.partitions.items()}

    # ----------------------------------------------------------------- partitions
    async def create_new_partitions_assignment(self, topic: str,
                                               existing: Mapping[int, ReplicaAssignment | Sequence[int]],
                                               all_brokers: Sequence[BrokerMetadata],
                                               num_partitions: int,
                                               replica_assignment: Mapping[int, Sequence[int]] | None = None
                                               ) -> dict[int, list[int]]:
        """The assignment of the partitions to add (Kafka's createNewPartitionsAssignment)."""
        return new_partitions_assignment(topic, existing, all_brokers, num_partitions,
                                         replica_assignment)

    async def add_partitions(self, topic: str, num_partitions: int,
                             replica_assignment: Mapping[int, Sequence[int]] | None = None,
                             rack_aware_mode: RackAwareMode = RackAwareMode.ENFORCED,
                             validate_only: bool = False) -> dict[int, list[int]]:
        """Grow a topic to `num_partitions`; returns the new partitions' assignment."""
        current = await self.zk_client.get_topic_assignment(topic)
        if current is None or not current.partitions:
            raise errors.UnknownTopicOrPartitionError(f"The topic '{topic}' does not exist.")
        brokers = await self.get_broker_metadatas(rack_aware_mode)
        added = new_partitions_assignment(topic, current.partitions, brokers, num_partitions,
                                          replica_assignment)
        if not validate_only:
            full: dict[int, ReplicaAssignment | Sequence[int]] = dict(current.partitions)
            full.update(added)
            await self.zk_client.set_topic_assignment(topic, full, current.topic_id)
            log.info("Added partitions %s to topic %s", sorted(added), topic)
        return added

    # ----------------------------------------------------------------- configs
    async def fetch_entity_config(self, entity_type: str, entity_name: str) -> dict[str, str]:
        return await self.zk_client.get_entity_config(entity_type, entity_name)

    async def fetch_all_topic_configs(self) -> dict[str, dict[str, str]]:
        topics = await self.zk_client.get_all_topics()
        return await self.zk_client.get_entity_configs(ConfigType.TOPIC, topics)

    async def change_topic_config(self, topic: str, config: Mapping[str, str],
                                  config_validator: Callable[[Mapping[str, str]], None] | None = None
                                  ) -> None:
        """Replace a topic's overrides and notify every broker."""
        if not await self.zk_client.topic_exists(topic):
            raise errors.UnknownTopicOrPartitionError(f"Topic {topic} does not exist.")
        if config_validator is not None:
            try:
                config_validator(config)
            except ValueError as exc:
                raise errors.InvalidConfigError(str(exc)) from exc
        await self.change_entity_config(ConfigType.TOPIC, topic, config)

    async def change_entity_config(self, entity_type: str, sanitized_entity_name: str,
                                   config: Mapping[str, str]) -> None:
        """Write `/config/<type>/<name>` and a `/config/changes` notification."""
        await self.zk_client.set_or_create_entity_config(entity_type, sanitized_entity_name, dict(config))
        await self.zk_client.create_config_change_notification(f"{entity_type}/{sanitized_entity_name}")

    # ----------------------------------------------------------------- deletion
    async def delete_topic(self, topic: str) -> None:
        """Mark the topic for deletion (the controller does the rest)."""
        if not await self.zk_client.topic_exists(topic):
            raise errors.UnknownTopicOrPartitionError(f"topic {topic} to delete does not exist")
        try:
            await self.zk_client.create_delete_topic_path(topic)
        except errors.NodeExistsError as exc:
            raise errors.TopicAlreadyMarkedForDeletionError(
                f"topic {topic} is already marked for deletion") from exc


def new_partitions_assignment(topic: str, existing: Mapping[int, ReplicaAssignment | Sequence[int]],
                              all_brokers: Sequence[BrokerMetadata], num_partitions: int,
                              replica_assignment: Mapping[int, Sequence[int]] | None = None
                              ) -> dict[int, list[int]]:
    """Pure part of adding partitions (zookeeper-layout.md §6.4)."""
    replicas_of = {p: list(a.replicas if isinstance(a, ReplicaAssignment) else a) for p, a in existing.items()}
    if 0 not in replicas_of:
        raise errors.AdminOperationError(
            f"Unexpected existing replica assignment for topic '{topic}', partition id 0 is missing. "
            f"Assignment: {replicas_of}")
    current = len(replicas_of)
    to_add = num_partitions - current
    if to_add <= 0:
        raise errors.InvalidPartitionsError(
            f"The number of partitions for a topic can only be increased. Topic {topic} currently has "
            f"{current} partitions, {num_partitions} would not be an increase.")
    partition0 = replicas_of[0]
    brokers = sorted(all_brokers)
    if replica_assignment is not None:
        wanted = {p: list(r) for p, r in replica_assignment.items() if p >= current}
        live = {b.broker_id for b in brokers}
        for p in range(current, num_partitions):
            replicas = wanted.get(p)
            if replicas is None:
                raise errors.InvalidReplicaAssignmentError(
                    f"Increasing the number of partitions by {to_add} but {len(wanted)} assignments provided.")
            if not replicas:
                raise errors.InvalidReplicaAssignmentError(f"Cannot have replication factor of 0 for partition id {p}.")
            if len(set(replicas)) != len(replicas):
                raise errors.InvalidReplicaAssignmentError(
                    f"Duplicate brokers not allowed in replica assignment: {', '.join(map(str, replicas))} "
                    f"for partition id {p}.")
            unknown = [b for b in replicas if b not in live]
            if unknown:
                raise errors.BrokerNotAvailableError(
                    f"Some brokers specified for partition id {p} are not available. Specified brokers: "
                    f"{', '.join(map(str, replicas))}, available brokers: {', '.join(map(str, sorted(live)))}.")
            if len(replicas) != len(partition0):
                raise errors.InvalidReplicaAssignmentError(
                    f"Inconsistent replication factor between partitions, partition 0 has {len(partition0)} "
                    f"while partitions [{p}] have replication factors [{len(replicas)}], respectively.")
        return {p: wanted[p] for p in range(current, num_partitions)}
    ids = [b.broker_id for b in brokers]
    start_index = next((i for i, b in enumerate(ids) if b >= partition0[0]), 0)
    return assign_replicas_to_brokers(to_add, len(partition0), brokers, fixed_start_index=start_index,
                                      start_partition_id=current)
