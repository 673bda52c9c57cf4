"""GroupCoordinator: membership, rebalances and committed offsets of the groups this broker leads.

The coordinator owns the groups whose `__consumer_offsets` partition this broker leads. It
follows Kafka 2.8's GroupCoordinator: JoinGroup (with the v4+ member-id round trip and v5+
static membership), SyncGroup, Heartbeat, LeaveGroup, OffsetCommit/OffsetFetch,
DescribeGroups, ListGroups, DeleteGroups and OffsetDelete, plus loading a partition's groups
when it becomes leader and dropping them when it stops being leader.

Everything runs on the event loop. Answers that wait (a join that waits for the rebalance, a
sync that waits for the leader's assignment, a commit waiting for the append) are futures.
Collaborators arrive as constructor arguments typed with small Protocols (STYLE.md).
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from kafkapy.common.clock import Clock
from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import LeaveMember, TopicPartition
from kafkapy.coordinator.group.delayed import DelayedJoin, InitialDelayedJoin
from kafkapy.coordinator.group.group_metadata import (
    CONSUMER_PROTOCOL_TYPE,
    GroupMetadata,
    GroupState,
    OffsetAndMetadata,
)
from kafkapy.coordinator.group.member_metadata import NEW_MEMBER_JOIN_TIMEOUT_MS, MemberMetadata
from kafkapy.coordinator.group.metadata_manager import (
    GROUP_METADATA_TOPIC,
    OffsetsReplay,
    build_records,
    group_from_value,
    group_metadata_key,
    group_metadata_value,
    offset_commit_key,
    offset_commit_value,
    partition_for,
)
from kafkapy.protocol.records.deep import records_of
from kafkapy.protocol.records.shallow import iter_batches

log = logging.getLogger(__name__)

UNKNOWN_MEMBER_ID = ""
NO_GENERATION = -1
#: While loading a partition, give the loop back after about this many records (~10-20 ms of work).
LOAD_YIELD_RECORDS = 2000


class ReplicaManagerLike(Protocol):
    """What the coordinator needs from the broker's ReplicaManager."""

    all_partitions: dict[TopicPartition, Any]
    leadership_change_listeners: list[Callable[[list[Any], list[Any]], None]]
    stop_listeners: list[Callable[[list[TopicPartition]], None]]

    def append_records(self, timeout_ms: int, required_acks: int, internal_topics_allowed: bool,
                       entries: Iterable[tuple[TopicPartition, Any]], respond: Callable[[dict], Any]) -> Any: ...


class TaskSpawner(Protocol):
    def spawn(self, name: str, coro: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """The broker properties the coordinator reads (Kafka's names, `_ms` units)."""

    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1800000
    group_initial_rebalance_delay_ms: int = 3000
    group_max_size: int = 2 ** 31 - 1
    offset_metadata_max_bytes: int = 4096
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000
    offsets_retention_check_interval_ms: int = 600000
    offsets_commit_timeout_ms: int = 5000
    offsets_commit_required_acks: int = -1
    offsets_topic_num_partitions: int = 50
    offsets_topic_compression_codec: int = 0
    offsets_load_buffer_size: int = 5 * 1024 * 1024

    @classmethod
    def from_broker_config(cls, config: Any) -> "GroupConfig":
        g = config.get
        return cls(
            group_min_session_timeout_ms=int(g("group.min.session.timeout.ms")),
            group_max_session_timeout_ms=int(g("group.max.session.timeout.ms")),
            group_initial_rebalance_delay_ms=int(g("group.initial.rebalance.delay.ms")),
            group_max_size=int(g("group.max.size")),
            offset_metadata_max_bytes=int(g("offset.metadata.max.bytes")),
            offsets_retention_ms=int(g("offsets.retention.minutes")) * 60_000,
            offsets_retention_check_interval_ms=int(g("offsets.retention.check.interval.ms")),
            offsets_commit_timeout_ms=int(g("offsets.commit.timeout.ms")),
            offsets_commit_required_acks=int(g("offsets.commit.required.acks")),
            offsets_topic_num_partitions=int(g("offsets.topic.num.partitions")),
            offsets_topic_compression_codec=int(g("offsets.topic.compression.codec")),
            offsets_load_buffer_size=int(g("offsets.load.buffer.size")),
        )


@dataclass(frozen=True, slots=True)
class JoinGroupResult:
    error: int
    member_id: str = UNKNOWN_MEMBER_ID
    generation_id: int = NO_GENERATION
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str = ""
    members: tuple[tuple[str, str | None, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class SyncGroupResult:
    error: int
    assignment: bytes = b""
    protocol_type: str | None = None
    protocol_name: str | None = None


@dataclass(frozen=True, slots=True)
class MemberSummary:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupSummary:
    error: int
    state: str
    protocol_type: str
    protocol: str
    members: tuple[MemberSummary, ...] = ()


@dataclass
class _PartitionState:
    loading: bool = True
    epoch: int = 0
    groups: set[str] = field(default_factory=set)


def _append_error_to_commit_error(code: int) -> int:
    if code in (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NOT_ENOUGH_REPLICAS,
                ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.REQUEST_TIMED_OUT):
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if code in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.KAFKA_STORAGE_ERROR):
        return ErrorCode.NOT_COORDINATOR
    if code in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.INVALID_FETCH_SIZE):
        return ErrorCode.INVALID_COMMIT_OFFSET_SIZE
    return code


class GroupCoordinator:
    """Kafka's group coordinator for the `__consumer_offsets` partitions this broker leads."""

    def __init__(self, broker_id: int, config: GroupConfig, replica_manager: ReplicaManagerLike, clock: Clock,
                 tasks: TaskSpawner, *, offsets_partition_count: Callable[[], int | None] | None = None) -> None:
        self.broker_id = broker_id
        self.config = config
        self.replica_manager = replica_manager
        self.clock = clock
        self.tasks = tasks
        self._partition_count_fn = offsets_partition_count
        self.groups: dict[str, GroupMetadata] = {}
        self.partitions: dict[int, _PartitionState] = {}
        self._pending_timers: dict[tuple[str, str], Any] = {}
        self.logger = logging.LoggerAdapter(log, {})
        self.started = False

    # ================================================================== lifecycle
    def startup(self) -> None:
        """Listen for leadership of `__consumer_offsets` partitions."""
        self.replica_manager.leadership_change_listeners.append(self.on_leadership_change)
        self.replica_manager.stop_listeners.append(self.on_stop_replicas)
        self.started = True
        log.info("[GroupCoordinator %d]: Startup complete.", self.broker_id)
        for tp, partition in list(self.replica_manager.all_partitions.items()):
            if tp.topic == GROUP_METADATA_TOPIC and getattr(partition, "is_leader", False):
                self.on_elected(tp.partition, getattr(partition, "leader_epoch", 0))

    def shutdown(self) -> None:
        for index in list(self.partitions):
            self.on_resigned(index)
        self.started = False
        log.info("[GroupCoordinator %d]: Shutdown complete.", self.broker_id)

    def on_leadership_change(self, leaders: list[Any], followers: list[Any]) -> None:
        for p in leaders:
            tp = p.topic_partition
            if tp.topic == GROUP_METADATA_TOPIC:
                self.on_elected(tp.partition, p.leader_epoch)
        for p in followers:
            tp = p.topic_partition
            if tp.topic == GROUP_METADATA_TOPIC:
                self.on_resigned(tp.partition)

    def on_stop_replicas(self, stopped: list[TopicPartition]) -> None:
        for tp in stopped:
            if tp.topic == GROUP_METADATA_TOPIC:
                self.on_resigned(tp.partition)

    # ================================================================== partitions
    def partition_count(self) -> int:
        if self._partition_count_fn is not None:
            n = self._partition_count_fn()
            if n:
                return n
        return self.config.offsets_topic_num_partitions

    def partition_for(self, group_id: str) -> int:
        return partition_for(group_id, self.partition_count())

    def _group_status_error(self, group_id: str) -> int | None:
        state = self.partitions.get(self.partition_for(group_id))
        if state is None:
            return ErrorCode.NOT_COORDINATOR
        if state.loading:
            return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        return None

    def _validate(self, group_id: str | None, allow_empty: bool = False) -> int | None:
        if group_id is None or (not allow_empty and group_id == ""):
            return ErrorCode.INVALID_GROUP_ID
        return self._group_status_error(group_id)

    def on_elected(self, index: int, epoch: int) -> None:
        current = self.partitions.get(index)
        if current is not None:
            # Still (or again) the leader, e.g. a new leader epoch after an ISR change: the groups in
            # memory are current; Kafka keeps them too.
            current.epoch = max(current.epoch, epoch)
            return
        state = _PartitionState(loading=True, epoch=epoch)
        self.partitions[index] = state
        log.info("[GroupMetadataManager brokerId=%d] Scheduling loading of offsets and group metadata from "
                 "__consumer_offsets-%d for epoch %d", self.broker_id, index, epoch)
        self.tasks.spawn(f"group-metadata-load-{index}", self._load_partition(index, state))

    def on_resigned(self, index: int) -> None:
        if index in self.partitions:
            self._unload(index)
            log.info("[GroupMetadataManager brokerId=%d] Unloaded groups of __consumer_offsets-%d",
                     self.broker_id, index)

    def _unload(self, index: int) -> None:
        state = self.partitions.pop(index, None)
        if state is None:
            return
        for gid in list(state.groups):
            group = self.groups.pop(gid, None)
            if group is None:
                continue
            if isinstance(group.delayed_join, DelayedJoin):
                group.delayed_join.cancel()
            for member in group.members.values():
                member.cancel_heartbeat()
                self._invoke_join(group, member, JoinGroupResult(ErrorCode.NOT_COORDINATOR, member.member_id))
                self._invoke_sync(member, SyncGroupResult(ErrorCode.NOT_COORDINATOR))
            for mid in list(group.pending_members):
                self._cancel_pending_timer(gid, mid)
            group.state = GroupState.DEAD

    async def _load_partition(self, index: int, state: _PartitionState) -> None:
        tp = TopicPartition(GROUP_METADATA_TOPIC, index)
        start = self.clock.monotonic_ms()
        replay = OffsetsReplay()
        partition = self.replica_manager.all_partitions.get(tp)
        lg = getattr(partition, "log", None)
        if lg is not None:
            offset = lg.log_start_offset
            end = lg.log_end_offset
            while offset < end:
                if self.partitions.get(index) is not state:
                    return
                info = lg.read(offset, self.config.offsets_load_buffer_size, None, True)
                data = info.records.read()
                if not data:
                    break
                progressed = False
                since_yield = 0
                for batch in iter_batches(data):
                    progressed = True
                    offset = batch.next_offset
                    if batch.is_control or batch.is_transactional:
                        continue
                    for rec in records_of(data, batch):
                        try:
                            replay.apply(rec.key, rec.value)
                        except Exception:   # one damaged record must not stop the load
                            log.warning("Skipping an undecodable record at offset %d of %s", rec.offset, tp,
                                        exc_info=True)
                    since_yield += batch.last_offset_delta + 1
                    if since_yield >= LOAD_YIELD_RECORDS:
                        since_yield = 0
                        await asyncio.sleep(0)      # other requests run between slices of the load
                        if self.partitions.get(index) is not state:
                            return
                if not progressed:
                    break
                await asyncio.sleep(0)
        if self.partitions.get(index) is not state:
            return
        now = self.clock.now_ms()
        loaded = 0
        for gid, value in replay.groups.items():
            group = group_from_value(gid, value, now)
            group.offsets = replay.offsets.pop(gid, {})
            self._install_loaded_group(state, group)
            loaded += 1
        for gid, offsets in replay.offsets.items():
            if not offsets:
                continue
            group = GroupMetadata(gid, GroupState.EMPTY, now)
            group.offsets = offsets
            self._install_loaded_group(state, group)
            loaded += 1
        state.loading = False
        log.info("[GroupMetadataManager brokerId=%d] Finished loading offsets and group metadata from "
                 "__consumer_offsets-%d in %d milliseconds (%d groups)", self.broker_id, index,
                 self.clock.monotonic_ms() - start, loaded)

    def _install_loaded_group(self, state: _PartitionState, group: GroupMetadata) -> None:
        existing = self.groups.get(group.group_id)
        if existing is not None:
            # A group created while loading (a simple commit) keeps its newer offsets.
            for tp, om in group.offsets.items():
                existing.offsets.setdefault(tp, om)
            return
        self.groups[group.group_id] = group
        state.groups.add(group.group_id)
        for member in group.members.values():
            self._schedule_heartbeat(group, member, member.session_timeout_ms)

    def _add_group(self, group: GroupMetadata) -> GroupMetadata:
        existing = self.groups.get(group.group_id)
        if existing is not None:
            return existing
        self.groups[group.group_id] = group
        state = self.partitions.get(self.partition_for(group.group_id))
        if state is not None:
            state.groups.add(group.group_id)
        return group

    def _remove_group(self, group: GroupMetadata) -> None:
        if self.groups.get(group.group_id) is group:
            del self.groups[group.group_id]
        state = self.partitions.get(self.partition_for(group.group_id))
        if state is not None:
            state.groups.discard(group.group_id)

    # ================================================================== appends
    def _append(self, group_id: str, entries: list[tuple[bytes, bytes | None]], on_done: Callable[[int], None],
                required_acks: int | None = None) -> None:
        tp = TopicPartition(GROUP_METADATA_TOPIC, self.partition_for(group_id))
        records = build_records(entries, self.clock.now_ms(), self.config.offsets_topic_compression_codec)
        acks = self.config.offsets_commit_required_acks if required_acks is None else required_acks

        def respond(statuses: dict) -> int:
            status = statuses.get(tp)
            code = status.error_code if status is not None else ErrorCode.UNKNOWN_SERVER_ERROR
            if code != ErrorCode.NONE:
                log.info("[GroupMetadataManager brokerId=%d] Appending %d records of group %s to %s failed with "
                         "error code %d", self.broker_id, len(entries), group_id, tp, code)
            return code

        try:
            result = self.replica_manager.append_records(self.config.offsets_commit_timeout_ms, acks, True,
                                                         [(tp, records)], respond)
        except Exception:
            log.error("Appending to %s for group %s failed", tp, group_id, exc_info=True)
            on_done(ErrorCode.UNKNOWN_SERVER_ERROR)
            return
        if isinstance(result, asyncio.Future):
            def done(fut: asyncio.Future) -> None:
                if fut.cancelled():
                    on_done(ErrorCode.NOT_COORDINATOR)
                elif fut.exception() is not None:
                    log.error("Appending to %s for group %s failed", tp, group_id, exc_info=fut.exception())
                    on_done(ErrorCode.UNKNOWN_SERVER_ERROR)
                else:
                    on_done(fut.result())
            result.add_done_callback(done)
        else:
            on_done(result)

    def _store_group(self, group: GroupMetadata, assignment: dict[str, bytes], on_done: Callable[[int], None]
                     ) -> None:
        entries = [(group_metadata_key(group.group_id), group_metadata_value(group, assignment))]

        def done(code: int) -> None:
            if code != ErrorCode.NONE:
                log.warning("Failed to write the metadata of group %s generation %d: error %d", group.group_id,
                            group.generation_id, code)
            on_done(_append_error_to_commit_error(code))
        self._append(group.group_id, entries, done)

    # ================================================================== heartbeats
    def _schedule_heartbeat(self, group: GroupMetadata, member: MemberMetadata, timeout_ms: int) -> None:
        member.cancel_heartbeat()
        member.heartbeat_deadline_ms = self.clock.monotonic_ms() + timeout_ms
        member.heartbeat_timer = self.clock.call_later(timeout_ms, self._heartbeat_expired, group, member)

    def _heartbeat_expired(self, group: GroupMetadata, member: MemberMetadata) -> None:
        member.heartbeat_timer = None
        if self.groups.get(group.group_id) is not group or group.members.get(member.member_id) is not member:
            return
        if not member.is_new and (member.is_awaiting_join or member.is_awaiting_sync):
            # Waiting for the rebalance counts as alive; look again one session later.
            self._schedule_heartbeat(group, member, member.session_timeout_ms)
            return
        log.info("Member %s in group %s has failed, removing it from the group", member.member_id,
                 group.group_id)
        self._remove_member_and_update_group(group, member)

    def _schedule_pending_timer(self, group: GroupMetadata, member_id: str, timeout_ms: int) -> None:
        self._cancel_pending_timer(group.group_id, member_id)
        self._pending_timers[(group.group_id, member_id)] = self.clock.call_later(
            timeout_ms, self._pending_expired, group, member_id)

    def _cancel_pending_timer(self, group_id: str, member_id: str) -> None:
        timer = self._pending_timers.pop((group_id, member_id), None)
        if timer is not None:
            timer.cancel()

    def _pending_expired(self, group: GroupMetadata, member_id: str) -> None:
        self._pending_timers.pop((group.group_id, member_id), None)
        if member_id in group.pending_members:
            log.info("Pending member %s in group %s has been removed after session timeout expiration.",
                     member_id, group.group_id)
            self._remove_pending_member_and_update_group(group, member_id)

    # ================================================================== callbacks
    def _invoke_join(self, group: GroupMetadata, member: MemberMetadata, result: JoinGroupResult) -> None:
        cb = member.awaiting_join
        if cb is not None:
            group.set_awaiting_join(member, None)
            member.is_new = False
            cb(result)

    @staticmethod
    def _invoke_sync(member: MemberMetadata, result: SyncGroupResult) -> None:
        cb = member.awaiting_sync
        if cb is not None:
            member.awaiting_sync = None
            cb(result)

    @staticmethod
    def _future_callback(fut: asyncio.Future) -> Callable[[Any], None]:
        def cb(result: Any) -> None:
            if not fut.done():
                fut.set_result(result)
        return cb

    # ================================================================== JoinGroup
    def handle_join_group(self, group_id: str, member_id: str, group_instance_id: str | None,
                          require_known_member_id: bool, client_id: str, client_host: str,
                          rebalance_timeout_ms: int, session_timeout_ms: int, protocol_type: str,
                          protocols: list[tuple[str, bytes]]) -> asyncio.Future:
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        respond = self._future_callback(fut)
        error = self._validate(group_id)
        if error is not None:
            respond(JoinGroupResult(error, member_id))
            return fut
        cfg = self.config
        if not cfg.group_min_session_timeout_ms <= session_timeout_ms <= cfg.group_max_session_timeout_ms:
            respond(JoinGroupResult(ErrorCode.INVALID_SESSION_TIMEOUT, member_id))
            return fut
        if rebalance_timeout_ms < 0:
            rebalance_timeout_ms = session_timeout_ms
        is_unknown = member_id == UNKNOWN_MEMBER_ID
        group = self.groups.get(group_id)
        if group is None:
            if not is_unknown:
                respond(JoinGroupResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id))
                return fut
            group = self._add_group(GroupMetadata(group_id, GroupState.EMPTY, self.clock.now_ms()))
        if not group.has(member_id) and not group.is_pending_member(member_id) and \
                not group.has_static_member(group_instance_id) and group.size >= cfg.group_max_size:
            respond(JoinGroupResult(ErrorCode.GROUP_MAX_SIZE_REACHED, member_id))
            return fut
        if is_unknown:
            self._join_unknown_member(group, group_instance_id, require_known_member_id, client_id, client_host,
                                      rebalance_timeout_ms, session_timeout_ms, protocol_type, protocols, respond)
        else:
            self._join_known_member(group, member_id, group_instance_id, client_id, client_host,
                                    rebalance_timeout_ms, session_timeout_ms, protocol_type, protocols, respond)
        if group.is_state(GroupState.PREPARING_REBALANCE) and isinstance(group.delayed_join, DelayedJoin):
            group.delayed_join.try_complete()
        return fut

    def _join_unknown_member(self, group: GroupMetadata, instance_id: str | None, require_known: bool,
                             client_id: str, client_host: str, rebalance_timeout_ms: int, session_timeout_ms: int,
                             protocol_type: str, protocols: list[tuple[str, bytes]],
                             respond: Callable[[Any], None]) -> None:
        if group.is_state(GroupState.DEAD):
            respond(JoinGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE))
            return
        if not group.supports_protocols(protocol_type, [n for n, _ in protocols]):
            respond(JoinGroupResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
            return
        new_id = f"{instance_id if instance_id is not None else client_id}-{uuid.uuid4()}"
        if instance_id is not None:
            old_id = group.static_member_id(instance_id)
            if old_id is not None:
                self._update_static_member_and_rebalance(group, old_id, new_id, protocols, respond)
                return
            self._add_member_and_rebalance(group, new_id, instance_id, client_id, client_host, rebalance_timeout_ms,
                                           session_timeout_ms, protocol_type, protocols, respond)
            return
        if require_known:
            group.pending_members.add(new_id)
            self._schedule_pending_timer(group, new_id, session_timeout_ms)
            respond(JoinGroupResult(ErrorCode.MEMBER_ID_REQUIRED, new_id))
            return
        self._add_member_and_rebalance(group, new_id, None, client_id, client_host, rebalance_timeout_ms,
                                       session_timeout_ms, protocol_type, protocols, respond)

    def _join_known_member(self, group: GroupMetadata, member_id: str, instance_id: str | None, client_id: str,
                           client_host: str, rebalance_timeout_ms: int, session_timeout_ms: int,
                           protocol_type: str, protocols: list[tuple[str, bytes]],
                           respond: Callable[[Any], None]) -> None:
        if group.is_state(GroupState.DEAD):
            respond(JoinGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id))
            return
        if not group.supports_protocols(protocol_type, [n for n, _ in protocols]):
            respond(JoinGroupResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id))
            return
        if group.is_pending_member(member_id):
            self._cancel_pending_timer(group.group_id, member_id)
            self._add_member_and_rebalance(group, member_id, instance_id, client_id, client_host,
                                           rebalance_timeout_ms, session_timeout_ms, protocol_type, protocols,
                                           respond)
            return
        if group.is_static_member_fenced(member_id, instance_id):
            respond(JoinGroupResult(ErrorCode.FENCED_INSTANCE_ID, member_id))
            return
        if not group.has(member_id):
            respond(JoinGroupResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id))
            return
        member = group.get(member_id)
        state = group.state
        if state is GroupState.PREPARING_REBALANCE:
            self._update_member_and_rebalance(group, member, rebalance_timeout_ms, session_timeout_ms, protocols,
                                              respond)
        elif state is GroupState.COMPLETING_REBALANCE:
            if member.matches(protocols):
                respond(JoinGroupResult(
                    ErrorCode.NONE, member_id, group.generation_id, group.protocol_type, group.protocol_name,
                    group.leader_id or "",
                    tuple(group.current_member_metadata()) if group.is_leader(member_id) else ()))
            else:
                self._update_member_and_rebalance(group, member, rebalance_timeout_ms, session_timeout_ms,
                                                  protocols, respond)
        elif state is GroupState.STABLE:
            if group.is_leader(member_id) or not member.matches(protocols):
                self._update_member_and_rebalance(group, member, rebalance_timeout_ms, session_timeout_ms,
                                                  protocols, respond)
            else:
                respond(JoinGroupResult(ErrorCode.NONE, member_id, group.generation_id, group.protocol_type,
                                        group.protocol_name, group.leader_id or "", ()))
        else:
            respond(JoinGroupResult(ErrorCode.UNKNOWN_MEMBER_ID, member_id))

    def _add_member_and_rebalance(self, group: GroupMetadata, member_id: str, instance_id: str | None,
                                  client_id: str, client_host: str, rebalance_timeout_ms: int,
                                  session_timeout_ms: int, protocol_type: str, protocols: list[tuple[str, bytes]],
                                  respond: Callable[[Any], None]) -> None:
        member = MemberMetadata(member_id, group.group_id, instance_id, client_id, client_host,
                                rebalance_timeout_ms, session_timeout_ms, protocol_type, protocols)
        member.is_new = True
        if group.is_state(GroupState.PREPARING_REBALANCE) and group.generation_id == 0:
            group.new_member_added = True
        member.awaiting_join = respond
        group.add(member)
        self._schedule_heartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS)
        self._maybe_prepare_rebalance(group, f"Adding new member {member_id} with group instance id "
                                             f"{instance_id}")

    def _update_static_member_and_rebalance(self, group: GroupMetadata, old_id: str, new_id: str,
                                            protocols: list[tuple[str, bytes]], respond: Callable[[Any], None]
                                            ) -> None:
        old = group.get(old_id)
        self._invoke_join(group, old, JoinGroupResult(ErrorCode.FENCED_INSTANCE_ID, old_id))
        self._invoke_sync(old, SyncGroupResult(ErrorCode.FENCED_INSTANCE_ID))
        instance_id = old.group_instance_id
        assert instance_id is not None
        member = group.replace_static_member(instance_id, old_id, new_id)
        self._schedule_heartbeat(group, member, member.session_timeout_ms)
        if group.is_state(GroupState.STABLE) and member.matches(protocols):
            # Same subscription: the returning instance takes its old place without a rebalance, once
            # the group with its new member id is stored.
            generation = group.generation_id

            def stored(code: int) -> None:
                if code != ErrorCode.NONE:
                    respond(JoinGroupResult(code, new_id))
                    return
                respond(JoinGroupResult(ErrorCode.NONE, new_id, generation, group.protocol_type,
                                        group.protocol_name, group.leader_id or "",
                                        tuple(group.current_member_metadata()) if group.is_leader(new_id) else ()))
            self._store_group(group, {m.member_id: m.assignment for m in group.members.values()}, stored)
            return
        self._update_member_and_rebalance(group, member, member.rebalance_timeout_ms, member.session_timeout_ms,
                                          protocols, respond)

    def _update_member_and_rebalance(self, group: GroupMetadata, member: MemberMetadata, rebalance_timeout_ms: int,
                                     session_timeout_ms: int, protocols: list[tuple[str, bytes]],
                                     respond: Callable[[Any], None]) -> None:
        group.update_member_protocols(member, protocols)
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        group.set_awaiting_join(member, respond)
        self._maybe_prepare_rebalance(group, f"Updating metadata for member {member.member_id}")

    def _maybe_prepare_rebalance(self, group: GroupMetadata, reason: str) -> None:
        if group.can_rebalance():
            self._prepare_rebalance(group, reason)

    def _prepare_rebalance(self, group: GroupMetadata, reason: str) -> None:
        if group.is_state(GroupState.COMPLETING_REBALANCE):
            self._reset_and_propagate_assignment_error(group, ErrorCode.REBALANCE_IN_PROGRESS)
        if isinstance(group.delayed_join, DelayedJoin):
            group.delayed_join.cancel()
        now = self.clock.now_ms()
        if group.is_state(GroupState.EMPTY):
            delay = self.config.group_initial_rebalance_delay_ms
            delayed: DelayedJoin = InitialDelayedJoin(
                self.clock, group, delay, max(group.rebalance_timeout_ms() - delay, 0), delay, self._on_complete_join)
        else:
            delayed = DelayedJoin(self.clock, group, group.rebalance_timeout_ms(), self._on_complete_join)
        old_state = group.state
        group.transition_to(GroupState.PREPARING_REBALANCE, now)
        group.delayed_join = delayed
        log.info("[GroupCoordinator %d]: Preparing to rebalance group %s in state %s with old generation %d "
                 "(__consumer_offsets-%d) (reason: %s)", self.broker_id, group.group_id, old_state.value,
                 group.generation_id, self.partition_for(group.group_id), reason)
        delayed.try_complete()

    def _on_complete_join(self, group: GroupMetadata) -> None:
        if group.delayed_join is not None and getattr(group.delayed_join, "group", None) is group:
            group.delayed_join = None
        if self.groups.get(group.group_id) is not group or not group.is_state(GroupState.PREPARING_REBALANCE):
            return
        for member in group.not_yet_rejoined_members():
            log.info("[GroupCoordinator %d]: Member %s of group %s did not rejoin in time, removing it",
                     self.broker_id, member.member_id, group.group_id)
            group.remove(member.member_id)
        # Pending members (MEMBER_ID_REQUIRED answered, rejoin not yet seen) stay pending, as in Kafka:
        # their rejoin with the given id is accepted and triggers the next rebalance; unused ids expire
        # with their session timer. Dropping them here answered that rejoin UNKNOWN_MEMBER_ID and cost
        # each such client a reset and a ~3 s back-off before it could join.
        now = self.clock.now_ms()
        group.init_next_generation(now)
        if group.is_state(GroupState.EMPTY):
            log.info("[GroupCoordinator %d]: Group %s with generation %d is now empty (__consumer_offsets-%d)",
                     self.broker_id, group.group_id, group.generation_id, self.partition_for(group.group_id))

            def stored(code: int) -> None:
                if code != ErrorCode.NONE:
                    log.warning("Failed to write empty metadata for group %s: error %d", group.group_id, code)
            self._store_group(group, {}, stored)
            return
        log.info("[GroupCoordinator %d]: Stabilized group %s generation %d (__consumer_offsets-%d) with %d members",
                 self.broker_id, group.group_id, group.generation_id, self.partition_for(group.group_id),
                 group.size)
        leader_view = tuple(group.current_member_metadata())
        for member in list(group.members.values()):
            result = JoinGroupResult(ErrorCode.NONE, member.member_id, group.generation_id, group.protocol_type,
                                     group.protocol_name, group.leader_id or "",
                                     leader_view if group.is_leader(member.member_id) else ())
            self._invoke_join(group, member, result)
            self._schedule_heartbeat(group, member, member.session_timeout_ms)
            member.is_new = False

    # ================================================================== SyncGroup
    def handle_sync_group(self, group_id: str, generation_id: int, member_id: str, protocol_type: str | None,
                          protocol_name: str | None, group_instance_id: str | None,
                          assignment: dict[str, bytes]) -> asyncio.Future:
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        respond = self._future_callback(fut)
        error = self._validate(group_id)
        if error is not None:
            # A loading coordinator answers REBALANCE_IN_PROGRESS so that members rejoin.
            respond(SyncGroupResult(ErrorCode.REBALANCE_IN_PROGRESS
                                    if error == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS else error))
            return fut
        group = self.groups.get(group_id)
        if group is None:
            respond(SyncGroupResult(ErrorCode.UNKNOWN_MEMBER_ID))
            return fut
        if group.is_state(GroupState.DEAD):
            respond(SyncGroupResult(ErrorCode.COORDINATOR_NOT_AVAILABLE))
            return fut
        if group.is_static_member_fenced(member_id, group_instance_id):
            respond(SyncGroupResult(ErrorCode.FENCED_INSTANCE_ID))
            return fut
        if not group.has(member_id):
            respond(SyncGroupResult(ErrorCode.UNKNOWN_MEMBER_ID))
            return fut
        if generation_id != group.generation_id:
            respond(SyncGroupResult(ErrorCode.ILLEGAL_GENERATION))
            return fut
        if (protocol_type is not None and protocol_type != group.protocol_type) or \
                (protocol_name is not None and protocol_name != group.protocol_name):
            respond(SyncGroupResult(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
            return fut
        state = group.state
        if state is GroupState.EMPTY:
            respond(SyncGroupResult(ErrorCode.UNKNOWN_MEMBER_ID))
        elif state is GroupState.PREPARING_REBALANCE:
            respond(SyncGroupResult(ErrorCode.REBALANCE_IN_PROGRESS))
        elif state is GroupState.COMPLETING_REBALANCE:
            member = group.get(member_id)
            member.awaiting_sync = respond
            self._schedule_heartbeat(group, member, member.session_timeout_ms)
            if group.is_leader(member_id):
                log.info("[GroupCoordinator %d]: Assignment received from leader for group %s for generation %d",
                         self.broker_id, group_id, group.generation_id)
                full = {mid: bytes(assignment.get(mid, b"")) for mid in group.members}
                generation = group.generation_id

                def stored(code: int) -> None:
                    if self.groups.get(group_id) is not group or group.generation_id != generation or \
                            not group.is_state(GroupState.COMPLETING_REBALANCE):
                        return
                    if code != ErrorCode.NONE:
                        self._reset_and_propagate_assignment_error(group, code)
                        self._maybe_prepare_rebalance(group, f"error {code} when storing group assignment")
                    else:
                        self._set_and_propagate_assignment(group, full)
                self._store_group(group, full, stored)
        else:   # Stable
            member = group.get(member_id)
            respond(SyncGroupResult(ErrorCode.NONE, member.assignment, group.protocol_type, group.protocol_name))
            self._schedule_heartbeat(group, member, member.session_timeout_ms)
        return fut

    def _set_and_propagate_assignment(self, group: GroupMetadata, assignment: dict[str, bytes]) -> None:
        for mid, member in group.members.items():
            member.assignment = assignment.get(mid, b"")
        self._propagate_assignment(group, ErrorCode.NONE)
        group.transition_to(GroupState.STABLE, self.clock.now_ms())

    def _reset_and_propagate_assignment_error(self, group: GroupMetadata, error: int) -> None:
        for member in group.members.values():
            member.assignment = b""
        self._propagate_assignment(group, error)

    def _propagate_assignment(self, group: GroupMetadata, error: int) -> None:
        for member in group.members.values():
            if member.is_awaiting_sync:
                assignment = member.assignment if error == ErrorCode.NONE else b""
                self._invoke_sync(member, SyncGroupResult(error, assignment, group.protocol_type,
                                                          group.protocol_name))
                self._schedule_heartbeat(group, member, member.session_timeout_ms)

    # ================================================================== Heartbeat
    def handle_heartbeat(self, group_id: str, member_id: str, group_instance_id: str | None,
                         generation_id: int) -> int:
        error = self._validate(group_id)
        if error is not None:
            # While loading, the member keeps its session; it learns about the move later.
            return ErrorCode.NONE if error == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS else error
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.is_state(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if group.is_static_member_fenced(member_id, group_instance_id):
            return ErrorCode.FENCED_INSTANCE_ID
        if not group.has(member_id):
            return ErrorCode.UNKNOWN_MEMBER_ID
        if generation_id != group.generation_id:
            return ErrorCode.ILLEGAL_GENERATION
        member = group.get(member_id)
        state = group.state
        if state is GroupState.EMPTY:
            return ErrorCode.UNKNOWN_MEMBER_ID
        self._schedule_heartbeat(group, member, member.session_timeout_ms)
        if state is GroupState.PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    # ================================================================== LeaveGroup
    def handle_leave_group(self, group_id: str, members: list[LeaveMember]) -> tuple[int, list[int]]:
        """Returns (top-level error, per-member errors)."""
        error = self._validate(group_id)
        if error is not None:
            return error, [error] * len(members)
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.NONE, [ErrorCode.UNKNOWN_MEMBER_ID] * len(members)
        if group.is_state(GroupState.DEAD):
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, [ErrorCode.COORDINATOR_NOT_AVAILABLE] * len(members)
        errors = []
        for leaving in members:
            mid, iid = leaving.member_id, leaving.group_instance_id
            if iid is not None and mid == UNKNOWN_MEMBER_ID:
                known = group.static_member_id(iid)
                if known is None:
                    errors.append(ErrorCode.UNKNOWN_MEMBER_ID)
                    continue
                mid = known
            if group.is_pending_member(mid):
                self._cancel_pending_timer(group_id, mid)
                self._remove_pending_member_and_update_group(group, mid)
                errors.append(ErrorCode.NONE)
                continue
            if group.is_static_member_fenced(mid, iid):
                errors.append(ErrorCode.FENCED_INSTANCE_ID)
                continue
            if not group.has(mid):
                errors.append(ErrorCode.UNKNOWN_MEMBER_ID)
                continue
            member = group.get(mid)
            member.is_leaving = True
            log.info("[GroupCoordinator %d]: Member %s in group %s has left, removing it from the group",
                     self.broker_id, mid, group_id)
            self._remove_member_and_update_group(group, member)
            errors.append(ErrorCode.NONE)
        return ErrorCode.NONE, errors

    def _remove_member_and_update_group(self, group: GroupMetadata, member: MemberMetadata) -> None:
        self._invoke_join(group, member, JoinGroupResult(ErrorCode.UNKNOWN_MEMBER_ID, member.member_id))
        self._invoke_sync(member, SyncGroupResult(ErrorCode.UNKNOWN_MEMBER_ID))
        group.remove(member.member_id)
        state = group.state
        if state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._maybe_prepare_rebalance(group, f"removing member {member.member_id} on LeaveGroup")
        elif state is GroupState.PREPARING_REBALANCE and isinstance(group.delayed_join, DelayedJoin):
            group.delayed_join.try_complete()

    def _remove_pending_member_and_update_group(self, group: GroupMetadata, member_id: str) -> None:
        group.pending_members.discard(member_id)
        if group.is_state(GroupState.PREPARING_REBALANCE) and isinstance(group.delayed_join, DelayedJoin):
            group.delayed_join.try_complete()

    # ================================================================== offsets
    def handle_commit_offsets(self, group_id: str, member_id: str, group_instance_id: str | None,
                              generation_id: int, offsets: dict[TopicPartition, OffsetAndMetadata]
                              ) -> asyncio.Future:
        """Future of {tp: error}."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()

        def all_error(code: int) -> None:
            fut.set_result({tp: code for tp in offsets})

        error = self._validate(group_id, allow_empty=True)
        if error is not None:
            all_error(error)
            return fut
        group = self.groups.get(group_id)
        if group is None:
            if generation_id >= 0:
                all_error(ErrorCode.ILLEGAL_GENERATION)
                return fut
            group = self._add_group(GroupMetadata(group_id, GroupState.EMPTY, self.clock.now_ms()))
        if group.is_state(GroupState.DEAD):
            all_error(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        elif group.is_static_member_fenced(member_id, group_instance_id):
            all_error(ErrorCode.FENCED_INSTANCE_ID)
        elif generation_id < 0 and group.is_state(GroupState.EMPTY):
            self._store_offsets(group, offsets, fut)
        elif not group.has(member_id):
            all_error(ErrorCode.UNKNOWN_MEMBER_ID)
        elif generation_id != group.generation_id:
            all_error(ErrorCode.ILLEGAL_GENERATION)
        elif group.is_state(GroupState.COMPLETING_REBALANCE):
            all_error(ErrorCode.REBALANCE_IN_PROGRESS)
        else:
            member = group.get(member_id)
            self._schedule_heartbeat(group, member, member.session_timeout_ms)
            self._store_offsets(group, offsets, fut)
        return fut

    def _store_offsets(self, group: GroupMetadata, offsets: dict[TopicPartition, OffsetAndMetadata],
                       fut: asyncio.Future) -> None:
        max_meta = self.config.offset_metadata_max_bytes
        results: dict[TopicPartition, int] = {}
        valid: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, om in offsets.items():
            if om.metadata is not None and len(om.metadata.encode()) > max_meta:
                results[tp] = ErrorCode.OFFSET_METADATA_TOO_LARGE
            else:
                valid[tp] = om
        if not valid:
            fut.set_result(results)
            return
        entries = [(offset_commit_key(group.group_id, tp), offset_commit_value(om)) for tp, om in valid.items()]

        def done(code: int) -> None:
            code = _append_error_to_commit_error(code)
            if code == ErrorCode.NONE and self.groups.get(group.group_id) is group and \
                    not group.is_state(GroupState.DEAD):
                group.offsets.update(valid)
            for tp in valid:
                results[tp] = code
            if not fut.done():
                fut.set_result(results)
        self._append(group.group_id, entries, done)

    def handle_fetch_offsets(self, group_id: str, partitions: list[TopicPartition] | None
                             ) -> tuple[int, dict[TopicPartition, OffsetAndMetadata | None]]:
        error = self._validate(group_id, allow_empty=True)
        if error is not None:
            return error, {}
        group = self.groups.get(group_id)
        if group is None or group.is_state(GroupState.DEAD):
            return ErrorCode.NONE, {tp: None for tp in partitions or ()}
        if partitions is None:
            return ErrorCode.NONE, dict(group.offsets)
        return ErrorCode.NONE, {tp: group.offsets.get(tp) for tp in partitions}

    # ================================================================== describe / list / delete
    def handle_describe_group(self, group_id: str) -> GroupSummary:
        error = self._validate(group_id, allow_empty=True)
        if error is not None:
            return GroupSummary(error, GroupState.DEAD.value, "", "")
        group = self.groups.get(group_id)
        if group is None:
            return GroupSummary(ErrorCode.NONE, GroupState.DEAD.value, "", "")
        stable = group.is_state(GroupState.STABLE)
        members = []
        for m in group.members.values():
            if stable and group.protocol_name is not None:
                meta, assignment = m.metadata(group.protocol_name), m.assignment
            else:
                meta, assignment = b"", b""
            members.append(MemberSummary(m.member_id, m.group_instance_id, m.client_id, m.client_host, meta,
                                         assignment))
        return GroupSummary(ErrorCode.NONE, group.state.value, group.protocol_type or "",
                            (group.protocol_name or "") if stable else "", tuple(members))

    def handle_list_groups(self, states: set[str] | None = None) -> tuple[int, list[tuple[str, str, str]]]:
        """(error, [(group id, protocol type, state)])."""
        error = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS if any(s.loading for s in self.partitions.values()) \
            else ErrorCode.NONE
        wanted = {s.lower() for s in states} if states else None
        out = []
        for gid, group in self.groups.items():
            if wanted is not None and group.state.value.lower() not in wanted:
                continue
            out.append((gid, group.protocol_type or "", group.state.value))
        return error, out

    def handle_delete_groups(self, group_ids: list[str]) -> asyncio.Future:
        """Future of {group id: error}."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        results: dict[str, int] = {}
        pending = [0]
        to_write: list[tuple[GroupMetadata, list[tuple[bytes, bytes | None]]]] = []
        for gid in group_ids:
            error = self._validate(gid, allow_empty=True)
            if error is not None:
                results[gid] = error
                continue
            group = self.groups.get(gid)
            if group is None or group.is_state(GroupState.DEAD):
                results[gid] = ErrorCode.GROUP_ID_NOT_FOUND
            elif not group.is_state(GroupState.EMPTY):
                results[gid] = ErrorCode.NON_EMPTY_GROUP
            else:
                group.transition_to(GroupState.DEAD, self.clock.now_ms())
                tombstones = [(offset_commit_key(gid, tp), None) for tp in group.offsets]
                tombstones.append((group_metadata_key(gid), None))
                group.offsets.clear()
                self._remove_group(group)
                to_write.append((group, tombstones))
        if not to_write:
            fut.set_result(results)
            return fut
        pending[0] = len(to_write)
        for group, tombstones in to_write:
            def done(code: int, gid: str = group.group_id) -> None:
                results[gid] = _append_error_to_commit_error(code)
                pending[0] -= 1
                if pending[0] == 0 and not fut.done():
                    fut.set_result(results)
            log.info("[GroupCoordinator %d]: Group %s removed (%d tombstones)", self.broker_id, group.group_id,
                     len(tombstones))
            self._append(group.group_id, tombstones, done)
        return fut

    def handle_delete_offsets(self, group_id: str, partitions: list[TopicPartition]
                              ) -> tuple[int, asyncio.Future | dict[TopicPartition, int]]:
        """(top-level error, {tp: error} or a future of it)."""
        error = self._validate(group_id, allow_empty=True)
        if error is not None:
            return error, {}
        group = self.groups.get(group_id)
        if group is None or group.is_state(GroupState.DEAD):
            return ErrorCode.GROUP_ID_NOT_FOUND, {}
        results: dict[TopicPartition, int] = {}
        if group.is_state(GroupState.EMPTY):
            deletable = list(partitions)
        elif group.protocol_type == CONSUMER_PROTOCOL_TYPE:
            subscribed = group.subscribed_topics() or set()
            deletable = []
            for tp in partitions:
                if tp.topic in subscribed:
                    results[tp] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
                else:
                    deletable.append(tp)
        else:
            return ErrorCode.NON_EMPTY_GROUP, {}
        tombstones = []
        for tp in deletable:
            results[tp] = ErrorCode.NONE
            if group.offsets.pop(tp, None) is not None:
                tombstones.append((offset_commit_key(group_id, tp), None))
        if not tombstones:
            return ErrorCode.NONE, results
        fut: asyncio.Future = asyncio.get_running_loop().create_future()

        def done(code: int) -> None:
            code = _append_error_to_commit_error(code)
            if code != ErrorCode.NONE:
                for tp in deletable:
                    results[tp] = code
            if not fut.done():
                fut.set_result(results)
        self._append(group_id, tombstones, done)
        return ErrorCode.NONE, fut

    # ================================================================== expiry
    def cleanup_group_metadata(self) -> int:
        """Expire old offsets (Kafka 2.8 rules) and drop empty groups without offsets; returns offsets removed."""
        now = self.clock.now_ms()
        retention = self.config.offsets_retention_ms
        removed = 0
        for gid, group in list(self.groups.items()):
            state = self.partitions.get(self.partition_for(gid))
            if state is None or state.loading or group.is_state(GroupState.DEAD):
                continue
            expired = self._expired_offsets(group, now, retention)
            tombstones: list[tuple[bytes, bytes | None]] = []
            for tp in expired:
                del group.offsets[tp]
                tombstones.append((offset_commit_key(gid, tp), None))
            removed += len(expired)
            if group.is_state(GroupState.EMPTY) and not group.offsets:
                group.transition_to(GroupState.DEAD, now)
                self._remove_group(group)
                tombstones.append((group_metadata_key(gid), None))
            if tombstones:
                log.info("[GroupMetadataManager brokerId=%d] Removed %d expired offsets of group %s",
                         self.broker_id, len(expired), gid)

                def done(code: int, gid: str = gid) -> None:
                    if code != ErrorCode.NONE:
                        log.warning("Failed to write tombstones for group %s: error %d", gid, code)
                self._append(gid, tombstones, done, required_acks=1)
        return removed

    @staticmethod
    def _expired_offsets(group: GroupMetadata, now: int, retention: int) -> list[TopicPartition]:
        def is_expired(om: OffsetAndMetadata, base: int | None) -> bool:
            if om.expire_timestamp_ms is not None:
                return om.expire_timestamp_ms <= now
            start = base if base is not None else om.commit_timestamp_ms
            return start + retention <= now

        if not group.protocol_type:
            return [tp for tp, om in group.offsets.items() if is_expired(om, None)]
        if group.is_state(GroupState.EMPTY):
            return [tp for tp, om in group.offsets.items() if is_expired(om, group.current_state_timestamp_ms)]
        if group.protocol_type == CONSUMER_PROTOCOL_TYPE and group.is_state(GroupState.STABLE):
            subscribed = group.subscribed_topics()
            if subscribed is None:
                return []
            return [tp for tp, om in group.offsets.items()
                    if tp.topic not in subscribed and is_expired(om, None)]
        return []

    def on_partitions_deleted(self, deleted: list[TopicPartition]) -> None:
        """Forget (and tombstone) offsets of deleted topics' partitions."""
        gone = set(deleted)
        if not gone:
            return
        for gid, group in list(self.groups.items()):
            state = self.partitions.get(self.partition_for(gid))
            if state is None or state.loading:
                continue
            hit = [tp for tp in group.offsets if tp in gone]
            if not hit:
                continue
            for tp in hit:
                del group.offsets[tp]

            def done(code: int, gid: str = gid) -> None:
                if code != ErrorCode.NONE:
                    log.warning("Failed to write tombstones for group %s: error %d", gid, code)
            self._append(gid, [(offset_commit_key(gid, tp), None) for tp in hit], done, required_acks=1)


__all__ = ["GroupCoordinator", "GroupConfig", "JoinGroupResult", "SyncGroupResult", "GroupSummary",
           "MemberSummary", "LeaveMember", "ReplicaManagerLike", "UNKNOWN_MEMBER_ID", "NO_GENERATION"]
