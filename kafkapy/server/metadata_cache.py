"""The broker's view of the cluster: an immutable snapshot replaced on every UpdateMetadata.

Only UpdateMetadata requests from the controller feed it (Kafka's ``MetadataCache``): live
brokers with their endpoints per listener and rack, every partition's leader, leader epoch,
ISR, replicas and offline replicas, and the controller id. A request from an older controller
epoch is refused with STALE_CONTROLLER_EPOCH. Readers take ``cache.snapshot`` once and use
that object for a whole request, so one request never sees two versions of the cluster.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from kafkapy.common.errors import ControllerMovedError
from kafkapy.common.types import TopicPartition

log = logging.getLogger(__name__)
state_change_log = logging.getLogger("state.change.logger")

# UpdateMetadata marks a partition whose topic is being deleted with this leader.
LEADER_DURING_DELETE = -2
SECURITY_PROTOCOL_NAMES = {0: "PLAINTEXT", 1: "SSL", 2: "SASL_PLAINTEXT", 3: "SASL_SSL"}
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


@dataclass(frozen=True, slots=True)
class BrokerEndPointInfo:
    host: str
    port: int
    security_protocol: str


@dataclass(frozen=True, slots=True)
class CachedBroker:
    broker_id: int
    endpoints: Mapping[str, BrokerEndPointInfo]   # listener name -> endpoint
    rack: str | None = None

    def endpoint(self, listener_name: str) -> BrokerEndPointInfo | None:
        return self.endpoints.get(listener_name)


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition's state as the controller last published it."""

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
class MetadataSnapshot:
    partitions: Mapping[str, Mapping[int, PartitionInfo]] = field(default_factory=dict)
    brokers: Mapping[int, CachedBroker] = field(default_factory=dict)
    controller_id: int | None = None
    topic_ids: Mapping[str, uuid.UUID] = field(default_factory=dict)

    # -- lookups -------------------------------------------------------------------------
    def contains_topic(self, topic: str) -> bool:
        return topic in self.partitions

    def contains_partition(self, tp: TopicPartition) -> bool:
        parts = self.partitions.get(tp.topic)
        return parts is not None and tp.partition in parts

    def partition_info(self, tp: TopicPartition) -> PartitionInfo | None:
        parts = self.partitions.get(tp.topic)
        return parts.get(tp.partition) if parts is not None else None

    def partition_count(self, topic: str) -> int | None:
        parts = self.partitions.get(topic)
        return len(parts) if parts is not None else None

    def all_topics(self) -> list[str]:
        return sorted(self.partitions)

    def alive_broker(self, broker_id: int) -> CachedBroker | None:
        return self.brokers.get(broker_id)

    def alive_broker_ids(self) -> list[int]:
        return sorted(self.brokers)

    def alive_endpoints(self, listener_name: str) -> list[tuple[int, BrokerEndPointInfo, str | None]]:
        out = []
        for bid in sorted(self.brokers):
            b = self.brokers[bid]
            ep = b.endpoint(listener_name)
            if ep is not None:
                out.append((bid, ep, b.rack))
        return out

    def leader_endpoint(self, tp: TopicPartition, listener_name: str) -> BrokerEndPointInfo | None:
        info = self.partition_info(tp)
        if info is None or info.leader < 0:
            return None
        broker = self.brokers.get(info.leader)
        return broker.endpoint(listener_name) if broker is not None else None


class MetadataCache:
    """Holds the current `MetadataSnapshot`; `update_metadata` swaps in a new one."""

    def __init__(self, broker_id: int) -> None:
        self.broker_id = broker_id
        self.snapshot = MetadataSnapshot()
        self.controller_epoch = -1

    # -- reading (conveniences over the current snapshot) ---------------------------------
    def contains_topic(self, topic: str) -> bool:
        return self.snapshot.contains_topic(topic)

    def partition_info(self, tp: TopicPartition) -> PartitionInfo | None:
        return self.snapshot.partition_info(tp)

    @property
    def controller_id(self) -> int | None:
        return self.snapshot.controller_id

    # -- updating --------------------------------------------------------------------------
    def update_metadata(self, correlation_id: int, request: Any, version: int) -> list[TopicPartition]:
        """Apply a decoded UpdateMetadata request; returns the partitions it deleted.

        Raises ControllerMovedError (STALE_CONTROLLER_EPOCH) for an older controller epoch.
        """
        if request.controller_epoch < self.controller_epoch:
            msg = (f"Received UpdateMetadata request with correlation id {correlation_id} from an old controller "
                   f"{request.controller_id} with epoch {request.controller_epoch}; the latest known controller "
                   f"epoch is {self.controller_epoch}")
            state_change_log.warning("[Broker id=%d] %s", self.broker_id, msg)
            raise ControllerMovedError(msg)
        old = self.snapshot
        brokers = {b.broker_id: b for b in _brokers_of(request, version)}
        partitions: dict[str, dict[int, PartitionInfo]] = {t: dict(p) for t, p in old.partitions.items()}
        topic_ids = dict(old.topic_ids)
        deleted: list[TopicPartition] = []
        for topic, state, topic_id in _partition_states(request, version):
            info = PartitionInfo(topic, state.partition_index, state.controller_epoch, state.leader,
                                 state.leader_epoch, tuple(state.isr), state.zk_version, tuple(state.replicas),
                                 tuple(getattr(state, "offline_replicas", ()) or ()))
            if info.leader == LEADER_DURING_DELETE:
                parts = partitions.get(topic)
                if parts is not None and parts.pop(info.partition, None) is not None:
                    deleted.append(info.topic_partition)
                    if not parts:
                        del partitions[topic]
                        topic_ids.pop(topic, None)
                state_change_log.debug("[Broker id=%d] Deleted partition %s from metadata cache in response "
                                       "to UpdateMetadata request sent by controller %d epoch %d with "
                                       "correlation id %d", self.broker_id, info.topic_partition,
                                       request.controller_id, request.controller_epoch, correlation_id)
                continue
            partitions.setdefault(topic, {})[info.partition] = info
            if topic_id is not None and topic_id.int != 0:
                topic_ids[topic] = topic_id
        controller_id = request.controller_id if request.controller_id >= 0 else None
        self.snapshot = MetadataSnapshot(partitions, brokers, controller_id, topic_ids)
        self.controller_epoch = request.controller_epoch
        return deleted

    def __repr__(self) -> str:
        s = self.snapshot
        return (f"MetadataCache(broker={self.broker_id}, brokers={sorted(s.brokers)}, topics={len(s.partitions)}, "
                f"controller={s.controller_id})")


def _brokers_of(request: Any, version: int) -> Iterable[CachedBroker]:
    for b in request.live_brokers:
        endpoints: dict[str, BrokerEndPointInfo] = {}
        if version == 0:
            endpoints["PLAINTEXT"] = BrokerEndPointInfo(b.v0_host, b.v0_port, "PLAINTEXT")
        else:
            for ep in b.endpoints:
                protocol = SECURITY_PROTOCOL_NAMES.get(ep.security_protocol, str(ep.security_protocol))
                listener = ep.listener if version >= 3 and ep.listener else protocol
                endpoints[listener] = BrokerEndPointInfo(ep.host, ep.port, protocol)
        rack = getattr(b, "rack", None) if version >= 2 else None
        yield CachedBroker(b.id, endpoints, rack or None)


def _partition_states(request: Any, version: int) -> Iterable[tuple[str, Any, uuid.UUID | None]]:
    if version <= 4:
        for s in request.ungrouped_partition_states:
            yield s.topic_name, s, None
    else:
        for t in request.topic_states:
            topic_id = getattr(t, "topic_id", None) if version >= 7 else None
            for s in t.partition_states:
                yield t.topic_name, s, topic_id


__all__ = ["MetadataCache", "MetadataSnapshot", "PartitionInfo", "CachedBroker", "BrokerEndPointInfo",
           "LEADER_DURING_DELETE", "INTERNAL_TOPICS", "SECURITY_PROTOCOL_NAMES"]
