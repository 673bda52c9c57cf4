"""Partition: one partition hosted by this broker, as leader or follower (Kafka's ``Partition``).

State comes from LeaderAndIsr: leader id, leader epoch, ISR, assignment, the state znode's
zk_version and the controller epoch. As leader the partition appends produced records
(after the leader and ``min.insync.replicas`` checks), keeps the high watermark (the smallest
log end offset over the ISR: the leader's own log end offset plus what each in-sync
follower last fetched), and serves reads bounded by the high watermark for consumers and
by the log end offset for followers. Everything here is synchronous and runs on the loop.

Replication hooks (ISR expansion and shrink with their ZooKeeper writes, follower truncation)
belong to the replication layer, which extends this class: `maybe_expand_isr` and
`maybe_shrink_isr` are the places it fills in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from kafkapy.common.errors import (
    FencedLeaderEpochError,
    NotEnoughReplicasError,
    NotLeaderOrFollowerError,
    OffsetNotAvailableError,
    UnknownLeaderEpochError,
)
from kafkapy.common.types import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    NO_TIMESTAMP,
    TopicPartition,
)

log = logging.getLogger(__name__)
state_change_log = logging.getLogger("state.change.logger")

NO_EPOCH = -1

# What a read may return up to.
FETCH_LOG_END = 0          # followers
FETCH_HIGH_WATERMARK = 1   # read_uncommitted consumers
FETCH_TXN_COMMITTED = 2    # read_committed consumers (last stable offset == HW: no transactions yet)


class LogLike(Protocol):
    """What a partition needs from its `kafkapy.log.Log`."""

    config: Any
    log_start_offset: int
    log_end_offset: int
    high_watermark: int

    def append_as_leader(self, records: Any, leader_epoch: int, *, require_single_v2_batch: bool = False,
                         allow_zstd: bool = True, from_client: bool = True) -> Any: ...

    def read(self, start_offset: int, max_length: int, max_offset: int | None = None,
             min_one_message: bool = True) -> Any: ...

    def update_high_watermark(self, hw: int) -> int: ...

    def maybe_increment_high_watermark(self, hw: int) -> bool: ...

    def fetch_offset_by_timestamp(self, target_timestamp: int) -> Any: ...


@dataclass(slots=True)
class ReplicaState:
    """The leader's view of one follower (from its fetch requests)."""

    broker_id: int
    log_end_offset: int = -1
    log_start_offset: int = -1
    last_fetch_time_ms: int = 0
    last_caught_up_time_ms: int = 0
    last_fetch_leader_log_end_offset: int = 0


@dataclass(frozen=True, slots=True)
class PartitionState:
    """The leadership fields of one LeaderAndIsr partition state."""

    controller_epoch: int
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    zk_version: int
    replicas: tuple[int, ...]
    adding_replicas: tuple[int, ...] = ()
    removing_replicas: tuple[int, ...] = ()
    is_new: bool = False


@dataclass(frozen=True, slots=True)
class LogReadInfo:
    """A read from the local log plus the offsets reported beside it."""

    fetched: Any                    # log.segment.FetchDataInfo (FileRegion in .records)
    high_watermark: int
    log_start_offset: int
    log_end_offset: int
    last_stable_offset: int


class _Prefixed(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['prefix']}{msg}", kwargs


class Partition:
    """One hosted partition. `log_factory(tp, is_new)` returns (creating when needed) its Log."""

    def __init__(self, tp: TopicPartition, local_broker_id: int, log_factory: Callable[[TopicPartition, bool], Any],
                 now_ms: Callable[[], int]) -> None:
        self.topic_partition = tp
        self.topic = tp.topic
        self.partition_id = tp.partition
        self.local_broker_id = local_broker_id
        self._log_factory = log_factory
        self._now_ms = now_ms
        self.log: Any = None
        self.leader_replica_id: int | None = None
        self.leader_epoch = NO_EPOCH
        self.leader_epoch_start_offset: int | None = None
        self.isr: frozenset[int] = frozenset()
        self.assignment: tuple[int, ...] = ()
        self.adding_replicas: tuple[int, ...] = ()
        self.removing_replicas: tuple[int, ...] = ()
        self.zk_version = -1
        self.controller_epoch = -1
        self.remote_replicas: dict[int, ReplicaState] = {}
        # The replication layer (`kafkapy.server.isr.IsrManager`) when installed: ISR expand/shrink.
        self.isr_manager: Any = None
        self.logger = _Prefixed(log, {"prefix": f"[Partition {tp} broker={local_broker_id}] "})

    # -- state -------------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self.leader_replica_id == self.local_broker_id

    @property
    def high_watermark(self) -> int:
        return self.log.high_watermark if self.log is not None else -1

    @property
    def log_end_offset(self) -> int:
        return self.log.log_end_offset if self.log is not None else -1

    @property
    def log_start_offset(self) -> int:
        return self.log.log_start_offset if self.log is not None else -1

    @property
    def min_isr(self) -> int:
        return self.log.config.min_insync_replicas if self.log is not None else 1

    def create_log_if_not_exists(self, is_new: bool) -> Any:
        if self.log is None:
            self.log = self._log_factory(self.topic_partition, is_new)
        return self.log

    def _update_assignment_and_isr(self, state: PartitionState) -> None:
        self.assignment = tuple(state.replicas)
        self.adding_replicas = tuple(state.adding_replicas)
        self.removing_replicas = tuple(state.removing_replicas)
        self.isr = frozenset(state.isr)
        remote = [r for r in state.replicas if r != self.local_broker_id]
        self.remote_replicas = {r: self.remote_replicas.get(r) or ReplicaState(r) for r in remote}

    # -- LeaderAndIsr ----------------------------------------------------------------------------
    def make_leader(self, state: PartitionState) -> bool:
        """Become (or stay) leader; returns True when this broker was not the leader before."""
        self.controller_epoch = state.controller_epoch
        lg = self.create_log_if_not_exists(state.is_new)
        self._update_assignment_and_isr(state)
        was_leader = self.is_leader
        if state.leader_epoch != self.leader_epoch or not was_leader:
            self.leader_epoch_start_offset = lg.log_end_offset
            if hasattr(lg, "maybe_assign_epoch_start_offset") and state.leader_epoch >= 0:
                # the checkpoint write (an fsync) is left to the LeaderAndIsr handler, off the loop
                lg.maybe_assign_epoch_start_offset(state.leader_epoch, lg.log_end_offset, flush=False)
            now = self._now_ms()
            for rs in self.remote_replicas.values():
                rs.last_caught_up_time_ms = now if rs.broker_id in self.isr else 0
                rs.log_end_offset = -1
        state_change_log.info("[Broker id=%d] Leader %s starts at leader epoch %d from offset %d with high "
                              "watermark %d. Previous leader epoch was %d.", self.local_broker_id,
                              self.topic_partition, state.leader_epoch, lg.log_end_offset, lg.high_watermark,
                              self.leader_epoch)
        self.leader_epoch = state.leader_epoch
        self.zk_version = state.zk_version
        self.leader_replica_id = self.local_broker_id
        self.maybe_increment_leader_hw()
        return not was_leader

    def make_follower(self, state: PartitionState) -> bool:
        """Become a follower of `state.leader`; returns True when the leader changed."""
        self.controller_epoch = state.controller_epoch
        self.create_log_if_not_exists(state.is_new)
        self._update_assignment_and_isr(state)
        self.remote_replicas = {}
        self.leader_epoch = state.leader_epoch
        self.leader_epoch_start_offset = None
        self.zk_version = state.zk_version
        new_leader = state.leader if state.leader >= 0 else None
        if self.leader_replica_id == new_leader:
            return False
        self.leader_replica_id = new_leader
        return True

    # -- epochs ----------------------------------------------------------------------------------
    def check_leader_epoch(self, current_leader_epoch: int) -> None:
        """The request's current_leader_epoch (-1: not given) against ours."""
        if current_leader_epoch == NO_EPOCH:
            return
        if current_leader_epoch < self.leader_epoch:
            raise FencedLeaderEpochError(
                f"the leader epoch {current_leader_epoch} of the request is older than the current leader "
                f"epoch {self.leader_epoch} of {self.topic_partition}")
        if current_leader_epoch > self.leader_epoch:
            raise UnknownLeaderEpochError(
                f"the leader epoch {current_leader_epoch} of the request is newer than the current leader "
                f"epoch {self.leader_epoch} of {self.topic_partition}")

    def local_log_or_error(self, current_leader_epoch: int, fetch_only_from_leader: bool) -> Any:
        self.check_leader_epoch(current_leader_epoch)
        if fetch_only_from_leader and not self.is_leader:
            raise NotLeaderOrFollowerError(f"leader not local for partition {self.topic_partition} on broker "
                                           f"{self.local_broker_id}")
        if self.log is None:
            raise NotLeaderOrFollowerError(f"log of partition {self.topic_partition} is not available on broker "
                                           f"{self.local_broker_id}")
        return self.log

    # -- produce -----------------------------------------------------------------------------------
    def append_records_to_leader(self, records: Any, required_acks: int, *, require_single_v2_batch: bool = False,
                                 allow_zstd: bool = True, from_client: bool = True) -> Any:
        """Append as leader; returns the log's LogAppendInfo. Raises ApiErrors."""
        lg = self.log
        if not self.is_leader or lg is None:
            raise NotLeaderOrFollowerError(f"leader not local for partition {self.topic_partition} on broker "
                                           f"{self.local_broker_id}")
        if required_acks == -1:
            min_isr = lg.config.min_insync_replicas
            if len(self.isr) < min_isr:
                raise NotEnoughReplicasError(
                    f"the size of the current ISR {sorted(self.isr)} is insufficient to satisfy the min.isr "
                    f"requirement of {min_isr} for partition {self.topic_partition}")
        # positional: a call with keywords takes CPython's slower argument binding, on every produce
        info = lg.append_as_leader(records, self.leader_epoch, require_single_v2_batch, allow_zstd, from_client)
        self.maybe_increment_leader_hw()
        return info

    def maybe_increment_leader_hw(self) -> bool:
        """HW = the smallest log end offset over the ISR (ours included); True if it moved."""
        lg = self.log
        if lg is None or not self.is_leader:
            return False
        new_hw = lg.log_end_offset
        remote = self.remote_replicas
        if remote:
            for rid in self.isr:
                if rid == self.local_broker_id:
                    continue
                rs = remote.get(rid)
                leo = rs.log_end_offset if rs is not None else -1
                if leo < new_hw:
                    new_hw = leo
        if new_hw < 0:
            return False
        return lg.maybe_increment_high_watermark(new_hw)

    def check_enough_replicas_reach_offset(self, required_offset: int) -> tuple[bool, int]:
        """acks=-1: (done, error code) once the HW reached `required_offset`."""
        if not self.is_leader or self.log is None:
            return False, NotLeaderOrFollowerError.code
        if self.log.high_watermark >= required_offset:
            if self.log.config.min_insync_replicas <= len(self.isr):
                return True, 0
            return True, 20  # NOT_ENOUGH_REPLICAS_AFTER_APPEND
        return False, 0

    # -- followers' fetches ---------------------------------------------------------------------
    def update_follower_fetch_state(self, replica_id: int, fetch_offset: int, follower_start_offset: int,
                                    leader_end_offset: int) -> bool:
        """Record a follower's position; returns True when the high watermark moved."""
        rs = self.remote_replicas.get(replica_id)
        if rs is None:
            return False
        now = self._now_ms()
        # Caught up: at the leader's end now, or at least where the leader's end was at the
        # previous fetch (then it was caught up as of that fetch's time).
        if fetch_offset >= leader_end_offset:
            rs.last_caught_up_time_ms = now
        elif fetch_offset >= rs.last_fetch_leader_log_end_offset and rs.last_fetch_time_ms > \
                rs.last_caught_up_time_ms:
            rs.last_caught_up_time_ms = rs.last_fetch_time_ms
        rs.last_fetch_leader_log_end_offset = leader_end_offset
        rs.log_end_offset = fetch_offset
        rs.log_start_offset = follower_start_offset
        rs.last_fetch_time_ms = now
        self.maybe_expand_isr(rs)
        return self.maybe_increment_leader_hw()

    def maybe_expand_isr(self, replica: ReplicaState) -> None:
        """ISR expansion (with its ZooKeeper write) is the replication layer's (`isr_manager`)."""
        if self.isr_manager is not None:
            self.isr_manager.maybe_expand_isr(self, replica)

    def maybe_shrink_isr(self) -> None:
        """ISR shrink is the replication layer's (`isr_manager`)."""
        if self.isr_manager is not None:
            self.isr_manager.maybe_shrink_isr(self)

    # -- reads -------------------------------------------------------------------------------------
    def read_records(self, fetch_offset: int, current_leader_epoch: int, max_bytes: int, fetch_isolation: int,
                     fetch_only_from_leader: bool, min_one_message: bool) -> LogReadInfo:
        lg = self.local_log_or_error(current_leader_epoch, fetch_only_from_leader)
        hw = lg.high_watermark
        start = lg.log_start_offset
        end = lg.log_end_offset
        if fetch_isolation == FETCH_LOG_END:
            max_offset = None
        else:
            max_offset = hw
        fetched = lg.read(fetch_offset, max_bytes, max_offset, min_one_message)
        return LogReadInfo(fetched, hw, start, end, hw)

    def fetch_offset_for_timestamp(self, timestamp: int, isolation_level: int | None, current_leader_epoch: int,
                                   fetch_only_from_leader: bool) -> tuple[int, int, int] | None:
        """ListOffsets v1+: (timestamp, offset, leader epoch) or None when no record qualifies."""
        lg = self.local_log_or_error(current_leader_epoch, fetch_only_from_leader)
        if isolation_level is None:
            last_fetchable = lg.log_end_offset
        else:
            last_fetchable = lg.high_watermark
        # A new leader whose high watermark has not reached its epoch's start offset cannot yet
        # tell clients the latest offset (or search by time) consistently.
        lagging = (isolation_level is not None and self.leader_epoch_start_offset is not None
                   and self.leader_epoch_start_offset > lg.high_watermark)
        if lagging and timestamp != EARLIEST_TIMESTAMP:
            raise OffsetNotAvailableError(
                f"failed to fetch offsets for partition {self.topic_partition} with leader epoch "
                f"{self.leader_epoch}: the high watermark {lg.high_watermark} is below the epoch start offset "
                f"{self.leader_epoch_start_offset}")
        if timestamp == LATEST_TIMESTAMP:
            return NO_TIMESTAMP, last_fetchable, self.leader_epoch
        found = lg.fetch_offset_by_timestamp(timestamp)
        if found is None:
            return None
        if timestamp != EARLIEST_TIMESTAMP and found.offset >= last_fetchable:
            return None
        return found.timestamp, found.offset, found.leader_epoch

    def legacy_fetch_offsets_before(self, timestamp: int, max_num_offsets: int, now_ms: int) -> list[int]:
        """ListOffsets v0: segment base offsets (and the log end) at or before `timestamp`, descending."""
        lg = self.log
        segments = lg.segments
        start = lg.log_start_offset
        pairs = [(max(s.base_offset, start), s.last_modified_ms) for s in segments]
        if segments and segments[-1].size > 0:
            pairs.append((lg.log_end_offset, now_ms))
        if timestamp == LATEST_TIMESTAMP:
            idx = len(pairs) - 1
        elif timestamp == EARLIEST_TIMESTAMP:
            idx = 0
        else:
            idx = len(pairs) - 1
            while idx >= 0 and pairs[idx][1] > timestamp:
                idx -= 1
        count = min(max_num_offsets, idx + 1)
        out = [pairs[idx - j][0] for j in range(count)]
        out.sort(reverse=True)
        return out

    def __repr__(self) -> str:
        return (f"Partition({self.topic_partition}, leader={self.leader_replica_id}, epoch={self.leader_epoch}, "
                f"isr={sorted(self.isr)}, replicas={list(self.assignment)})")


__all__ = ["Partition", "PartitionState", "ReplicaState", "LogReadInfo", "FETCH_LOG_END", "FETCH_HIGH_WATERMARK",
           "FETCH_TXN_COMMITTED", "NO_EPOCH"]
