"""Controller → broker requests: per-event batching and per-broker senders.

`ControllerBrokerRequestBatch` collects, while one event is processed, the
LeaderAndIsr / UpdateMetadata / StopReplica work for every broker and turns it into
at most one request of each kind per broker (Kafka's ``ControllerBrokerRequestBatch``).
The requests are plain value objects (`LeaderAndIsrRequestData`, ...), so tests can
record them. `ControllerChannelManager` owns one sender task and one connection per
live broker, encodes the value objects with the protocol engine at the highest
version both sides support, retries on connection failure until the broker is
removed, and hands decoded responses back through callbacks.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.context import BrokerInfo, ControllerContext, ReplicaAssignment

__all__ = [
    "LEADER_DURING_DELETE", "EPOCH_DURING_DELETE", "NO_EPOCH",
    "LeaderAndIsrPartitionState", "LeaderAndIsrRequestData", "UpdateMetadataPartitionState",
    "UpdateMetadataRequestData", "StopReplicaPartitionState", "StopReplicaRequestData", "ResponseSummary",
    "ControllerChannel", "ControllerBrokerRequestBatch",
]

log = logging.getLogger(__name__)
state_change_log = logging.getLogger("state.change.logger")

LEADER_DURING_DELETE = -2
EPOCH_DURING_DELETE = -2
NO_EPOCH = -1


@dataclass(frozen=True, slots=True)
class LeaderAndIsrPartitionState:
    topic: str
    partition: int
    controller_epoch: int
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    zk_version: int
    replicas: tuple[int, ...]
    adding_replicas: tuple[int, ...] = ()
    removing_replicas: tuple[int, ...] = ()
    is_new: bool = False

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class LeaderAndIsrRequestData:
    controller_id: int
    controller_epoch: int
    broker_epoch: int
    partition_states: tuple[LeaderAndIsrPartitionState, ...]
    live_leaders: tuple[BrokerInfo, ...]
    topic_ids: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UpdateMetadataPartitionState:
    topic: str
    partition: int
    controller_epoch: int
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    zk_version: int
    replicas: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class UpdateMetadataRequestData:
    controller_id: int
    controller_epoch: int
    broker_epoch: int
    partition_states: tuple[UpdateMetadataPartitionState, ...]
    live_brokers: tuple[BrokerInfo, ...]
    topic_ids: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StopReplicaPartitionState:
    topic: str
    partition: int
    leader_epoch: int
    delete_partition: bool

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class StopReplicaRequestData:
    controller_id: int
    controller_epoch: int
    broker_epoch: int
    partition_states: tuple[StopReplicaPartitionState, ...]


RequestData = LeaderAndIsrRequestData | UpdateMetadataRequestData | StopReplicaRequestData


@dataclass(frozen=True, slots=True)
class ResponseSummary:
    """A broker's answer reduced to what the controller reacts to."""
    error_code: int
    partition_errors: Mapping[TopicPartition, int] = field(default_factory=dict)


ResponseCallback = Callable[[ResponseSummary], None]


class ControllerChannel(Protocol):
    """What the controller needs from its broker channels (the real manager or a test double)."""

    def add_broker(self, broker: BrokerInfo) -> None: ...

    def remove_broker(self, broker_id: int) -> None: ...

    def send(self, broker_id: int, request: RequestData, callback: ResponseCallback | None = None) -> None: ...

    async def shutdown(self) -> None: ...


class ControllerBrokerRequestBatch:
    """Requests accumulated while processing one controller event."""

    def __init__(self, controller_id: int, context: ControllerContext, channel: ControllerChannel,
                 on_stop_replica_response: Callable[[int, ResponseSummary], None] | None = None,
                 on_leader_and_isr_response: Callable[[int, ResponseSummary], None] | None = None):
        self.controller_id = controller_id
        self.context = context
        self.channel = channel
        self._on_stop_replica_response = on_stop_replica_response
        self._on_leader_and_isr_response = on_leader_and_isr_response
        self.leader_and_isr_requests: dict[int, dict[TopicPartition, LeaderAndIsrPartitionState]] = {}
        self.update_metadata_broker_ids: set[int] = set()
        self.update_metadata_partitions: dict[TopicPartition, UpdateMetadataPartitionState] = {}
        self.stop_replica_requests: dict[int, dict[TopicPartition, StopReplicaPartitionState]] = {}

    def new_batch(self) -> None:
        if self.leader_and_isr_requests or self.update_metadata_broker_ids or self.stop_replica_requests:
            raise RuntimeError("controller request batch still holds unsent requests: "
                               f"LeaderAndIsr to {sorted(self.leader_and_isr_requests)}, UpdateMetadata to "
                               f"{sorted(self.update_metadata_broker_ids)}, StopReplica to "
                               f"{sorted(self.stop_replica_requests)}")

    def clear(self) -> None:
        self.leader_and_isr_requests.clear()
        self.update_metadata_broker_ids.clear()
        self.update_metadata_partitions.clear()
        self.stop_replica_requests.clear()

    # ---- accumulation ------------------------------------------------------------------
    def add_leader_and_isr_request_for_brokers(self, broker_ids: Iterable[int], tp: TopicPartition,
                                               leader_and_isr: LeaderAndIsr, assignment: ReplicaAssignment,
                                               is_new: bool) -> None:
        for broker_id in broker_ids:
            if broker_id < 0:
                continue
            per_broker = self.leader_and_isr_requests.setdefault(broker_id, {})
            previous = per_broker.get(tp)
            per_broker[tp] = LeaderAndIsrPartitionState(
                topic=tp.topic, partition=tp.partition, controller_epoch=leader_and_isr.controller_epoch,
                leader=leader_and_isr.leader, leader_epoch=leader_and_isr.leader_epoch, isr=leader_and_isr.isr,
                zk_version=leader_and_isr.zk_version, replicas=assignment.replicas,
                adding_replicas=assignment.adding_replicas, removing_replicas=assignment.removing_replicas,
                is_new=is_new or (previous is not None and previous.is_new))
        self.add_update_metadata_request_for_brokers(self.context.live_or_shutting_down_broker_ids, [tp])

    def add_update_metadata_request_for_brokers(self, broker_ids: Iterable[int],
                                                partitions: Iterable[TopicPartition] = ()) -> None:
        self.update_metadata_broker_ids.update(b for b in broker_ids if b >= 0)
        ctx = self.context
        for tp in partitions:
            li = ctx.partition_leadership_info.get(tp)
            if li is None:
                continue
            leader = LEADER_DURING_DELETE if ctx.is_topic_queued_up_for_deletion(tp.topic) else li.leader
            replicas = ctx.partition_replica_assignment(tp)
            offline = tuple(r for r in replicas if not ctx.is_replica_online(r, tp, include_shutting_down=True))
            self.update_metadata_partitions[tp] = UpdateMetadataPartitionState(
                topic=tp.topic, partition=tp.partition, controller_epoch=li.controller_epoch, leader=leader,
                leader_epoch=li.leader_epoch, isr=li.isr, zk_version=li.zk_version, replicas=replicas,
                offline_replicas=offline)

    def add_stop_replica_request_for_brokers(self, broker_ids: Iterable[int], tp: TopicPartition,
                                             delete_partition: bool) -> None:
        ctx = self.context
        if ctx.is_topic_queued_up_for_deletion(tp.topic):
            leader_epoch = EPOCH_DURING_DELETE
        else:
            li = ctx.partition_leadership_info.get(tp)
            leader_epoch = li.leader_epoch if li is not None else NO_EPOCH
        for broker_id in broker_ids:
            if broker_id < 0:
                continue
            per_broker = self.stop_replica_requests.setdefault(broker_id, {})
            previous = per_broker.get(tp)
            per_broker[tp] = StopReplicaPartitionState(
                tp.topic, tp.partition, leader_epoch,
                delete_partition or (previous is not None and previous.delete_partition))

    # ---- sending ----------------------------------------------------------------------
    def send_requests_to_brokers(self, controller_epoch: int) -> None:
        try:
            self._send_leader_and_isr(controller_epoch)
            self._send_update_metadata(controller_epoch)
            self._send_stop_replica(controller_epoch)
        finally:
            self.clear()

    def _send_leader_and_isr(self, controller_epoch: int) -> None:
        ctx = self.context
        for broker_id, states in self.leader_and_isr_requests.items():
            broker = ctx.live_brokers.get(broker_id)
            if broker is None:
                continue
            leader_ids = {s.leader for s in states.values()}
            live_leaders = tuple(ctx.live_brokers[b] for b in sorted(leader_ids) if b in ctx.live_brokers)
            for s in states.values():
                kind = "become-leader" if s.leader == broker_id else "become-follower"
                state_change_log.debug(
                    "[Controller id=%d epoch=%d] Sending %s LeaderAndIsr request %s to broker %d for partition %s",
                    self.controller_id, controller_epoch, kind, s, broker_id, s.topic_partition)
            request = LeaderAndIsrRequestData(
                self.controller_id, controller_epoch, broker.epoch,
                tuple(states[tp] for tp in sorted(states)), live_leaders,
                {t: ctx.topic_ids.get(t) for t in {tp.topic for tp in states}})
            self.channel.send(broker_id, request, self._leader_and_isr_callback(broker_id))

    def _send_update_metadata(self, controller_epoch: int) -> None:
        if not self.update_metadata_broker_ids:
            return
        ctx = self.context
        parts = tuple(self.update_metadata_partitions[tp] for tp in sorted(self.update_metadata_partitions))
        live = tuple(ctx.live_brokers[b] for b in sorted(ctx.live_brokers))
        topic_ids = {t: ctx.topic_ids.get(t) for t in {p.topic for p in parts}}
        state_change_log.debug("[Controller id=%d epoch=%d] Sending UpdateMetadata request to brokers %s "
                               "for %d partitions", self.controller_id, controller_epoch,
                               sorted(self.update_metadata_broker_ids), len(parts))
        for broker_id in sorted(self.update_metadata_broker_ids):
            broker = ctx.live_brokers.get(broker_id)
            if broker is None:
                continue
            self.channel.send(broker_id, UpdateMetadataRequestData(
                self.controller_id, controller_epoch, broker.epoch, parts, live, topic_ids))

    def _send_stop_replica(self, controller_epoch: int) -> None:
        ctx = self.context
        for broker_id, states in self.stop_replica_requests.items():
            broker = ctx.live_brokers.get(broker_id)
            if broker is None:
                continue
            ordered = tuple(states[tp] for tp in sorted(states))
            callback = None
            if any(s.delete_partition for s in ordered):
                callback = self._stop_replica_callback(broker_id)
            self.channel.send(broker_id, StopReplicaRequestData(
                self.controller_id, controller_epoch, broker.epoch, ordered), callback)

    def _leader_and_isr_callback(self, broker_id: int) -> ResponseCallback | None:
        if self._on_leader_and_isr_response is None:
            return None
        cb = self._on_leader_and_isr_response
        return lambda summary: cb(broker_id, summary)

    def _stop_replica_callback(self, broker_id: int) -> ResponseCallback | None:
        if self._on_stop_replica_response is None:
            return None
        cb = self._on_stop_replica_response
        return lambda summary: cb(broker_id, summary)


def _noop(*_args: Any) -> None:
    return None
