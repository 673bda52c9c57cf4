"""`KafkaZkClient`: the ZooKeeper verbs of a broker and its controller.

Built on `ZkClient` (the kazoo bridge) and `znodes`. All methods are coroutines and
keep Kafka's protocols on Kafka's znodes (zookeeper-layout.md):

* controller election = one multi creating the ephemeral `/controller` and bumping
  `/controller_epoch` conditionally on the version just read;
* every write the controller makes goes through `controller_multi(epoch_zk_version,
  ops)`: a multi whose first op checks `/controller_epoch`'s version; losing that
  check raises `ControllerMovedError`;
* partition state writes are conditional on the state znode's version;
* broker registration creates the ephemeral `/brokers/ids/<id>` (empty create +
  setData at version 0, so its data version is 1 as in Kafka) and accepts an existing
  node only if our session owns it.

Watches are plain callables taking a `ZkWatchEvent`, run on the loop (one-shot).

Bulk verbs (partition states) never hand more than ``zookeeper.max.in.flight.requests``
requests to kazoo at once: the window lives in `ZkClient`, so every caller shares it, and
they pipeline through it (`ZkClient.get_many` / `multi_many`) when the client can.
`wait_connected()` lets a caller retry after a connection loss once the same session is back
(Kafka's "retry requests until connected" is done by the controller's adapter).
"""
from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.zk import errors
from kafkapy.zk.client import (ANY_VERSION, DEFAULT_MAX_IN_FLIGHT_REQUESTS, CheckOp, CreateOp, DeleteOp,
                               SetDataOp, ZkClient, ZkOp, ZkStat, ZkWatchEvent)
from kafkapy.zk.znodes import (
    PERSISTENT_ZK_PATHS, BrokerIdsZNode, BrokerIdZNode, BrokerInfo, BrokerSequenceIdZNode,
    ClusterIdZNode, ConfigEntityChangeNotificationSequenceZNode, ConfigEntityChangeNotificationZNode,
    ConfigEntityTypeZNode, ConfigEntityZNode, ConfigType, ConsumerIdsZNode, ConsumerIdZNode,
    ConsumerOffsetZNode, ConsumerOwnerZNode, ConsumerRegistration, ControllerEpoch,
    ControllerEpochZNode, ControllerZNode, DeleteTopicsTopicZNode, DeleteTopicsZNode, FeatureZNode,
    FeatureZNodeData, IsrChangeNotificationSequenceZNode, IsrChangeNotificationZNode,
    LatestProducerIdBlockZNode, LogDirEventNotificationSequenceZNode, LogDirEventNotificationZNode,
    PreferredReplicaElectionZNode, ProducerIdBlock, ReassignPartitionsZNode, ReplicaAssignment,
    TopicAssignment, TopicPartitionStateZNode, TopicPartitionsZNode, TopicPartitionZNode,
    TopicsZNode, TopicZNode, sequence_number)

log = logging.getLogger(__name__)

Watch = Callable[[ZkWatchEvent], None]

# Partitions per multi in the controller's bulk state writes: each costs ~150 bytes of request,
# far below jute.maxbuffer (1 MiB), and one request instead of one per partition (the kazoo
# round trip, not ZooKeeper, is what costs: ~0.3-0.5 ms of CPU each on this machine).
MULTI_BATCH_PARTITIONS = 100
RESERVED_BROKER_MAX_ID = 1000


def generate_cluster_id() -> str:
    """A random UUID as 22 chars of URL-safe base64 without padding (Kafka's format,
    also used for topic ids)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")


generate_topic_id = generate_cluster_id


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class UpdateLeaderAndIsrResult:
    """Per partition: the written state (with its new zk_version) or the error;
    `partitions_to_retry` lost a version race (BADVERSION) and must be re-read."""

    finished: Mapping[TopicPartition, LeaderAndIsr | Exception] = field(default_factory=dict)
    partitions_to_retry: tuple[TopicPartition, ...] = ()


class KafkaZkClient:
    """Broker/controller ZooKeeper operations over one `ZkClient` session."""

    def __init__(self, zk: ZkClient, *, time_ms: Callable[[], int] = _wall_clock_ms) -> None:
        self.zk = zk
        self._time_ms = time_ms
        self.multi_batch_partitions = MULTI_BATCH_PARTITIONS

    @classmethod
    async def connect(cls, connect_string: str, *, session_timeout_ms: int = 18000,
                      connection_timeout_ms: int | None = None,
                      max_in_flight_requests: int = DEFAULT_MAX_IN_FLIGHT_REQUESTS,
                      **kwargs: Any) -> "KafkaZkClient":
        """Start a `ZkClient` (creating the chroot if needed) and wrap it."""
        zk = ZkClient(connect_string, session_timeout_ms=session_timeout_ms,
                      connection_timeout_ms=connection_timeout_ms,
                      max_in_flight_requests=max_in_flight_requests, **kwargs)
        await zk.start()
        return cls(zk)

    @property
    def max_in_flight_requests(self) -> int:
        """``zookeeper.max.in.flight.requests``: requests handed to kazoo at once."""
        return int(getattr(self.zk, "max_in_flight_requests", DEFAULT_MAX_IN_FLIGHT_REQUESTS))

    @max_in_flight_requests.setter
    def max_in_flight_requests(self, value: int) -> None:
        if hasattr(self.zk, "max_in_flight_requests"):
            self.zk.max_in_flight_requests = int(value)

    async def wait_connected(self, timeout_ms: int | None = None) -> None:
        """Wait for the reconnection of the current session (see `ZkClient.wait_connected`)."""
        wait = getattr(self.zk, "wait_connected", None)
        if wait is not None:
            await wait(timeout_ms)
        elif not getattr(self.zk, "connected", True):
            raise errors.SessionExpiredError("ZooKeeper is not connected")

    async def close(self) -> None:
        await self.zk.stop()

    @property
    def session_id(self) -> int | None:
        return self.zk.session_id

    # ================================================================ generic helpers
    async def create_recursive(self, path: str, data: bytes = b"", *,
                               throw_if_path_exists: bool = True) -> None:
        """Create `path`, creating missing parents empty (Kafka's createRecursive)."""
        try:
            await self.zk.create(path, data, makepath=True)
        except errors.NodeExistsError:
            if throw_if_path_exists:
                raise

    async def get_data_and_version(self, path: str, watch: Watch | None = None
                                   ) -> tuple[bytes | None, int]:
        """(data, zk version), or (None, -1) when the znode is missing."""
        got = await self.zk.get_or_none(path, watch)
        if got is None:
            return None, ANY_VERSION
        return got[0], got[1].version

    async def get_children_sorted(self, path: str, watch: Watch | None = None) -> list[str]:
        """Sorted children; [] when the parent is missing."""
        try:
            return sorted(await self.zk.get_children(path, watch))
        except errors.NoNodeError:
            return []

    async def path_exists(self, path: str, watch: Watch | None = None) -> bool:
        return await self.zk.exists(path, watch) is not None

    async def controller_multi(self, controller_epoch_zk_version: int, ops: Sequence[ZkOp]) -> list[Any]:
        """Run `ops` after a check of `/controller_epoch`'s version, atomically.
        Returns the results of `ops` (without the check). A lost check raises
        ControllerMovedError; an error of op i is raised with `op_index` i."""
        check = CheckOp(ControllerEpochZNode.path(), controller_epoch_zk_version)
        try:
            results = await self.zk.multi([check, *ops])
        except errors.ZkError as exc:
            translated = _controller_multi_error(exc, controller_epoch_zk_version)
            if translated is exc:
                raise
            raise translated from exc
        return results[1:]

    async def controller_multis(self, controller_epoch_zk_version: int, transactions: Sequence[Sequence[ZkOp]]
                                ) -> list[list[Any] | BaseException]:
        """`controller_multi` for several independent transactions, pipelined by the client when
        it can (`ZkClient.multi_many`). Per transaction its results or its error (a lost epoch
        check as ControllerMovedError); a failure of the requests themselves is raised."""
        multi_many = getattr(self.zk, "multi_many", None)
        if multi_many is None:
            outcomes = await asyncio.gather(*(self.controller_multi(controller_epoch_zk_version, ops)
                                              for ops in transactions), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, _NOT_PER_PARTITION) and not isinstance(outcome, errors.ControllerMovedError):
                    raise outcome
            return list(outcomes)
        check = CheckOp(ControllerEpochZNode.path(), controller_epoch_zk_version)
        raw = await multi_many([[check, *ops] for ops in transactions])
        return [_controller_multi_error(r, controller_epoch_zk_version) if isinstance(r, errors.ZkError)
                else r if isinstance(r, BaseException) else r[1:] for r in raw]

    async def _delete_recursive_checked(self, path: str, controller_epoch_zk_version: int) -> None:
        """Delete a subtree, every delete epoch-checked (Kafka's deleteRecursive)."""
        try:
            children = await self.zk.get_children(path)
        except errors.NoNodeError:
            return
        await asyncio.gather(*(self._delete_recursive_checked(f"{path}/{c}", controller_epoch_zk_version)
                               for c in children))
        try:
            await self.controller_multi(controller_epoch_zk_version, [DeleteOp(path)])
        except errors.NoNodeError:
            pass
        except errors.NotEmptyError:  # a child appeared meanwhile: go again
            await self._delete_recursive_checked(path, controller_epoch_zk_version)

    async def get_sequence_children(self, parent: str, prefix: str, watch: Watch | None = None
                                    ) -> list[tuple[int, str]]:
        """(sequence number, child name) of the sequential children named `prefix...`,
        in sequence order; [] when the parent is missing."""
        children = await self.get_children_sorted(parent, watch)
        return sorted((sequence_number(c, prefix), c) for c in children if c.startswith(prefix))

    async def purge_obsolete_notifications(self, parent: str, prefix: str, max_age_ms: int,
                                           now_ms: int | None = None) -> int:
        """Delete notifications created more than `max_age_ms` ago (Kafka purges change
        notifications older than 15 minutes; races between brokers are harmless)."""
        now = self._time_ms() if now_ms is None else now_ms
        deleted = 0
        for _, name in await self.get_sequence_children(parent, prefix):
            path = f"{parent}/{name}"
            stat = await self.zk.exists(path)
            if stat is not None and now - stat.ctime > max_age_ms:
                try:
                    await self.zk.delete(path)
                    deleted += 1
                except errors.NoNodeError:
                    pass
        return deleted

    async def create_ephemeral_expect_conflict(self, path: str, data: bytes) -> None:
        """Create an ephemeral (parents as needed); an existing node holding exactly
        `data` counts as success (legacy consumer registration and ownership)."""
        try:
            await self.zk.create(path, data, ephemeral=True, makepath=True)
        except errors.NodeExistsError:
            stored = await self.zk.get_or_none(path)
            if stored is None:   # vanished meanwhile: try again
                await self.create_ephemeral_expect_conflict(path, data)
                return
            if stored[0] != bytes(data):
                raise

    # ================================================================ startup
    async def create_top_level_paths(self) -> None:
        """The persistent paths every broker ensures at startup (existing ones untouched)."""
        await asyncio.gather(*(self.create_recursive(p, throw_if_path_exists=False)
                               for p in PERSISTENT_ZK_PATHS))

    async def get_cluster_id(self) -> str | None:
        data, _ = await self.get_data_and_version(ClusterIdZNode.path())
        return ClusterIdZNode.decode(data) if data else None

    async def get_or_create_cluster_id(self, proposed: str | None = None) -> str:
        """Read `/cluster/id`; the first broker writes a fresh one (a racing writer wins)."""
        existing = await self.get_cluster_id()
        if existing is not None:
            return existing
        cluster_id = proposed or generate_cluster_id()
        try:
            await self.create_recursive(ClusterIdZNode.path(), ClusterIdZNode.encode(cluster_id))
            return cluster_id
        except errors.NodeExistsError:
            existing = await self.get_cluster_id()
            if existing is None:
                raise errors.ZkError("/cluster/id vanished while reading it", ClusterIdZNode.path())
            return existing

    # ================================================================ brokers
    async def register_broker(self, info: BrokerInfo) -> int:
        """Create the ephemeral `/brokers/ids/<id>`; returns the broker epoch (czxid).
        An existing node is accepted only if our session owns it."""
        path = BrokerIdZNode.path(info.broker_id)
        data = BrokerIdZNode.encode(info)
        try:
            await self.zk.multi([CreateOp(path, b"", ephemeral=True), SetDataOp(path, data, 0)])
        except errors.NoNodeError:
            await self.create_recursive(BrokerIdsZNode.path(), throw_if_path_exists=False)
            return await self.register_broker(info)
        except errors.NodeExistsError:
            pass
        stat = await self.zk.exists(path)
        if stat is None:   # vanished between our create and read (old session expiring): retry
            return await self.register_broker(info)
        if stat.ephemeral_owner != self.zk.session_id:
            raise errors.BrokerIdInUseError(
                f"Error while creating ephemeral at {path}, node already exists and owner "
                f"'{stat.ephemeral_owner}' does not match current session '{self.zk.session_id}'",
                path)
        log.info("Registered broker %s at path %s with addresses: %s, czxid (broker epoch): %s",
                 info.broker_id, path, ",".join(e.connection_string() for e in info.endpoints),
                 stat.czxid)
        return stat.czxid

    async def update_broker_info(self, info: BrokerInfo) -> None:
        """Rewrite our registration in place (dynamic listener changes)."""
        await self.zk.set(BrokerIdZNode.path(info.broker_id), BrokerIdZNode.encode(info))

    async def get_broker(self, broker_id: int, watch: Watch | None = None) -> BrokerInfo | None:
        got = await self.zk.get_or_none(BrokerIdZNode.path(broker_id), watch)
        return BrokerIdZNode.decode(broker_id, got[0], got[1]) if got else None

    async def get_sorted_broker_ids(self, watch: Watch | None = None) -> list[int]:
        return sorted(int(c) for c in await self.get_children_sorted(BrokerIdsZNode.path(), watch))

    async def get_all_brokers(self, watch: Watch | None = None) -> list[BrokerInfo]:
        """Live brokers sorted by id, each with its epoch (czxid). `watch` is a child
        watch on `/brokers/ids`."""
        ids = await self.get_sorted_broker_ids(watch)
        infos = await asyncio.gather(*(self.get_broker(i) for i in ids))
        return [info for info in infos if info is not None]

    async def generate_broker_sequence_id(self) -> int:
        """Broker id generation: bump `/brokers/seqid`'s version (ids start at 1001)."""
        path = BrokerSequenceIdZNode.path()
        try:
            stat = await self.zk.set(path, b"")
        except errors.NoNodeError:
            await self.create_recursive(path, throw_if_path_exists=False)
            stat = await self.zk.set(path, b"")
        return stat.version + RESERVED_BROKER_MAX_ID

    # ================================================================ controller
    async def get_controller_id(self, watch: Watch | None = None) -> int | None:
        """Active controller's broker id. With `watch`, an exists-watch is left on
        `/controller` (fires on creation, data change and deletion)."""
        path = ControllerZNode.path()
        if watch is not None:
            if await self.zk.exists(path, watch) is None:
                return None
        got = await self.zk.get_or_none(path)
        return ControllerZNode.decode(got[0]) if got else None

    async def get_controller_epoch(self) -> ControllerEpoch | None:
        got = await self.zk.get_or_none(ControllerEpochZNode.path())
        return ControllerEpochZNode.decode(got[0], got[1]) if got else None

    async def create_controller_epoch_if_missing(self) -> ControllerEpoch:
        """`/controller_epoch` = "0" unless present (2.1+ behaviour)."""
        current = await self.get_controller_epoch()
        if current is not None:
            return current
        try:
            await self.zk.create(ControllerEpochZNode.path(), ControllerEpochZNode.encode(0))
        except errors.NodeExistsError:
            pass
        current = await self.get_controller_epoch()
        if current is None:
            raise errors.ZkError("/controller_epoch vanished", ControllerEpochZNode.path())
        return current

    async def register_controller_and_increment_controller_epoch(self, broker_id: int) -> ControllerEpoch:
        """Try to become controller: create `/controller` and bump the epoch in one multi.
        Returns the new (epoch, epoch zk version); raises ControllerMovedError if
        another broker won."""
        current = await self.create_controller_epoch_if_missing()
        new_epoch = current.epoch + 1
        ops = [CreateOp(ControllerZNode.path(), ControllerZNode.encode(broker_id, self._time_ms()),
                        ephemeral=True),
               SetDataOp(ControllerEpochZNode.path(), ControllerEpochZNode.encode(new_epoch),
                         current.zk_version)]
        try:
            results = await self.zk.multi(ops)
        except (errors.NodeExistsError, errors.BadVersionError) as exc:
            # Our own earlier attempt may have succeeded (a request retried after a connection
            # loss): `/controller` is then ours, created by this session in the same multi that
            # wrote the epoch now stored.
            got = await self.zk.get_or_none(ControllerZNode.path())
            epoch = await self.get_controller_epoch()
            if (got is not None and epoch is not None and ControllerZNode.decode(got[0]) == broker_id
                    and (epoch.epoch == new_epoch or got[1].ephemeral_owner == self.zk.session_id)):
                return epoch
            raise errors.ControllerMovedError(
                "Controller moved to another broker. Aborting controller startup procedure",
                ControllerZNode.path()) from exc
        stat: ZkStat = results[1]
        log.info("Broker %s won the controller election with epoch %s (epoch zkVersion %s)",
                 broker_id, new_epoch, stat.version)
        return ControllerEpoch(new_epoch, stat.version)

    async def delete_controller(self, controller_epoch_zk_version: int) -> None:
        """Resign deliberately: delete `/controller` (epoch-checked)."""
        try:
            await self.controller_multi(controller_epoch_zk_version, [DeleteOp(ControllerZNode.path())])
        except errors.NoNodeError:
            pass

    # ================================================================ topics
    async def get_all_topics(self, watch: Watch | None = None) -> list[str]:
        return await self.get_children_sorted(TopicsZNode.path(), watch)

    async def topic_exists(self, topic: str) -> bool:
        return await self.path_exists(TopicZNode.path(topic))

    async def create_topic_assignment(self, topic: str,
                                      assignment: Mapping[int, ReplicaAssignment | Sequence[int]],
                                      topic_id: str | None = None) -> None:
        """Create `/brokers/topics/<t>` (parents as needed); NodeExistsError if present."""
        await self.create_recursive(TopicZNode.path(topic), TopicZNode.encode(assignment, topic_id))

    async def set_topic_assignment(self, topic: str,
                                   assignment: Mapping[int, ReplicaAssignment | Sequence[int]],
                                   topic_id: str | None = None, *, expected_version: int = ANY_VERSION,
                                   controller_epoch_zk_version: int | None = None) -> int:
        """Rewrite a topic's assignment; epoch-checked when the controller writes.
        Returns the new znode version."""
        path = TopicZNode.path(topic)
        data = TopicZNode.encode(assignment, topic_id)
        if controller_epoch_zk_version is None:
            return (await self.zk.set(path, data, expected_version)).version
        results = await self.controller_multi(controller_epoch_zk_version,
                                              [SetDataOp(path, data, expected_version)])
        return results[0].version

    async def get_topic_assignment(self, topic: str, watch: Watch | None = None) -> TopicAssignment | None:
        got = await self.zk.get_or_none(TopicZNode.path(topic), watch)
        return TopicZNode.decode(topic, got[0], got[1]) if got else None

    async def get_topic_assignments(self, topics: Iterable[str]) -> dict[str, TopicAssignment]:
        """Assignments of the topics that exist."""
        names = list(topics)
        found = await asyncio.gather(*(self.get_topic_assignment(t) for t in names))
        return {t: a for t, a in zip(names, found) if a is not None}

    async def get_partitions_for_topics(self, topics: Iterable[str]) -> dict[str, list[int]]:
        return {t: sorted(a.partitions) for t, a in (await self.get_topic_assignments(topics)).items()}

    async def get_topic_partition_count(self, topic: str) -> int | None:
        assignment = await self.get_topic_assignment(topic)
        return len(assignment.partitions) if assignment else None

    async def get_all_partitions(self) -> set[TopicPartition]:
        assignments = await self.get_topic_assignments(await self.get_all_topics())
        return {TopicPartition(t, p) for t, a in assignments.items() for p in a.partitions}

    # ================================================================ partition states
    async def get_topic_partition_state(self, tp: TopicPartition) -> LeaderAndIsr | None:
        got = await self.zk.get_or_none(TopicPartitionStateZNode.path(tp.topic, tp.partition))
        return TopicPartitionStateZNode.decode(got[0], got[1]) if got else None

    async def get_topic_partition_states(self, partitions: Iterable[TopicPartition]
                                         ) -> dict[TopicPartition, LeaderAndIsr]:
        tps = list(partitions)
        get_many = getattr(self.zk, "get_many", None)
        if get_many is None:
            states = await asyncio.gather(*(self.get_topic_partition_state(tp) for tp in tps))
            return {tp: s for tp, s in zip(tps, states) if s is not None}
        got = await get_many([TopicPartitionStateZNode.path(tp.topic, tp.partition) for tp in tps])
        return {tp: TopicPartitionStateZNode.decode(g[0], g[1]) for tp, g in zip(tps, got) if g is not None}

    async def create_topic_partition_states(self, states: Mapping[TopicPartition, LeaderAndIsr],
                                            controller_epoch_zk_version: int
                                            ) -> dict[TopicPartition, LeaderAndIsr | Exception]:
        """Controller: create `partitions/`, `partitions/<p>/` and `state` for new
        partitions (parents' NODEEXISTS ignored). Per partition the created state
        (zk_version 0) or the error (NodeExistsError when it already exists).

        `partitions/` once per topic; then `partitions/<p>` and its `state` for up to
        `multi_batch_partitions` partitions in one epoch-checked multi (one request instead of
        two per partition). A batch that fails (a partition node that exists already, say)
        is done again partition by partition, so one failure costs only its own partition."""
        items = list(states.items())
        parents = await self.controller_multis(controller_epoch_zk_version, [
            [CreateOp(TopicPartitionsZNode.path(topic))] for topic in dict.fromkeys(tp.topic for tp, _ in items)])
        # NodeExists is fine; a missing topic znode shows again below, per partition.
        _raise_first_failure([o for o in parents if isinstance(o, _NOT_PER_PARTITION)])

        async def create_one(tp: TopicPartition, state: LeaderAndIsr) -> LeaderAndIsr | Exception:
            try:
                try:
                    await self.controller_multi(controller_epoch_zk_version,
                                                [CreateOp(TopicPartitionZNode.path(tp.topic, tp.partition))])
                except errors.NodeExistsError:
                    pass
                await self.controller_multi(controller_epoch_zk_version, [CreateOp(
                    TopicPartitionStateZNode.path(tp.topic, tp.partition),
                    TopicPartitionStateZNode.encode(state))])
            except _NOT_PER_PARTITION:
                raise
            except errors.ZkError as exc:
                return exc
            return _with_version(state, 0)

        size = max(1, self.multi_batch_partitions)
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        transactions: list[list[ZkOp]] = []
        for batch in batches:
            ops: list[ZkOp] = []
            for tp, state in batch:
                ops.append(CreateOp(TopicPartitionZNode.path(tp.topic, tp.partition)))
                ops.append(CreateOp(TopicPartitionStateZNode.path(tp.topic, tp.partition),
                                    TopicPartitionStateZNode.encode(state)))
            transactions.append(ops)
        outcomes = await self.controller_multis(controller_epoch_zk_version, transactions)
        _raise_first_failure([o for o in outcomes if isinstance(o, _NOT_PER_PARTITION)])
        out: dict[TopicPartition, LeaderAndIsr | Exception] = {}
        redo: list[tuple[TopicPartition, LeaderAndIsr]] = []
        for batch, outcome in zip(batches, outcomes):
            if isinstance(outcome, errors.ZkError):
                redo.extend(batch)           # e.g. one partition existed already: one by one
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                out.update((tp, _with_version(state, 0)) for tp, state in batch)
        if redo:
            singles = await asyncio.gather(*(create_one(tp, s) for tp, s in redo), return_exceptions=True)
            _raise_first_failure([o for o in singles if isinstance(o, BaseException)
                                  and not isinstance(o, errors.ZkError) or isinstance(o, _NOT_PER_PARTITION)])
            out.update((tp, outcome) for (tp, _), outcome in zip(redo, singles))   # type: ignore[misc]
        return {tp: out[tp] for tp, _ in items}

    async def update_leader_and_isr(self, states: Mapping[TopicPartition, LeaderAndIsr],
                                    controller_epoch_zk_version: int) -> UpdateLeaderAndIsrResult:
        """Controller: write each state conditionally on its `zk_version`, inside an
        epoch-checked multi. BADVERSION partitions are returned for retry; losing the
        epoch check raises ControllerMovedError.

        Up to `multi_batch_partitions` conditional writes share one multi (one request, one
        epoch check). When such a multi fails (a lost version race aborts all of it), its
        partitions are written again one multi each, so every partition gets its own answer."""
        async def update_one(tp: TopicPartition, state: LeaderAndIsr) -> LeaderAndIsr | Exception:
            path = TopicPartitionStateZNode.path(tp.topic, tp.partition)
            try:
                results = await self.controller_multi(controller_epoch_zk_version, [
                    SetDataOp(path, TopicPartitionStateZNode.encode(state), state.zk_version)])
            except _NOT_PER_PARTITION:
                raise
            except errors.ZkError as exc:
                return exc
            return _with_version(state, results[0].version)

        items = list(states.items())
        size = max(1, self.multi_batch_partitions)
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        transactions = [[SetDataOp(TopicPartitionStateZNode.path(tp.topic, tp.partition),
                                   TopicPartitionStateZNode.encode(state), state.zk_version)
                         for tp, state in batch] for batch in batches]
        outcomes = await self.controller_multis(controller_epoch_zk_version, transactions)
        _raise_first_failure([o for o in outcomes if isinstance(o, _NOT_PER_PARTITION)])
        written: dict[TopicPartition, LeaderAndIsr | Exception] = {}
        redo: list[tuple[TopicPartition, LeaderAndIsr]] = []
        for batch, outcome in zip(batches, outcomes):
            if isinstance(outcome, errors.ZkError):
                # A lost version race (or a vanished znode) aborted the whole multi: one by one.
                redo.extend(batch)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                written.update((tp, _with_version(state, stat.version))
                               for (tp, state), stat in zip(batch, outcome))
        if redo:
            singles = await asyncio.gather(*(update_one(tp, s) for tp, s in redo), return_exceptions=True)
            _raise_first_failure([o for o in singles if isinstance(o, BaseException)
                                  and not isinstance(o, errors.ZkError) or isinstance(o, _NOT_PER_PARTITION)])
            written.update((tp, outcome) for (tp, _), outcome in zip(redo, singles))   # type: ignore[misc]
        finished: dict[TopicPartition, LeaderAndIsr | Exception] = {}
        retry: list[TopicPartition] = []
        for tp, _ in items:
            outcome = written[tp]
            if isinstance(outcome, errors.BadVersionError):
                retry.append(tp)
            else:
                finished[tp] = outcome
        return UpdateLeaderAndIsrResult(finished, tuple(retry))

    async def conditional_update_partition_state(self, tp: TopicPartition, state: LeaderAndIsr
                                                 ) -> LeaderAndIsr:
        """Partition leader (pre-AlterIsr): write the state at `state.zk_version`. On
        BADVERSION, succeed only if the stored state already equals ours."""
        path = TopicPartitionStateZNode.path(tp.topic, tp.partition)
        try:
            stat = await self.zk.set(path, TopicPartitionStateZNode.encode(state), state.zk_version)
            return _with_version(state, stat.version)
        except errors.BadVersionError:
            stored = await self.get_topic_partition_state(tp)
            if stored is not None and _with_version(stored, state.zk_version) == state:
                return stored
            raise

    # ================================================================ ISR / log dir notifications
    async def propagate_isr_changes(self, partitions: Iterable[TopicPartition]) -> str:
        return await self.zk.create(IsrChangeNotificationSequenceZNode.path(),
                                    IsrChangeNotificationSequenceZNode.encode(partitions),
                                    sequence=True, makepath=True)

    async def get_all_isr_change_notifications(self, watch: Watch | None = None) -> list[str]:
        """Sequence numbers (10-digit suffixes) of pending notifications, sorted."""
        prefix = IsrChangeNotificationSequenceZNode.SEQUENCE_PREFIX
        children = await self.get_children_sorted(IsrChangeNotificationZNode.path(), watch)
        return [c[len(prefix):] for c in children if c.startswith(prefix)]

    async def get_partitions_from_isr_change_notifications(self, sequence_numbers: Iterable[str]
                                                           ) -> set[TopicPartition]:
        datas = await asyncio.gather(*(self.zk.get_or_none(IsrChangeNotificationSequenceZNode.path(s))
                                       for s in sequence_numbers))
        result: set[TopicPartition] = set()
        for got in datas:
            if got is not None:
                result |= IsrChangeNotificationSequenceZNode.decode(got[0])
        return result

    async def delete_isr_change_notifications(self, controller_epoch_zk_version: int,
                                              sequence_numbers: Iterable[str] | None = None) -> None:
        seqs = (list(sequence_numbers) if sequence_numbers is not None
                else await self.get_all_isr_change_notifications())
        await self._delete_checked([IsrChangeNotificationSequenceZNode.path(s) for s in seqs],
                                   controller_epoch_zk_version)

    async def propagate_log_dir_event(self, broker_id: int) -> str:
        return await self.zk.create(LogDirEventNotificationSequenceZNode.path(),
                                    LogDirEventNotificationSequenceZNode.encode(broker_id),
                                    sequence=True, makepath=True)

    async def get_all_log_dir_event_notifications(self, watch: Watch | None = None) -> list[str]:
        prefix = LogDirEventNotificationSequenceZNode.SEQUENCE_PREFIX
        children = await self.get_children_sorted(LogDirEventNotificationZNode.path(), watch)
        return [c[len(prefix):] for c in children if c.startswith(prefix)]

    async def get_broker_ids_from_log_dir_events(self, sequence_numbers: Iterable[str]) -> list[int]:
        datas = await asyncio.gather(*(self.zk.get_or_none(LogDirEventNotificationSequenceZNode.path(s))
                                       for s in sequence_numbers))
        ids = (LogDirEventNotificationSequenceZNode.decode(got[0]) for got in datas if got is not None)
        return [i for i in ids if i is not None]

    async def delete_log_dir_event_notifications(self, controller_epoch_zk_version: int,
                                                 sequence_numbers: Iterable[str] | None = None) -> None:
        seqs = (list(sequence_numbers) if sequence_numbers is not None
                else await self.get_all_log_dir_event_notifications())
        await self._delete_checked([LogDirEventNotificationSequenceZNode.path(s) for s in seqs],
                                   controller_epoch_zk_version)

    async def _delete_checked(self, paths: Iterable[str], controller_epoch_zk_version: int) -> None:
        async def one(path: str) -> None:
            try:
                await self.controller_multi(controller_epoch_zk_version, [DeleteOp(path)])
            except errors.NoNodeError:
                pass
        await asyncio.gather(*(one(p) for p in paths))

    # ================================================================ configs
    async def get_entity_config(self, entity_type: str, entity_name: str) -> dict[str, str]:
        data, _ = await self.get_data_and_version(ConfigEntityZNode.path(entity_type, entity_name))
        return ConfigEntityZNode.decode(data)

    async def get_entity_configs(self, entity_type: str, names: Iterable[str]) -> dict[str, dict[str, str]]:
        listed = list(names)
        configs = await asyncio.gather(*(self.get_entity_config(entity_type, n) for n in listed))
        return dict(zip(listed, configs))

    async def get_all_entities_with_config(self, entity_type: str) -> list[str]:
        return await self.get_children_sorted(ConfigEntityTypeZNode.path(entity_type))

    async def set_or_create_entity_config(self, entity_type: str, entity_name: str,
                                          config: Mapping[str, str]) -> None:
        """Last writer wins: setData any version, create on NONODE, set again on a race."""
        path = ConfigEntityZNode.path(entity_type, entity_name)
        data = ConfigEntityZNode.encode(config)
        try:
            await self.zk.set(path, data)
        except errors.NoNodeError:
            try:
                await self.create_recursive(path, data)
            except errors.NodeExistsError:
                await self.zk.set(path, data)

    async def create_config_change_notification(self, entity_path: str) -> str:
        """`/config/changes/config_change_##########` = {"version":2,"entity_path":...}."""
        return await self.zk.create(ConfigEntityChangeNotificationSequenceZNode.path(),
                                    ConfigEntityChangeNotificationSequenceZNode.encode(entity_path),
                                    sequence=True, makepath=True)

    async def get_config_change_notifications(self, watch: Watch | None = None) -> list[str]:
        """Child names under `/config/changes`, sorted (== by sequence number)."""
        return await self.get_children_sorted(ConfigEntityChangeNotificationZNode.path(), watch)

    async def delete_topic_config(self, topic: str, controller_epoch_zk_version: int) -> None:
        await self._delete_checked([ConfigEntityZNode.path(ConfigType.TOPIC, topic)],
                                   controller_epoch_zk_version)

    # ================================================================ topic deletion
    async def get_topic_deletions(self, watch: Watch | None = None) -> list[str]:
        return await self.get_children_sorted(DeleteTopicsZNode.path(), watch)

    async def is_topic_marked_for_deletion(self, topic: str) -> bool:
        return await self.path_exists(DeleteTopicsTopicZNode.path(topic))

    async def create_delete_topic_path(self, topic: str) -> None:
        """Mark for deletion; NodeExistsError if already marked."""
        await self.create_recursive(DeleteTopicsTopicZNode.path(topic))

    async def delete_topic_deletions(self, topics: Iterable[str], controller_epoch_zk_version: int) -> None:
        await self._delete_checked([DeleteTopicsTopicZNode.path(t) for t in topics],
                                   controller_epoch_zk_version)

    async def delete_topic_znode(self, topic: str, controller_epoch_zk_version: int) -> None:
        """Controller, when deletion completes: `/brokers/topics/<t>` recursively."""
        await self._delete_recursive_checked(TopicZNode.path(topic), controller_epoch_zk_version)

    # ================================================================ admin requests
    async def get_partition_reassignment(self, watch: Watch | None = None
                                         ) -> dict[TopicPartition, tuple[int, ...]] | None:
        """Pending `/admin/reassign_partitions` (None when absent). With `watch`, an
        exists-watch is left on the path."""
        path = ReassignPartitionsZNode.path()
        if watch is not None and await self.zk.exists(path, watch) is None:
            return None
        got = await self.zk.get_or_none(path)
        if got is None:
            return None
        try:
            return ReassignPartitionsZNode.decode(got[0])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("Ignoring undecodable %s: %s", path, exc)
            return {}

    async def create_partition_reassignment(self, reassignment: Mapping[TopicPartition, Sequence[int]]) -> None:
        await self.create_recursive(ReassignPartitionsZNode.path(),
                                    ReassignPartitionsZNode.encode(reassignment))

    async def set_or_delete_partition_reassignment(self, reassignment: Mapping[TopicPartition, Sequence[int]],
                                                   controller_epoch_zk_version: int) -> None:
        """Controller: rewrite the pending reassignment, deleting the znode once empty."""
        path = ReassignPartitionsZNode.path()
        if not reassignment:
            await self._delete_checked([path], controller_epoch_zk_version)
            return
        await self.controller_multi(controller_epoch_zk_version,
                                    [SetDataOp(path, ReassignPartitionsZNode.encode(reassignment))])

    async def get_preferred_replica_election(self, watch: Watch | None = None) -> frozenset[TopicPartition] | None:
        path = PreferredReplicaElectionZNode.path()
        if watch is not None and await self.zk.exists(path, watch) is None:
            return None
        got = await self.zk.get_or_none(path)
        return PreferredReplicaElectionZNode.decode(got[0]) if got else None

    async def create_preferred_replica_election(self, partitions: Iterable[TopicPartition]) -> None:
        """NodeExistsError when an election is already in progress."""
        await self.create_recursive(PreferredReplicaElectionZNode.path(),
                                    PreferredReplicaElectionZNode.encode(partitions))

    async def delete_preferred_replica_election(self, controller_epoch_zk_version: int) -> None:
        await self._delete_checked([PreferredReplicaElectionZNode.path()], controller_epoch_zk_version)

    # ================================================================ producer ids, features
    async def get_producer_id_block(self) -> tuple[ProducerIdBlock | None, int]:
        """(current block or None if never claimed, znode version)."""
        data, version = await self.get_data_and_version(LatestProducerIdBlockZNode.path())
        return LatestProducerIdBlockZNode.decode(data), version

    async def claim_producer_id_block(self, broker_id: int) -> ProducerIdBlock:
        """Claim the next block of 1000 producer ids with a conditional write."""
        path = LatestProducerIdBlockZNode.path()
        while True:
            current, version = await self.get_producer_id_block()
            if version == ANY_VERSION:
                await self.create_recursive(path, throw_if_path_exists=False)
                continue
            start = 0 if current is None else current.block_end + 1
            end = start + LatestProducerIdBlockZNode.BLOCK_SIZE - 1
            if end > 2**63 - 1:
                raise errors.ZkError("Have exhausted all producerIds.", path)
            block = ProducerIdBlock(broker_id, start, end)
            try:
                await self.zk.set(path, LatestProducerIdBlockZNode.encode(block), version)
                return block
            except errors.BadVersionError:
                stored, _ = await self.get_producer_id_block()
                if stored == block:
                    return block

    async def get_feature(self, watch: Watch | None = None) -> FeatureZNodeData | None:
        path = FeatureZNode.path()
        if watch is not None and await self.zk.exists(path, watch) is None:
            return None
        got = await self.zk.get_or_none(path)
        return FeatureZNode.decode(got[0], got[1]) if got else None

    async def create_or_update_feature(self, value: FeatureZNodeData) -> int:
        path = FeatureZNode.path()
        try:
            return (await self.zk.set(path, FeatureZNode.encode(value))).version
        except errors.NoNodeError:
            await self.create_recursive(path, FeatureZNode.encode(value))
            return 0

    # ================================================================ legacy consumer groups
    async def register_consumer(self, group: str, consumer_id: str, registration: ConsumerRegistration) -> None:
        await self.create_ephemeral_expect_conflict(ConsumerIdZNode.path(group, consumer_id),
                                                    ConsumerIdZNode.encode(registration))

    async def get_consumers_in_group(self, group: str, watch: Watch | None = None) -> list[str]:
        return await self.get_children_sorted(ConsumerIdsZNode.path(group), watch)

    async def get_consumer_registration(self, group: str, consumer_id: str) -> ConsumerRegistration | None:
        got = await self.zk.get_or_none(ConsumerIdZNode.path(group, consumer_id))
        return ConsumerIdZNode.decode(got[0]) if got else None

    async def claim_partition_ownership(self, group: str, tp: TopicPartition, thread_id: str) -> bool:
        """Create the ephemeral owner node; False if another thread still owns it."""
        try:
            await self.create_ephemeral_expect_conflict(
                ConsumerOwnerZNode.path(group, tp.topic, tp.partition), ConsumerOwnerZNode.encode(thread_id))
            return True
        except errors.NodeExistsError:
            return False

    async def get_partition_owner(self, group: str, tp: TopicPartition) -> str | None:
        got = await self.zk.get_or_none(ConsumerOwnerZNode.path(group, tp.topic, tp.partition))
        return ConsumerOwnerZNode.decode(got[0]) if got else None

    async def release_partition_ownership(self, group: str, tp: TopicPartition) -> None:
        try:
            await self.zk.delete(ConsumerOwnerZNode.path(group, tp.topic, tp.partition))
        except errors.NoNodeError:
            pass

    # ================================================================ legacy consumer offsets
    async def get_consumer_offset(self, group: str, tp: TopicPartition) -> int | None:
        data, _ = await self.get_data_and_version(ConsumerOffsetZNode.path(group, tp.topic, tp.partition))
        return ConsumerOffsetZNode.decode(data)

    async def set_or_create_consumer_offset(self, group: str, tp: TopicPartition, offset: int) -> None:
        """OffsetCommit v0: setData, creating parents on NONODE."""
        path = ConsumerOffsetZNode.path(group, tp.topic, tp.partition)
        data = ConsumerOffsetZNode.encode(offset)
        try:
            await self.zk.set(path, data)
        except errors.NoNodeError:
            try:
                await self.create_recursive(path, data)
            except errors.NodeExistsError:
                await self.zk.set(path, data)


# Failures of the request or session rather than of one partition: raised to the caller (which
# retries after the reconnection or resigns), never reported as one partition's outcome.
_NOT_PER_PARTITION = (errors.ControllerMovedError, errors.ConnectionLossError, errors.ZkTimeoutError,
                      errors.SessionExpiredError, errors.ZkClientClosedError)


def _controller_multi_error(exc: errors.ZkError, controller_epoch_zk_version: int) -> errors.ZkError:
    """The error of an epoch-checked multi as its caller sees it: the check (op 0) failing is
    ControllerMovedError; any other op's error keeps its `op_index`, counted without the check."""
    index = getattr(exc, "op_index", None)
    if index == 0 and isinstance(exc, (errors.BadVersionError, errors.NoNodeError)):
        moved = errors.ControllerMovedError(
            f"Controller epoch zkVersion check fails. Expected zkVersion = {controller_epoch_zk_version}",
            ControllerEpochZNode.path())
        moved.__cause__ = exc
        return moved
    if index is not None:
        exc.op_index = index - 1  # type: ignore[attr-defined]
    return exc


def _raise_first_failure(outcomes: Sequence[Any]) -> None:
    """After a gather(return_exceptions=True) of batches: a lost epoch first, then any other failure."""
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    for failure in failures:
        if isinstance(failure, errors.ControllerMovedError):
            raise failure
    if failures:
        raise failures[0]


def _with_version(state: LeaderAndIsr, zk_version: int) -> LeaderAndIsr:
    return LeaderAndIsr(state.leader, state.leader_epoch, tuple(state.isr), state.controller_epoch,
                        zk_version)


__all__ = ["KafkaZkClient", "UpdateLeaderAndIsrResult", "generate_cluster_id", "generate_topic_id",
           "RESERVED_BROKER_MAX_ID",
           "sequence_number"]
