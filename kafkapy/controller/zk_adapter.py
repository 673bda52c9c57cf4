"""`ControllerZk` over `kafkapy.zk.kafka_zk.KafkaZkClient` (the real ensemble).

Translates between the zk package's value objects and the controller's, and keeps
at most one pending watch per (kind, path): ZooKeeper watches are one-shot, and a
controller re-reads a path many times while the watch it armed has not fired yet;
arming a second callback would only produce duplicate events. A watch dropped by
a connection loss (kind ``NONE``) is delivered like a change, so the re-read re-arms it;
after a session loss `reset_watches()` forgets every pending mark.

Bulk partition-state reads and writes go to ZooKeeper in chunks of `max_batch` partitions:
one unbounded burst of tens of thousands of pipelined requests (a failover with 10,000
partitions) outlived the session's read timeout and ended in a connection loss; Kafka bounds
its pipeline the same way (``zookeeper.max.in.flight.requests``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.context import BrokerInfo, EndPoint, ReplicaAssignment
from kafkapy.controller.zk_verbs import TopicAssignment, UpdateLeaderAndIsrResult, Watch
from kafkapy.zk import znodes

__all__ = ["KafkaZkControllerAdapter", "to_controller_broker"]

log = logging.getLogger(__name__)

FEATURE_ENABLED = 1


def to_controller_broker(info: znodes.BrokerInfo) -> BrokerInfo:
    return BrokerInfo(info.broker_id,
                      tuple(EndPoint(e.listener_name, e.host, e.port, e.security_protocol) for e in info.endpoints),
                      info.rack, info.epoch)


def _to_zk_assignment(a: ReplicaAssignment) -> znodes.ReplicaAssignment:
    return znodes.ReplicaAssignment(tuple(a.replicas), tuple(a.adding_replicas), tuple(a.removing_replicas))


def _from_zk_assignment(a: znodes.ReplicaAssignment) -> ReplicaAssignment:
    return ReplicaAssignment(tuple(a.replicas), tuple(a.adding_replicas), tuple(a.removing_replicas))


DEFAULT_MAX_BATCH = 500


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class KafkaZkControllerAdapter:
    def __init__(self, kafka_zk: Any, max_batch: int = DEFAULT_MAX_BATCH):
        self.kz = kafka_zk
        self.max_batch = max(1, max_batch)
        self._armed: set[tuple[str, str]] = set()

    # ---- watches ------------------------------------------------------------------------------
    def _watch(self, kind: str, path: str, callback: Watch | None) -> Callable[[Any], None] | None:
        if callback is None:
            return None
        key = (kind, path)
        if key in self._armed:
            return None
        self._armed.add(key)

        def fire(event: Any) -> None:
            # Kind NONE (watch dropped on a connection loss) is handled like a change:
            # the event re-reads the path and arms a new watch.
            self._armed.discard(key)
            callback()
        return fire

    def reset_watches(self) -> None:
        """Forget pending watches (after a session loss every watch is gone)."""
        self._armed.clear()

    # ---- election ------------------------------------------------------------------------------
    async def register_controller_and_increment_epoch(self, broker_id: int) -> tuple[int, int]:
        got = await self.kz.register_controller_and_increment_controller_epoch(broker_id)
        return got.epoch, got.zk_version

    async def get_controller_id(self, watch: Watch | None = None) -> int | None:
        w = self._watch("exists", znodes.ControllerZNode.path(), watch)
        if w is None and watch is not None:
            # A watch is pending already: a plain read is enough.
            return await self.kz.get_controller_id()
        return await self.kz.get_controller_id(w)

    async def delete_controller(self, epoch_zk_version: int) -> None:
        await self.kz.delete_controller(epoch_zk_version)

    # ---- brokers -------------------------------------------------------------------------------
    async def get_all_brokers(self, watch: Watch | None = None) -> list[BrokerInfo]:
        infos = await self.kz.get_all_brokers(self._watch("children", znodes.BrokerIdsZNode.path(), watch))
        return [to_controller_broker(i) for i in infos]

    async def get_broker(self, broker_id: int, watch: Watch | None = None) -> BrokerInfo | None:
        info = await self.kz.get_broker(broker_id, self._watch("data", znodes.BrokerIdZNode.path(broker_id), watch))
        return to_controller_broker(info) if info is not None else None

    # ---- topics --------------------------------------------------------------------------------
    async def get_all_topics(self, watch: Watch | None = None) -> set[str]:
        return set(await self.kz.get_all_topics(self._watch("children", znodes.TopicsZNode.path(), watch)))

    async def get_topic_assignments(self, topics: Iterable[str],
                                    watch_for: Callable[[str], Watch] | None = None) -> dict[str, TopicAssignment]:
        out: dict[str, TopicAssignment] = {}
        for topic in topics:
            w = None
            if watch_for is not None:
                w = self._watch("data", znodes.TopicZNode.path(topic), watch_for(topic))
            ta = await self.kz.get_topic_assignment(topic, w)
            if ta is not None:
                out[topic] = TopicAssignment(topic, ta.topic_id,
                                             {p: _from_zk_assignment(a) for p, a in ta.partitions.items()})
        return out

    async def set_topic_assignment(self, topic: str, topic_id: str | None,
                                   partitions: Mapping[int, ReplicaAssignment], epoch_zk_version: int) -> None:
        await self.kz.set_topic_assignment(topic, {p: _to_zk_assignment(a) for p, a in partitions.items()},
                                           topic_id, controller_epoch_zk_version=epoch_zk_version)

    async def get_topic_config(self, topic: str) -> dict[str, str]:
        return await self.kz.get_entity_config(znodes.ConfigType.TOPIC, topic)

    async def get_partition_states(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, LeaderAndIsr]:
        out: dict[TopicPartition, LeaderAndIsr] = {}
        for chunk in _chunks(list(partitions), self.max_batch):
            out.update(await self.kz.get_topic_partition_states(chunk))
        return out

    async def create_partition_states(self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
                                      ) -> dict[TopicPartition, LeaderAndIsr | Exception]:
        out: dict[TopicPartition, LeaderAndIsr | Exception] = {}
        for chunk in _chunks(list(states), self.max_batch):
            out.update(await self.kz.create_topic_partition_states({tp: states[tp] for tp in chunk},
                                                                   epoch_zk_version))
        return out

    async def update_leader_and_isr(self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
                                    ) -> UpdateLeaderAndIsrResult:
        finished: dict[TopicPartition, LeaderAndIsr | Exception] = {}
        retry: set[TopicPartition] = set()
        for chunk in _chunks(list(states), self.max_batch):
            got = await self.kz.update_leader_and_isr({tp: states[tp] for tp in chunk}, epoch_zk_version)
            finished.update(got.finished)
            retry.update(got.partitions_to_retry)
        return UpdateLeaderAndIsrResult(finished, frozenset(retry))

    async def delete_topic(self, topic: str, epoch_zk_version: int) -> None:
        await self.kz.delete_topic_znode(topic, epoch_zk_version)
        await self.kz.delete_topic_config(topic, epoch_zk_version)

    # ---- admin / notifications ---------------------------------------------------------------
    async def get_topic_deletions(self, watch: Watch | None = None) -> set[str]:
        return set(await self.kz.get_topic_deletions(
            self._watch("children", znodes.DeleteTopicsZNode.path(), watch)))

    async def delete_topic_deletions(self, topics: Iterable[str], epoch_zk_version: int) -> None:
        await self.kz.delete_topic_deletions(list(topics), epoch_zk_version)

    async def get_isr_change_notifications(self, watch: Watch | None = None) -> list[str]:
        return await self.kz.get_all_isr_change_notifications(
            self._watch("children", znodes.IsrChangeNotificationZNode.path(), watch))

    async def get_partitions_from_isr_change_notifications(self, seqs: Iterable[str]) -> set[TopicPartition]:
        return await self.kz.get_partitions_from_isr_change_notifications(list(seqs))

    async def delete_isr_change_notifications(self, seqs: Iterable[str], epoch_zk_version: int) -> None:
        await self.kz.delete_isr_change_notifications(epoch_zk_version, list(seqs))

    async def get_partition_reassignment(self, watch: Watch | None = None
                                         ) -> dict[TopicPartition, tuple[int, ...]] | None:
        w = self._watch("exists", znodes.ReassignPartitionsZNode.path(), watch)
        got = await self.kz.get_partition_reassignment(w)
        return None if got is None else {tp: tuple(r) for tp, r in got.items()}

    async def set_partition_reassignment(self, reassignment: Mapping[TopicPartition, tuple[int, ...]],
                                         epoch_zk_version: int) -> None:
        await self.kz.set_or_delete_partition_reassignment(dict(reassignment), epoch_zk_version)

    async def get_preferred_replica_election(self, watch: Watch | None = None) -> set[TopicPartition] | None:
        got = await self.kz.get_preferred_replica_election(
            self._watch("exists", znodes.PreferredReplicaElectionZNode.path(), watch))
        return None if got is None else set(got)

    async def delete_preferred_replica_election(self, epoch_zk_version: int) -> None:
        await self.kz.delete_preferred_replica_election(epoch_zk_version)

    async def watch_partition_state(self, partition: TopicPartition, watch: Watch) -> None:
        path = znodes.TopicPartitionStateZNode.path(partition.topic, partition.partition)
        w = self._watch("exists", path, watch)
        if w is not None:
            await self.kz.zk.exists(path, w)

    async def setup_feature_znode(self) -> None:
        """`/feature` enabled with no finalized features (2.7/2.8 define none); flip a disabled one."""
        current = await self.kz.get_feature()
        if current is None or current.status != FEATURE_ENABLED:
            features = dict(current.features) if current is not None else {}
            await self.kz.create_or_update_feature(znodes.FeatureZNodeData(FEATURE_ENABLED, features))

    async def delete_log_dir_event_notifications(self, epoch_zk_version: int,
                                                 seqs: Iterable[str] | None = None) -> None:
        await self.kz.delete_log_dir_event_notifications(epoch_zk_version, None if seqs is None else list(seqs))

    async def get_log_dir_event_notifications(self, watch: Watch | None = None) -> list[str]:
        return await self.kz.get_all_log_dir_event_notifications(
            self._watch("children", znodes.LogDirEventNotificationZNode.path(), watch))

    async def get_broker_ids_from_log_dir_events(self, seqs: Iterable[str]) -> list[int]:
        return await self.kz.get_broker_ids_from_log_dir_events(list(seqs))
