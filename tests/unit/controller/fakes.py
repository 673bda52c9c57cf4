"""In-memory doubles for controller tests: the ZooKeeper verbs and the broker channel."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.channel_manager import ResponseSummary
from kafkapy.controller.context import BrokerInfo, EndPoint, ReplicaAssignment
from kafkapy.controller.zk_verbs import TopicAssignment, UpdateLeaderAndIsrResult
from kafkapy.zk.errors import BadVersionError, ControllerMovedError, NodeExistsError


def broker(broker_id: int, epoch: int = 100) -> BrokerInfo:
    return BrokerInfo(broker_id, (EndPoint("PLAINTEXT", "127.0.0.1", 9090 + broker_id),), None, epoch)


class FakeZk:
    """The ControllerZk verbs over dicts; watches are one-shot and fired by the mutators."""

    def __init__(self) -> None:
        self.controller: int | None = None
        self.controller_epoch = 0
        self.epoch_zk_version = 0
        self.brokers: dict[int, BrokerInfo] = {}
        self.topics: dict[str, TopicAssignment] = {}
        self.topic_configs: dict[str, dict[str, str]] = {}
        self.states: dict[TopicPartition, LeaderAndIsr] = {}
        self.delete_topics: set[str] = set()
        self.isr_notifications: dict[str, set[TopicPartition]] = {}
        self.log_dir_events: dict[str, int] = {}
        self.reassign: dict[TopicPartition, tuple[int, ...]] | None = None
        self.preferred: set[TopicPartition] | None = None
        self.watches: dict[str, set[Callable[[], None]]] = {}
        self.writes: list[tuple[str, object]] = []
        self._seq = 0

    # ---- watch plumbing --------------------------------------------------------------------
    def _arm(self, key: str, watch: Callable[[], None] | None) -> None:
        if watch is not None:
            self.watches.setdefault(key, set()).add(watch)

    def fire(self, key: str) -> None:
        for w in self.watches.pop(key, set()):
            w()

    def _check_epoch(self, version: int) -> None:
        if version != self.epoch_zk_version:
            raise ControllerMovedError("controller epoch zk version changed")

    # ---- test mutators (as other actors would change ZooKeeper) ------------------------------
    def register_broker(self, info: BrokerInfo) -> None:
        self.brokers[info.broker_id] = info
        self.fire("/brokers/ids")

    def kill_broker(self, broker_id: int) -> None:
        del self.brokers[broker_id]
        if self.controller == broker_id:
            self.controller = None
            self.fire("/controller")
        self.fire("/brokers/ids")

    def create_topic(self, topic: str, assignment: Mapping[int, Iterable[int]]) -> None:
        self.topics[topic] = TopicAssignment(topic, None, {p: ReplicaAssignment(tuple(r))
                                                           for p, r in assignment.items()})
        self.fire("/brokers/topics")

    def add_partitions(self, topic: str, assignment: Mapping[int, Iterable[int]]) -> None:
        parts = dict(self.topics[topic].partitions)
        parts.update({p: ReplicaAssignment(tuple(r)) for p, r in assignment.items()})
        self.topics[topic] = TopicAssignment(topic, self.topics[topic].topic_id, parts)
        self.fire(f"/brokers/topics/{topic}")

    def mark_for_deletion(self, topic: str) -> None:
        self.delete_topics.add(topic)
        self.fire("/admin/delete_topics")

    def leader_writes_isr(self, tp: TopicPartition, isr: Iterable[int]) -> None:
        cur = self.states[tp]
        self.states[tp] = LeaderAndIsr(cur.leader, cur.leader_epoch, tuple(isr), cur.controller_epoch,
                                       cur.zk_version + 1)
        self._seq += 1
        self.isr_notifications[f"{self._seq:010d}"] = {tp}
        self.fire("/isr_change_notification")

    def steal_controller(self, broker_id: int) -> None:
        """Another broker takes over (e.g. after our session expired)."""
        self.controller = broker_id
        self.controller_epoch += 1
        self.epoch_zk_version += 1
        self.fire("/controller")

    # ---- election --------------------------------------------------------------------------
    async def register_controller_and_increment_epoch(self, broker_id: int) -> tuple[int, int]:
        if self.controller is not None:
            raise ControllerMovedError("/controller exists")
        self.controller = broker_id
        self.controller_epoch += 1
        self.epoch_zk_version += 1
        self.fire("/controller")
        return self.controller_epoch, self.epoch_zk_version

    async def get_controller_id(self, watch=None) -> int | None:
        self._arm("/controller", watch)
        return self.controller

    async def delete_controller(self, epoch_zk_version: int) -> None:
        self._check_epoch(epoch_zk_version)
        self.controller = None
        self.fire("/controller")

    # ---- brokers ---------------------------------------------------------------------------
    async def get_all_brokers(self, watch=None) -> list[BrokerInfo]:
        self._arm("/brokers/ids", watch)
        return [self.brokers[b] for b in sorted(self.brokers)]

    async def get_broker(self, broker_id: int, watch=None) -> BrokerInfo | None:
        self._arm(f"/brokers/ids/{broker_id}", watch)
        return self.brokers.get(broker_id)

    # ---- topics ------------------------------------------------------------------------------
    async def get_all_topics(self, watch=None) -> set[str]:
        self._arm("/brokers/topics", watch)
        return set(self.topics)

    async def get_topic_assignments(self, topics, watch_for=None) -> dict[str, TopicAssignment]:
        out = {}
        for t in topics:
            if watch_for is not None:
                self._arm(f"/brokers/topics/{t}", watch_for(t))
            if t in self.topics:
                out[t] = self.topics[t]
        return out

    async def set_topic_assignment(self, topic, topic_id, partitions, epoch_zk_version) -> None:
        self._check_epoch(epoch_zk_version)
        self.writes.append(("assignment", (topic, dict(partitions))))
        self.topics[topic] = TopicAssignment(topic, topic_id, dict(partitions))
        self.fire(f"/brokers/topics/{topic}")

    async def get_topic_config(self, topic: str) -> dict[str, str]:
        return dict(self.topic_configs.get(topic, {}))

    async def get_partition_states(self, partitions) -> dict[TopicPartition, LeaderAndIsr]:
        return {tp: self.states[tp] for tp in partitions if tp in self.states}

    async def create_partition_states(self, states, epoch_zk_version):
        self._check_epoch(epoch_zk_version)
        out = {}
        for tp, li in states.items():
            if tp in self.states:
                out[tp] = NodeExistsError(path=str(tp))
                continue
            stored = LeaderAndIsr(li.leader, li.leader_epoch, li.isr, li.controller_epoch, 0)
            self.states[tp] = stored
            self.writes.append(("create_state", (tp, stored)))
            out[tp] = stored
        return out

    async def update_leader_and_isr(self, states, epoch_zk_version) -> UpdateLeaderAndIsrResult:
        self._check_epoch(epoch_zk_version)
        finished: dict = {}
        retry = set()
        for tp, li in states.items():
            cur = self.states.get(tp)
            if cur is None:
                finished[tp] = BadVersionError(path=str(tp))
            elif cur.zk_version != li.zk_version:
                retry.add(tp)
            else:
                stored = LeaderAndIsr(li.leader, li.leader_epoch, li.isr, li.controller_epoch, cur.zk_version + 1)
                self.states[tp] = stored
                self.writes.append(("update_state", (tp, stored)))
                finished[tp] = stored
        return UpdateLeaderAndIsrResult(finished, frozenset(retry))

    async def delete_topic(self, topic: str, epoch_zk_version: int) -> None:
        self._check_epoch(epoch_zk_version)
        self.topics.pop(topic, None)
        self.topic_configs.pop(topic, None)
        for tp in [tp for tp in self.states if tp.topic == topic]:
            del self.states[tp]
        self.writes.append(("delete_topic", topic))
        self.fire("/brokers/topics")

    # ---- admin ------------------------------------------------------------------------------
    async def get_topic_deletions(self, watch=None) -> set[str]:
        self._arm("/admin/delete_topics", watch)
        return set(self.delete_topics)

    async def delete_topic_deletions(self, topics, epoch_zk_version) -> None:
        self._check_epoch(epoch_zk_version)
        self.delete_topics -= set(topics)

    async def get_isr_change_notifications(self, watch=None) -> list[str]:
        self._arm("/isr_change_notification", watch)
        return sorted(self.isr_notifications)

    async def get_partitions_from_isr_change_notifications(self, seqs) -> set[TopicPartition]:
        out: set[TopicPartition] = set()
        for s in seqs:
            out |= self.isr_notifications.get(s, set())
        return out

    async def delete_isr_change_notifications(self, seqs, epoch_zk_version) -> None:
        self._check_epoch(epoch_zk_version)
        for s in seqs:
            self.isr_notifications.pop(s, None)

    async def get_partition_reassignment(self, watch=None):
        self._arm("/admin/reassign_partitions", watch)
        return None if self.reassign is None else dict(self.reassign)

    async def set_partition_reassignment(self, reassignment, epoch_zk_version) -> None:
        self._check_epoch(epoch_zk_version)
        self.reassign = dict(reassignment) if reassignment else None

    async def get_preferred_replica_election(self, watch=None):
        self._arm("/admin/preferred_replica_election", watch)
        return None if self.preferred is None else set(self.preferred)

    async def delete_preferred_replica_election(self, epoch_zk_version) -> None:
        self._check_epoch(epoch_zk_version)
        self.preferred = None

    async def delete_log_dir_event_notifications(self, epoch_zk_version, seqs=None) -> None:
        self._check_epoch(epoch_zk_version)
        for s in (list(self.log_dir_events) if seqs is None else seqs):
            self.log_dir_events.pop(s, None)

    async def get_log_dir_event_notifications(self, watch=None) -> list[str]:
        self._arm("/log_dir_event_notification", watch)
        return sorted(self.log_dir_events)

    async def get_broker_ids_from_log_dir_events(self, seqs) -> list[int]:
        return [self.log_dir_events[s] for s in seqs if s in self.log_dir_events]

    def log_dir_failed(self, broker_id: int) -> None:
        self._seq += 1
        self.log_dir_events[f"{self._seq:010d}"] = broker_id
        self.fire("/log_dir_event_notification")

    async def watch_partition_state(self, partition, watch) -> None:
        self._arm(f"state:{partition}", watch)

    def leader_writes_isr_quietly(self, tp: TopicPartition, isr) -> None:
        """An ISR write without a notification (only the state znode watch sees it)."""
        cur = self.states[tp]
        self.states[tp] = LeaderAndIsr(cur.leader, cur.leader_epoch, tuple(isr), cur.controller_epoch,
                                       cur.zk_version + 1)
        self.fire(f"state:{tp}")

    async def setup_feature_znode(self) -> None:
        self.feature_enabled = True


@dataclass
class Sent:
    broker_id: int
    request: object
    callback: object


@dataclass
class FakeChannel:
    brokers: dict[int, BrokerInfo] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    closed: bool = False

    def add_broker(self, info: BrokerInfo) -> None:
        self.brokers[info.broker_id] = info

    def remove_broker(self, broker_id: int) -> None:
        self.brokers.pop(broker_id, None)

    def send(self, broker_id, request, callback=None) -> None:
        assert broker_id in self.brokers, f"send to unknown broker {broker_id}"
        self.sent.append(Sent(broker_id, request, callback))

    async def shutdown(self) -> None:
        self.closed = True

    def take(self) -> list[Sent]:
        out, self.sent = self.sent, []
        return out

    def answer_all(self, error_code: int = 0) -> None:
        """Invoke every pending callback with a success (or `error_code`) summary."""
        for s in self.take():
            if s.callback is not None:
                errs = {ps.topic_partition: error_code for ps in s.request.partition_states}
                s.callback(ResponseSummary(0, errs))
