"""`ControllerZk` over `kafkapy.zk.kafka_zk.KafkaZkClient` (the real ensemble).

Translates between the zk package's value objects and the controller's, and keeps
at most one pending watch per (kind, path): ZooKeeper watches are one-shot, and a
controller re-reads a path many times while the watch it armed has not fired yet;
arming a second callback would only produce duplicate events. A watch dropped by
a connection loss (kind ``NONE``) is delivered like a change, so the re-read re-arms it;
after a session loss `reset_watches()` forgets every pending mark. A read that fails
leaves no mark behind (ZooKeeper sets the watch only with a successful answer).

Every verb retries until connected, as Kafka's controller does: a step that fails with a
connection loss (SUSPENDED: the session is alive, kazoo drops the connection's pending
requests) waits for the reconnection of the same session and runs again. Only session
expiry (`SessionExpiredError`, after which the controller resigns and re-elects) and a lost
epoch (`ControllerMovedError`) reach the controller.

Bulk partition-state reads and writes go to ZooKeeper in chunks of `max_batch` partitions, so
a connection loss repeats one chunk, not the whole failover; the number of requests handed to
kazoo at once is bounded below, in `ZkClient` (``zookeeper.max.in.flight.requests``).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.context import BrokerInfo, EndPoint, ReplicaAssignment
from kafkapy.controller.zk_verbs import TopicAssignment, UpdateLeaderAndIsrResult, Watch
from kafkapy.zk import znodes
from kafkapy.zk.errors import ConnectionLossError, SessionExpiredError, ZkTimeoutError

__all__ = ["KafkaZkControllerAdapter", "to_controller_broker"]

log = logging.getLogger(__name__)

FEATURE_ENABLED = 1
T = TypeVar("T")


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
        self._armed: dict[tuple[str, str], object] = {}
        self.connection_retries = 0

    # ---- retries --------------------------------------------------------------------------------
    async def wait_connected(self) -> None:
        """Wait until the session is connected again; SessionExpiredError if it is gone."""
        wait = getattr(self.kz, "wait_connected", None)
        if wait is not None:
            await wait()

    async def _retry(self, step: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await step()
            except (ConnectionLossError, ZkTimeoutError) as exc:
                attempt += 1
                self.connection_retries += 1
                if attempt == 1 or attempt % 20 == 0:
                    log.warning("ZooKeeper request failed (%s); retrying after the reconnection (attempt %d)",
                                exc, attempt)
                if getattr(self.kz, "wait_connected", None) is None:
                    raise SessionExpiredError(f"cannot wait for a reconnection: {exc}") from exc
                await self.wait_connected()

    # ---- watches ------------------------------------------------------------------------------
    def _watch(self, kind: str, path: str, callback: Watch | None) -> Callable[[Any], None] | None:
        if callback is None:
            return None
        key = (kind, path)
        if key in self._armed:
            return None
        token = object()
        self._armed[key] = token

        def fire(event: Any) -> None:
            # Kind NONE (watch dropped on a connection loss) is handled like a change:
            # the event re-reads the path and arms a new watch.
            if self._armed.get(key) is token:
                del self._armed[key]
            callback()
        fire.armed_key = key            # type: ignore[attr-defined]
        fire.armed_token = token        # type: ignore[attr-defined]
        return fire

    def _disarm(self, watch: Callable[[Any], None] | None) -> None:
        """The read carrying `watch` failed, so ZooKeeper set no watch: forget the mark."""
        if watch is None:
            return
        key = watch.armed_key               # type: ignore[attr-defined]
        if self._armed.get(key) is watch.armed_token:   # type: ignore[attr-defined]
            del self._armed[key]

    async def _watched(self, kind: str, path: str, callback: Watch | None,
                       read: Callable[[Callable[[Any], None] | None], Awaitable[T]]) -> T:
        """`read(zk_watch)` with a watch armed at most once, retried until connected."""
        async def step() -> T:
            w = self._watch(kind, path, callback)
            try:
                return await read(w)
            except BaseException:
                self._disarm(w)
                raise
        return await self._retry(step)

    def reset_watches(self) -> None:
        """Forget pending watches (after a session loss every watch is gone)."""
        self._armed.clear()

    # ---- election ------------------------------------------------------------------------------
    async def register_controller_and_increment_epoch(self, broker_id: int) -> tuple[int, int]:
        # KafkaZkClient retries the election multi itself and recognises its own earlier success.
        got = await self._retry(lambda: self.kz.register_controller_and_increment_controller_epoch(broker_id))
        return got.epoch, got.zk_version

    async def get_controller_id(self, watch: Watch | None = None) -> int | None:
        if watch is not None and ("exists", znodes.ControllerZNode.path()) in self._armed:
            # A watch is pending already: a plain read is enough.
            return await self._retry(lambda: self.kz.get_controller_id())
        return await self._watched("exists", znodes.ControllerZNode.path(), watch,
                                   lambda w: self.kz.get_controller_id(w))

    async def delete_controller(self, epoch_zk_version: int) -> None:
        await self._retry(lambda: self.kz.delete_controller(epoch_zk_version))

    # ---- brokers -------------------------------------------------------------------------------
    async def get_all_brokers(self, watch: Watch | None = None) -> list[BrokerInfo]:
        infos = await self._watched("children", znodes.BrokerIdsZNode.path(), watch,
                                    lambda w: self.kz.get_all_brokers(w))
        return [to_controller_broker(i) for i in infos]

    async def get_broker(self, broker_id: int, watch: Watch | None = None) -> BrokerInfo | None:
        info = await self._watched("data", znodes.BrokerIdZNode.path(broker_id), watch,
                                   lambda w: self.kz.get_broker(broker_id, w))
        return to_controller_broker(info) if info is not None else None

    # ---- topics --------------------------------------------------------------------------------
    async def get_all_topics(self, watch: Watch | None = None) -> set[str]:
        return set(await self._watched("children", znodes.TopicsZNode.path(), watch,
                                       lambda w: self.kz.get_all_topics(w)))

    async def get_topic_assignments(self, topics: Iterable[str],
                                    watch_for: Callable[[str], Watch] | None = None) -> dict[str, TopicAssignment]:
        names = list(topics)

        async def one(topic: str) -> Any:
            return await self._watched("data", znodes.TopicZNode.path(topic),
                                       watch_for(topic) if watch_for is not None else None,
                                       lambda w: self.kz.get_topic_assignment(topic, w))
        out: dict[str, TopicAssignment] = {}
        for chunk in _chunks(names, self.max_batch):
            # Concurrent reads (ZkClient bounds what is in flight), collected in order.
            found = await asyncio.gather(*(one(t) for t in chunk))
            for topic, ta in zip(chunk, found):
                if ta is not None:
                    out[topic] = TopicAssignment(topic, ta.topic_id,
                                                 {p: _from_zk_assignment(a) for p, a in ta.partitions.items()})
        return out

    async def set_topic_assignment(self, topic: str, topic_id: str | None,
                                   partitions: Mapping[int, ReplicaAssignment], epoch_zk_version: int) -> None:
        data = {p: _to_zk_assignment(a) for p, a in partitions.items()}
        await self._retry(lambda: self.kz.set_topic_assignment(topic, data, topic_id,
                                                               controller_epoch_zk_version=epoch_zk_version))

    async def get_topic_config(self, topic: str) -> dict[str, str]:
        return await self._retry(lambda: self.kz.get_entity_config(znodes.ConfigType.TOPIC, topic))

    async def get_partition_states(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, LeaderAndIsr]:
        out: dict[TopicPartition, LeaderAndIsr] = {}
        for chunk in _chunks(list(partitions), self.max_batch):
            out.update(await self._retry(lambda chunk=chunk: self.kz.get_topic_partition_states(chunk)))
        return out

    async def create_partition_states(self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
                                      ) -> dict[TopicPartition, LeaderAndIsr | Exception]:
        out: dict[TopicPartition, LeaderAndIsr | Exception] = {}
        for chunk in _chunks(list(states), self.max_batch):
            part = {tp: states[tp] for tp in chunk}
            # A repeated chunk finds the states it created before the connection dropped (NodeExists):
            # those are reported like any existing state; the state machine re-reads them.
            out.update(await self._retry(lambda part=part: self.kz.create_topic_partition_states(
                part, epoch_zk_version)))
        return out

    async def update_leader_and_isr(self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
                                    ) -> UpdateLeaderAndIsrResult:
        finished: dict[TopicPartition, LeaderAndIsr | Exception] = {}
        retry: set[TopicPartition] = set()
        for chunk in _chunks(list(states), self.max_batch):
            part = {tp: states[tp] for tp in chunk}
            # A repeated chunk loses the version race on the writes that went through: those
            # partitions come back in `to_retry` and the state machine re-reads them.
            got = await self._retry(lambda part=part: self.kz.update_leader_and_isr(part, epoch_zk_version))
            finished.update(got.finished)
            retry.update(got.partitions_to_retry)
        return UpdateLeaderAndIsrResult(finished, frozenset(retry))

    async def delete_topic(self, topic: str, epoch_zk_version: int) -> None:
        await self._retry(lambda: self.kz.delete_topic_znode(topic, epoch_zk_version))
        await self._retry(lambda: self.kz.delete_topic_config(topic, epoch_zk_version))

    # ---- admin / notifications ---------------------------------------------------------------
    async def get_topic_deletions(self, watch: Watch | None = None) -> set[str]:
        return set(await self._watched("children", znodes.DeleteTopicsZNode.path(), watch,
                                       lambda w: self.kz.get_topic_deletions(w)))

    async def delete_topic_deletions(self, topics: Iterable[str], epoch_zk_version: int) -> None:
        names = list(topics)
        await self._retry(lambda: self.kz.delete_topic_deletions(names, epoch_zk_version))

    async def get_isr_change_notifications(self, watch: Watch | None = None) -> list[str]:
        return await self._watched("children", znodes.IsrChangeNotificationZNode.path(), watch,
                                   lambda w: self.kz.get_all_isr_change_notifications(w))

    async def get_partitions_from_isr_change_notifications(self, seqs: Iterable[str]) -> set[TopicPartition]:
        names = list(seqs)
        return await self._retry(lambda: self.kz.get_partitions_from_isr_change_notifications(names))

    async def delete_isr_change_notifications(self, seqs: Iterable[str], epoch_zk_version: int) -> None:
        names = list(seqs)
        await self._retry(lambda: self.kz.delete_isr_change_notifications(epoch_zk_version, names))

    async def get_partition_reassignment(self, watch: Watch | None = None
                                         ) -> dict[TopicPartition, tuple[int, ...]] | None:
        got = await self._watched("exists", znodes.ReassignPartitionsZNode.path(), watch,
                                  lambda w: self.kz.get_partition_reassignment(w))
        return None if got is None else {tp: tuple(r) for tp, r in got.items()}

    async def set_partition_reassignment(self, reassignment: Mapping[TopicPartition, tuple[int, ...]],
                                         epoch_zk_version: int) -> None:
        data = dict(reassignment)
        await self._retry(lambda: self.kz.set_or_delete_partition_reassignment(data, epoch_zk_version))

    async def get_preferred_replica_election(self, watch: Watch | None = None) -> set[TopicPartition] | None:
        got = await self._watched("exists", znodes.PreferredReplicaElectionZNode.path(), watch,
                                  lambda w: self.kz.get_preferred_replica_election(w))
        return None if got is None else set(got)

    async def delete_preferred_replica_election(self, epoch_zk_version: int) -> None:
        await self._retry(lambda: self.kz.delete_preferred_replica_election(epoch_zk_version))

    async def watch_partition_state(self, partition: TopicPartition, watch: Watch) -> None:
        path = znodes.TopicPartitionStateZNode.path(partition.topic, partition.partition)
        if ("exists", path) in self._armed:
            return
        await self._watched("exists", path, watch, lambda w: self.kz.zk.exists(path, w))

    async def setup_feature_znode(self) -> None:
        """`/feature` enabled with no finalized features (2.7/2.8 define none); flip a disabled one."""
        async def step() -> None:
            current = await self.kz.get_feature()
            if current is None or current.status != FEATURE_ENABLED:
                features = dict(current.features) if current is not None else {}
                await self.kz.create_or_update_feature(znodes.FeatureZNodeData(FEATURE_ENABLED, features))
        await self._retry(step)

    async def delete_log_dir_event_notifications(self, epoch_zk_version: int,
                                                 seqs: Iterable[str] | None = None) -> None:
        names = None if seqs is None else list(seqs)
        await self._retry(lambda: self.kz.delete_log_dir_event_notifications(epoch_zk_version, names))

    async def get_log_dir_event_notifications(self, watch: Watch | None = None) -> list[str]:
        return await self._watched("children", znodes.LogDirEventNotificationZNode.path(), watch,
                                   lambda w: self.kz.get_all_log_dir_event_notifications(w))

    async def get_broker_ids_from_log_dir_events(self, seqs: Iterable[str]) -> list[int]:
        names = list(seqs)
        return await self._retry(lambda: self.kz.get_broker_ids_from_log_dir_events(names))
