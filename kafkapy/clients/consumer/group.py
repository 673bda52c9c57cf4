"""Group membership for kafkapy's Consumer: subscribe, rebalance, heartbeat and commit.

`ConsumerGroupMembership` implements the consumer's ``GroupCoordinatorHook``. It finds the
group coordinator, joins (with the member-id round trip of JoinGroup v4+), runs the chosen
assignor when it is the leader, syncs, and hands the assignment to the consumer. A background
task heartbeats; a rebalance it learns about is carried out on the next ``poll`` (revoke →
join → assign, calling the rebalance listener around it), as in the Java client.
Offsets: ``commit_sync`` / ``commit_async`` (default: the consumer's positions), auto-commit
every ``auto.commit.interval.ms`` on poll and on close, ``committed`` through OffsetFetch.

    c = Consumer({"bootstrap.servers": bs, "group.id": "g"})
    group = ConsumerGroupMembership.attach(c, listener=MyListener())
    await c.start()
    await c.subscribe(["orders"])          # or: await group.subscribe_pattern(c, r"orders-.*")
    records = await c.poll(1000)
    await group.commit_sync()
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from kafkapy.clients.consumer.assignors import Assignment, PartitionAssignor, Subscription, assignors_for
from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.errors import ProtocolDecodeError
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.messages.internal import (
    CONSUMER_PROTOCOL_ASSIGNMENT,
    CONSUMER_PROTOCOL_SUBSCRIPTION,
    decode_versioned,
    encode_versioned,
)

log = logging.getLogger(__name__)

__all__ = ["ConsumerGroupMembership", "ConsumerRebalanceListener", "CommitFailedError"]

PROTOCOL_TYPE = "consumer"
_SUB = CONSUMER_PROTOCOL_SUBSCRIPTION.schema.cls
_SUB_TP = CONSUMER_PROTOCOL_SUBSCRIPTION.schema.struct("owned_partitions").cls
_ASG = CONSUMER_PROTOCOL_ASSIGNMENT.schema.cls
_ASG_TP = CONSUMER_PROTOCOL_ASSIGNMENT.schema.struct("assigned_partitions").cls
_JOIN = get_api(ApiKey.JOIN_GROUP)
_SYNC = get_api(ApiKey.SYNC_GROUP)
_HEARTBEAT = get_api(ApiKey.HEARTBEAT)
_LEAVE = get_api(ApiKey.LEAVE_GROUP)
_COMMIT = get_api(ApiKey.OFFSET_COMMIT)
_FETCH = get_api(ApiKey.OFFSET_FETCH)
_FIND = get_api(ApiKey.FIND_COORDINATOR)

_REJOIN_ERRORS = {ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID}
_COORDINATOR_ERRORS = {ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE}


class CommitFailedError(Exception):
    """The commit cannot succeed: the group rebalanced and this member's generation is gone."""


class ConsumerRebalanceListener(Protocol):
    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None: ...

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None: ...


def encode_subscription(topics: Sequence[str], owned: Sequence[TopicPartition] = (),
                        user_data: bytes | None = None) -> bytes:
    by_topic: dict[str, list[int]] = {}
    for tp in owned:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return encode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, 1, _SUB(
        topics=list(topics), user_data=user_data,
        owned_partitions=[_SUB_TP(topic=t, partitions=sorted(ps)) for t, ps in sorted(by_topic.items())]))


def decode_subscription(data: bytes, instance_id: str | None = None) -> Subscription:
    _v, s = decode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, data, accept_newer=True)
    owned = tuple(TopicPartition(o.topic, p) for o in (getattr(s, "owned_partitions", None) or [])
                  for p in o.partitions)
    return Subscription(tuple(s.topics), s.user_data, owned, instance_id)


def encode_assignment(a: Assignment) -> bytes:
    by_topic: dict[str, list[int]] = {}
    for tp in a.partitions:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return encode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, 1, _ASG(
        assigned_partitions=[_ASG_TP(topic=t, partitions=ps) for t, ps in sorted(by_topic.items())],
        user_data=a.user_data))


def decode_assignment(data: bytes) -> list[TopicPartition]:
    if not data:
        return []
    _v, a = decode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, data, accept_newer=True)
    return [TopicPartition(t.topic, p) for t in a.assigned_partitions for p in t.partitions]


class ConsumerGroupMembership:
    """One consumer's membership in its group (the consumer's ``coordinator`` hook)."""

    def __init__(self, consumer: Any, listener: ConsumerRebalanceListener | None = None,
                 assignors: Sequence[PartitionAssignor] | None = None, group_instance_id: str | None = None
                 ) -> None:
        cfg = consumer.config
        raw: Mapping[str, Any] = getattr(cfg, "raw", {}) or {}
        self.consumer = consumer
        self.client = consumer.client
        self.group_id: str = cfg.group_id
        if not self.group_id:
            raise ValueError("To use the group management or offset commit APIs, you must provide a valid "
                             "group.id in the consumer configuration.")
        self.listener = listener
        strategy = raw.get("partition.assignment.strategy") or "range,roundrobin"
        self.assignors = list(assignors) if assignors is not None else assignors_for(strategy)
        self.group_instance_id = group_instance_id if group_instance_id is not None else \
            raw.get("group.instance.id")
        self.session_timeout_ms = int(raw.get("session.timeout.ms", 10000))
        self.rebalance_timeout_ms = int(raw.get("max.poll.interval.ms", 300000))
        self.heartbeat_interval_ms = int(raw.get("heartbeat.interval.ms", 3000))
        self.auto_commit = str(raw.get("enable.auto.commit", True)).lower() not in ("false", "0")
        self.auto_commit_interval_ms = int(raw.get("auto.commit.interval.ms", 5000))
        self.member_id = ""
        self.generation_id = -1
        self.protocol_name: str | None = None
        self.coordinator_id: int | None = None
        self.topics: list[str] = []
        self.pattern: re.Pattern[str] | None = None
        self.need_rejoin = False
        self._heartbeat_task: asyncio.Task | None = None
        self._tasks = TaskSupervisor(f"group-{self.group_id}")
        self._last_auto_commit = 0.0
        self._last_metadata_check = 0.0
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    def attach(cls, consumer: Any, listener: ConsumerRebalanceListener | None = None, **kwargs: Any
               ) -> "ConsumerGroupMembership":
        membership = cls(consumer, listener, **kwargs)
        consumer.coordinator = membership
        return membership

    # ------------------------------------------------------------------ hook API
    async def subscribe(self, consumer: Any, topics: Sequence[str]) -> None:
        self.topics = sorted(set(topics))
        self.pattern = None
        await self._rejoin()

    async def subscribe_pattern(self, consumer: Any, pattern: str) -> None:
        self.pattern = re.compile(pattern)
        self.topics = await self._matching_topics()
        await self._rejoin()

    async def poll_hook(self, consumer: Any) -> None:
        loop = asyncio.get_running_loop()
        if self.pattern is not None and loop.time() - self._last_metadata_check > 2.0:
            self._last_metadata_check = loop.time()
            topics = await self._matching_topics()
            if topics != self.topics:
                self.topics = topics
                self.need_rejoin = True
        if self.need_rejoin:
            await self._rejoin()
        if self.auto_commit and loop.time() - self._last_auto_commit >= self.auto_commit_interval_ms / 1000:
            self._last_auto_commit = loop.time()
            try:
                await self.commit_sync()
            except CommitFailedError as exc:
                log.warning("Auto-commit of offsets failed for group %s: %s", self.group_id, exc)

    async def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        by_topic: dict[str, list[int]] = {}
        for tp in partitions:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        Topic = _FETCH.request.struct("topics")
        for _attempt in range(20):
            node = await self._coordinator()
            resp = await self.client.send(node, ApiKey.OFFSET_FETCH, _FETCH.request(
                group_id=self.group_id, topics=[Topic(name=t, partition_indexes=ps) for t, ps in by_topic.items()],
                require_stable=False))
            top = getattr(resp, "error_code", 0)
            if top in _COORDINATOR_ERRORS or top == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
                self.coordinator_id = None
                await asyncio.sleep(0.1)
                continue
            if top:
                raise ApiError(top)
            out: dict[TopicPartition, int | None] = {tp: None for tp in partitions}
            for t in resp.topics:
                for p in t.partitions:
                    out[TopicPartition(t.name, p.partition_index)] = p.committed_offset \
                        if p.committed_offset >= 0 else None
            return out
        raise ApiError(ErrorCode.COORDINATOR_NOT_AVAILABLE)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.auto_commit and self.generation_id >= 0:
            try:
                await self.commit_sync()
            except (CommitFailedError, OSError) as exc:
                log.warning("Final offset commit of group %s failed: %s", self.group_id, exc)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        await self._tasks.join()      # pending commit_async calls finish; the heartbeat is cancelled
        await self._tasks.close()
        if self.member_id and self.coordinator_id is not None:
            Member = _LEAVE.request.struct("members")
            try:
                await self.client.send(self.coordinator_id, ApiKey.LEAVE_GROUP, _LEAVE.request(
                    group_id=self.group_id, member_id=self.member_id,
                    members=[Member(member_id=self.member_id, group_instance_id=self.group_instance_id)]))
            except OSError as exc:
                log.info("LeaveGroup for %s failed: %s", self.group_id, exc)

    # ------------------------------------------------------------------ commits
    async def commit_sync(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        if offsets is None:
            offsets = {}
            for tp in self.consumer.assignment():
                st = self.consumer._assignment.get(tp)
                if st is not None and st.position is not None:
                    offsets[tp] = st.position
        if not offsets:
            return
        Topic = _COMMIT.request.struct("topics")
        Part = _COMMIT.request.struct("topics", "partitions")
        by_topic: dict[str, list[Any]] = {}
        for tp, off in offsets.items():
            by_topic.setdefault(tp.topic, []).append(Part(partition_index=tp.partition, committed_offset=off,
                                                          committed_leader_epoch=-1, committed_metadata=""))
        for _attempt in range(20):
            node = await self._coordinator()
            resp = await self.client.send(node, ApiKey.OFFSET_COMMIT, _COMMIT.request(
                group_id=self.group_id, generation_id=self.generation_id, member_id=self.member_id,
                group_instance_id=self.group_instance_id,
                topics=[Topic(name=t, partitions=ps) for t, ps in by_topic.items()]))
            errors = {p.error_code for t in resp.topics for p in t.partitions} - {0}
            if not errors:
                return
            if errors & _COORDINATOR_ERRORS or ErrorCode.COORDINATOR_LOAD_IN_PROGRESS in errors:
                self.coordinator_id = None
                await asyncio.sleep(0.1)
                continue
            if errors & _REJOIN_ERRORS:
                self.need_rejoin = True
                raise CommitFailedError(f"Commit cannot be completed since the group has already rebalanced "
                                        f"(errors {sorted(errors)})")
            raise ApiError(min(errors))
        raise CommitFailedError("the group coordinator stayed unavailable")

    def commit_async(self, offsets: Mapping[TopicPartition, int] | None = None,
                     callback: Callable[[Mapping[TopicPartition, int] | None, BaseException | None], None] | None
                     = None) -> asyncio.Task:
        if offsets is None:
            offsets = {tp: st.position for tp, st in self.consumer._assignment.items() if st.position is not None}

        async def run() -> None:
            try:
                await self.commit_sync(offsets)
            except (CommitFailedError, OSError) as exc:
                if callback is not None:
                    callback(offsets, exc)
                return
            if callback is not None:
                callback(offsets, None)
        return self._tasks.spawn(f"commit-async-{self.group_id}", run())

    # ------------------------------------------------------------------ membership
    async def _matching_topics(self) -> list[str]:
        assert self.pattern is not None
        md = await self.client.refresh_metadata(None)
        return sorted(t for t, m in md.topics.items() if not m.is_internal and self.pattern.fullmatch(t))

    async def _coordinator(self) -> int:
        while self.coordinator_id is None:
            resp = await self.client.send(None, ApiKey.FIND_COORDINATOR, _FIND.request(key=self.group_id, key_type=0))
            if resp.error_code == 0:
                if resp.node_id not in self.client.metadata.brokers:
                    await self.client.refresh_metadata([])
                self.coordinator_id = resp.node_id
                break
            await asyncio.sleep(0.1)
        return self.coordinator_id

    async def _rejoin(self) -> None:
        async with self._lock:
            old = self.consumer.assignment()
            if old:
                if self.auto_commit and self.generation_id >= 0:
                    try:
                        await self.commit_sync()
                    except CommitFailedError as exc:
                        log.info("Offset commit before rebalance failed: %s", exc)
                if self.listener is not None:
                    await self.listener.on_partitions_revoked(set(old))
            self.consumer.assign([])
            assigned = await self._join_and_sync(sorted(old, key=lambda tp: (tp.topic, tp.partition)))
            self.need_rejoin = False
            self.consumer.assign(assigned)
            if self.listener is not None:
                await self.listener.on_partitions_assigned(set(assigned))
            if self._heartbeat_task is None or self._heartbeat_task.done():
                self._heartbeat_task = self._tasks.spawn(f"heartbeat-{self.group_id}", self._heartbeat_loop())

    async def _join_and_sync(self, owned: list[TopicPartition]) -> list[TopicPartition]:
        if self.pattern is None:
            await self.client.refresh_metadata(self.topics)
        meta = encode_subscription(self.topics, owned)
        Proto = _JOIN.request.struct("protocols")
        while True:
            node = await self._coordinator()
            resp = await self.client.send(node, ApiKey.JOIN_GROUP, _JOIN.request(
                group_id=self.group_id, session_timeout_ms=self.session_timeout_ms,
                rebalance_timeout_ms=self.rebalance_timeout_ms, member_id=self.member_id,
                group_instance_id=self.group_instance_id, protocol_type=PROTOCOL_TYPE,
                protocols=[Proto(name=a.name, metadata=meta) for a in self.assignors]),
                timeout_ms=self.rebalance_timeout_ms + 5000)
            err = resp.error_code
            if err == ErrorCode.MEMBER_ID_REQUIRED:
                self.member_id = resp.member_id
                continue
            if err in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION):
                self.member_id = ""
                continue
            if err in _COORDINATOR_ERRORS or err in (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
                                                     ErrorCode.REBALANCE_IN_PROGRESS):
                if err in _COORDINATOR_ERRORS:
                    self.coordinator_id = None
                await asyncio.sleep(0.1)
                continue
            if err:
                raise ApiError(err)
            self.member_id = resp.member_id
            self.generation_id = resp.generation_id
            self.protocol_name = resp.protocol_name
            assignments: list[Any] = []
            if resp.leader == resp.member_id:
                assignments = await self._perform_assignment(resp.protocol_name, resp.members)
            sresp = await self.client.send(node, ApiKey.SYNC_GROUP, _SYNC.request(
                group_id=self.group_id, generation_id=self.generation_id, member_id=self.member_id,
                group_instance_id=self.group_instance_id, protocol_type=PROTOCOL_TYPE,
                protocol_name=self.protocol_name, assignments=assignments))
            if sresp.error_code == 0:
                return decode_assignment(sresp.assignment)
            if sresp.error_code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION):
                self.member_id = ""
            elif sresp.error_code in _COORDINATOR_ERRORS:
                self.coordinator_id = None
            elif sresp.error_code != ErrorCode.REBALANCE_IN_PROGRESS:
                raise ApiError(sresp.error_code)

    async def _perform_assignment(self, protocol: str, members: Sequence[Any]) -> list[Any]:
        assignor = next(a for a in self.assignors if a.name == protocol)
        subs: dict[str, Subscription] = {}
        for m in members:
            try:
                subs[m.member_id] = decode_subscription(m.metadata, getattr(m, "group_instance_id", None))
            except ProtocolDecodeError:
                subs[m.member_id] = Subscription(())
        topics = sorted({t for s in subs.values() for t in s.topics})
        md = await self.client.refresh_metadata(topics)
        counts = {t: n for t in topics if (n := md.partition_count(t)) is not None}
        result = assignor.assign(counts, subs)
        Item = _SYNC.request.struct("assignments")
        return [Item(member_id=mid, assignment=encode_assignment(result.get(mid, Assignment()))) for mid in subs]

    async def _heartbeat_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.heartbeat_interval_ms / 1000)
            if self.need_rejoin or self.generation_id < 0:
                continue
            try:
                node = await self._coordinator()
                resp = await self.client.send(node, ApiKey.HEARTBEAT, _HEARTBEAT.request(
                    group_id=self.group_id, generation_id=self.generation_id, member_id=self.member_id,
                    group_instance_id=self.group_instance_id))
            except OSError as exc:
                log.info("Heartbeat of group %s failed: %s", self.group_id, exc)
                self.coordinator_id = None
                continue
            if resp.error_code in _REJOIN_ERRORS:
                if resp.error_code != ErrorCode.REBALANCE_IN_PROGRESS:
                    self.member_id = "" if resp.error_code == ErrorCode.UNKNOWN_MEMBER_ID else self.member_id
                self.need_rejoin = True
            elif resp.error_code in _COORDINATOR_ERRORS:
                self.coordinator_id = None
