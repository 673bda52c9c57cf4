"""The controller's in-memory view of the cluster (Kafka's ``ControllerContext``).

Only the controller's event-processing task mutates a context. It holds live
brokers with their epochs, the full replica assignment of every topic, the
leader/ISR of every partition (with the state znode version), the state of
every partition and replica, and the topic-deletion bookkeeping.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kafkapy.common.types import LeaderAndIsr, TopicPartition

__all__ = [
    "EndPoint", "BrokerInfo", "ReplicaAssignment", "PartitionReplica",
    "PartitionState", "ReplicaState", "ControllerContext",
    "VALID_PREVIOUS_PARTITION_STATES", "VALID_PREVIOUS_REPLICA_STATES",
]


@dataclass(frozen=True, slots=True)
class EndPoint:
    listener_name: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    """A registered broker as the controller knows it (from `/brokers/ids/<id>`)."""
    broker_id: int
    endpoints: tuple[EndPoint, ...]
    rack: str | None = None
    epoch: int = -1                 # czxid of the registration znode

    def endpoint(self, listener_name: str) -> EndPoint | None:
        for ep in self.endpoints:
            if ep.listener_name == listener_name:
                return ep
        return None


@dataclass(frozen=True, slots=True)
class ReplicaAssignment:
    """A partition's full replica set, plus the replicas being added/removed by a reassignment."""
    replicas: tuple[int, ...]
    adding_replicas: tuple[int, ...] = ()
    removing_replicas: tuple[int, ...] = ()

    @property
    def is_being_reassigned(self) -> bool:
        return bool(self.adding_replicas or self.removing_replicas)

    @property
    def origin_replicas(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.adding_replicas)

    @property
    def target_replicas(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.removing_replicas)

    @staticmethod
    def from_target(origin: Iterable[int], target: Iterable[int]) -> ReplicaAssignment:
        origin_t, target_t = tuple(origin), tuple(target)
        full = tuple(dict.fromkeys(target_t + origin_t))
        return ReplicaAssignment(full,
                                 tuple(r for r in full if r not in origin_t),
                                 tuple(r for r in full if r not in target_t))

    def reassign_to(self, target: Iterable[int]) -> ReplicaAssignment:
        """A new reassignment replacing any in flight: it starts from this one's origin."""
        return ReplicaAssignment.from_target(self.origin_replicas, target)

    def remove_replica(self, replica: int) -> ReplicaAssignment:
        return ReplicaAssignment(tuple(r for r in self.replicas if r != replica),
                                 tuple(r for r in self.adding_replicas if r != replica),
                                 tuple(r for r in self.removing_replicas if r != replica))


@dataclass(frozen=True, slots=True, order=True)
class PartitionReplica:
    partition: TopicPartition
    replica: int

    def __str__(self) -> str:
        return f"[Topic={self.partition.topic},Partition={self.partition.partition},Replica={self.replica}]"


class PartitionState(enum.Enum):
    NEW = 0
    ONLINE = 1
    OFFLINE = 2
    NON_EXISTENT = 3

    @property
    def kafka_name(self) -> str:
        return {0: "NewPartition", 1: "OnlinePartition", 2: "OfflinePartition",
                3: "NonExistentPartition"}[self.value]


VALID_PREVIOUS_PARTITION_STATES: dict[PartitionState, frozenset[PartitionState]] = {
    PartitionState.NEW: frozenset({PartitionState.NON_EXISTENT}),
    PartitionState.ONLINE: frozenset({PartitionState.NEW, PartitionState.ONLINE, PartitionState.OFFLINE}),
    PartitionState.OFFLINE: frozenset({PartitionState.NEW, PartitionState.ONLINE, PartitionState.OFFLINE}),
    PartitionState.NON_EXISTENT: frozenset({PartitionState.OFFLINE}),
}


class ReplicaState(enum.Enum):
    NEW = 1
    ONLINE = 2
    OFFLINE = 3
    DELETION_STARTED = 4
    DELETION_SUCCESSFUL = 5
    DELETION_INELIGIBLE = 6
    NON_EXISTENT = 7

    @property
    def kafka_name(self) -> str:
        return {1: "NewReplica", 2: "OnlineReplica", 3: "OfflineReplica", 4: "ReplicaDeletionStarted",
                5: "ReplicaDeletionSuccessful", 6: "ReplicaDeletionIneligible",
                7: "NonExistentReplica"}[self.value]


VALID_PREVIOUS_REPLICA_STATES: dict[ReplicaState, frozenset[ReplicaState]] = {
    ReplicaState.NEW: frozenset({ReplicaState.NON_EXISTENT}),
    ReplicaState.ONLINE: frozenset({ReplicaState.NEW, ReplicaState.ONLINE, ReplicaState.OFFLINE,
                                    ReplicaState.DELETION_INELIGIBLE}),
    ReplicaState.OFFLINE: frozenset({ReplicaState.NEW, ReplicaState.ONLINE, ReplicaState.OFFLINE,
                                     ReplicaState.DELETION_INELIGIBLE}),
    ReplicaState.DELETION_STARTED: frozenset({ReplicaState.OFFLINE}),
    ReplicaState.DELETION_SUCCESSFUL: frozenset({ReplicaState.DELETION_STARTED}),
    ReplicaState.DELETION_INELIGIBLE: frozenset({ReplicaState.OFFLINE, ReplicaState.DELETION_STARTED}),
    ReplicaState.NON_EXISTENT: frozenset({ReplicaState.DELETION_SUCCESSFUL}),
}


@dataclass
class ControllerContext:
    epoch: int = 0
    epoch_zk_version: int = 0
    live_brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    shutting_down_broker_ids: set[int] = field(default_factory=set)
    all_topics: set[str] = field(default_factory=set)
    topic_ids: dict[str, str] = field(default_factory=dict)
    partition_assignments: dict[str, dict[int, ReplicaAssignment]] = field(default_factory=dict)
    partition_leadership_info: dict[TopicPartition, LeaderAndIsr] = field(default_factory=dict)
    partitions_being_reassigned: set[TopicPartition] = field(default_factory=set)
    partition_states: dict[TopicPartition, PartitionState] = field(default_factory=dict)
    replica_states: dict[PartitionReplica, ReplicaState] = field(default_factory=dict)
    topics_to_be_deleted: set[str] = field(default_factory=set)
    topics_with_deletion_started: set[str] = field(default_factory=set)
    topics_ineligible_for_deletion: set[str] = field(default_factory=set)
    replicas_on_offline_dirs: dict[int, set[TopicPartition]] = field(default_factory=dict)

    # ---- brokers ---------------------------------------------------------------------------
    @property
    def live_broker_ids(self) -> set[int]:
        """Live brokers that are not shutting down: the ones that count for elections."""
        return {b for b in self.live_brokers if b not in self.shutting_down_broker_ids}

    @property
    def live_or_shutting_down_broker_ids(self) -> set[int]:
        return set(self.live_brokers)

    def broker_epoch(self, broker_id: int) -> int:
        info = self.live_brokers.get(broker_id)
        return info.epoch if info is not None else -1

    def add_live_brokers(self, brokers: Iterable[BrokerInfo]) -> None:
        for b in brokers:
            self.live_brokers[b.broker_id] = b

    def remove_live_brokers(self, broker_ids: Iterable[int]) -> None:
        for b in broker_ids:
            self.live_brokers.pop(b, None)

    def is_replica_online(self, broker_id: int, partition: TopicPartition,
                          include_shutting_down: bool = False) -> bool:
        if broker_id not in self.live_brokers:
            return False
        if not include_shutting_down and broker_id in self.shutting_down_broker_ids:
            return False
        offline = self.replicas_on_offline_dirs.get(broker_id)
        return offline is None or partition not in offline

    # ---- assignments ---------------------------------------------------------------------
    def partition_replica_assignment(self, tp: TopicPartition) -> tuple[int, ...]:
        a = self.partition_assignments.get(tp.topic, {}).get(tp.partition)
        return a.replicas if a is not None else ()

    def partition_full_replica_assignment(self, tp: TopicPartition) -> ReplicaAssignment:
        return self.partition_assignments.get(tp.topic, {}).get(tp.partition, ReplicaAssignment(()))

    def update_partition_full_replica_assignment(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        self.partition_assignments.setdefault(tp.topic, {})[tp.partition] = assignment
        if assignment.is_being_reassigned:
            self.partitions_being_reassigned.add(tp)
        else:
            self.partitions_being_reassigned.discard(tp)

    def partitions_for_topic(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in sorted(self.partition_assignments.get(topic, {}))]

    def all_partitions(self) -> Iterator[TopicPartition]:
        for topic, parts in self.partition_assignments.items():
            for p in parts:
                yield TopicPartition(topic, p)

    def partitions_on_broker(self, broker_id: int) -> set[TopicPartition]:
        return {TopicPartition(t, p) for t, parts in self.partition_assignments.items()
                for p, a in parts.items() if broker_id in a.replicas}

    def replicas_on_brokers(self, broker_ids: Iterable[int]) -> set[PartitionReplica]:
        ids = set(broker_ids)
        return {PartitionReplica(TopicPartition(t, p), r) for t, parts in self.partition_assignments.items()
                for p, a in parts.items() for r in a.replicas if r in ids}

    def replicas_for_topic(self, topic: str) -> set[PartitionReplica]:
        return {PartitionReplica(TopicPartition(topic, p), r)
                for p, a in self.partition_assignments.get(topic, {}).items() for r in a.replicas}

    def partitions_led_by_broker(self, broker_id: int) -> set[TopicPartition]:
        return {tp for tp, li in self.partition_leadership_info.items() if li.leader == broker_id}

    def online_and_offline_replicas(self) -> tuple[set[PartitionReplica], set[PartitionReplica]]:
        online: set[PartitionReplica] = set()
        offline: set[PartitionReplica] = set()
        for tp in self.all_partitions():
            for r in self.partition_replica_assignment(tp):
                (online if self.is_replica_online(r, tp) else offline).add(PartitionReplica(tp, r))
        return online, offline

    def remove_topic(self, topic: str) -> None:
        for tp in self.partitions_for_topic(topic):
            self.partition_leadership_info.pop(tp, None)
            self.partition_states.pop(tp, None)
            self.partitions_being_reassigned.discard(tp)
        self.replica_states = {k: v for k, v in self.replica_states.items() if k.partition.topic != topic}
        self.partition_assignments.pop(topic, None)
        self.all_topics.discard(topic)
        self.topic_ids.pop(topic, None)

    # ---- states ---------------------------------------------------------------------------
    def partitions_in_states(self, states: set[PartitionState]) -> set[TopicPartition]:
        return {tp for tp, s in self.partition_states.items() if s in states}

    def replicas_in_state(self, topic: str, state: ReplicaState) -> set[PartitionReplica]:
        return {pr for pr in self.replicas_for_topic(topic)
                if self.replica_states.get(pr, ReplicaState.NON_EXISTENT) is state}

    def are_all_replicas_in_state(self, topic: str, state: ReplicaState) -> bool:
        return all(self.replica_states.get(pr, ReplicaState.NON_EXISTENT) is state
                   for pr in self.replicas_for_topic(topic))

    def is_any_replica_in_state(self, topic: str, state: ReplicaState) -> bool:
        return any(self.replica_states.get(pr, ReplicaState.NON_EXISTENT) is state
                   for pr in self.replicas_for_topic(topic))

    # ---- deletion ------------------------------------------------------------------------
    def is_topic_queued_up_for_deletion(self, topic: str) -> bool:
        return topic in self.topics_to_be_deleted

    def is_topic_deletion_in_progress(self, topic: str) -> bool:
        return self.is_any_replica_in_state(topic, ReplicaState.DELETION_STARTED)

    def is_topic_eligible_for_deletion(self, topic: str) -> bool:
        return (topic in self.topics_to_be_deleted and not self.is_topic_deletion_in_progress(topic)
                and topic not in self.topics_ineligible_for_deletion)

    def reset(self) -> None:
        fresh = ControllerContext()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))
