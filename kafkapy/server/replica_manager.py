"""ReplicaManager: the partitions this broker hosts and the produce/fetch paths over them.

Kafka's ``ReplicaManager`` in the shape STYLE.md gives it: one object on the event loop
that owns the hosted `Partition`s, applies LeaderAndIsr and StopReplica from the
controller, appends produced records (answering acks=-1 through a `DelayedProduce`),
reads for consumers and followers (waiting through a `DelayedFetch` for min_bytes),
and looks offsets up by timestamp. All methods are synchronous; the ones that may wait
return a future that the request handler hands back to the dispatcher.

Handlers give a ``respond`` callable that turns the per-partition results into the response
body; the same callable runs now or when the delayed operation completes.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from kafkapy.common.clock import Clock
from kafkapy.common.errors import (
    ApiError,
    ErrorCode,
    InvalidTopicError,
    KafkaStorageError,
    NotLeaderOrFollowerError,
    UnknownTopicOrPartitionError,
)
from kafkapy.common.types import TopicPartition
from kafkapy.server.delayed import DelayedFetch, DelayedProduce, FetchPartitionStatus, ProducePartitionStatus
from kafkapy.server.metadata_cache import INTERNAL_TOPICS, MetadataCache
from kafkapy.server.partition import (
    FETCH_HIGH_WATERMARK,
    FETCH_LOG_END,
    FETCH_TXN_COMMITTED,
    LogReadInfo,
    Partition,
    PartitionState,
)
from kafkapy.server.purgatory import Purgatory

log = logging.getLogger(__name__)
state_change_log = logging.getLogger("state.change.logger")

EPOCH_DURING_DELETE = -2
NO_EPOCH = -1


class LogManagerLike(Protocol):
    """What the replica manager needs from `kafkapy.log.manager.LogManager`."""

    def get_log(self, tp: TopicPartition) -> Any: ...

    def get_or_create_log(self, tp: TopicPartition, config: Any = None) -> Any: ...

    def delete_log(self, tp: TopicPartition) -> Any: ...


class _Prefixed(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['prefix']}{msg}", kwargs


@dataclass(frozen=True, slots=True)
class FetchInfo:
    """One partition of a fetch request."""

    fetch_offset: int
    log_start_offset: int
    max_bytes: int
    current_leader_epoch: int = -1


class LogReadResult:
    """One partition's read: the data (or the error) plus the offsets reported beside it."""

    __slots__ = ("info", "error_code", "high_watermark", "log_start_offset", "log_end_offset",
                 "last_stable_offset", "error_message")

    def __init__(self, info: LogReadInfo | None = None, error_code: int = 0, error_message: str | None = None
                 ) -> None:
        self.info = info
        self.error_code = error_code
        self.error_message = error_message
        if info is not None:
            self.high_watermark = info.high_watermark
            self.log_start_offset = info.log_start_offset
            self.log_end_offset = info.log_end_offset
            self.last_stable_offset = info.last_stable_offset
        else:
            self.high_watermark = -1
            self.log_start_offset = -1
            self.log_end_offset = -1
            self.last_stable_offset = -1

    @property
    def records(self) -> Any:
        """A FileRegion, or None after an error."""
        return self.info.fetched.records if self.info is not None else None

    @property
    def size(self) -> int:
        return self.info.fetched.records.size if self.info is not None else 0

    def __repr__(self) -> str:
        return f"LogReadResult(error={self.error_code}, hw={self.high_watermark}, size={self.size})"


class ReplicaManager:
    """Hosted partitions, LeaderAndIsr/StopReplica, and the produce and fetch paths."""

    def __init__(self, broker_id: int, log_manager: LogManagerLike, metadata_cache: MetadataCache, clock: Clock,
                 *, log_config_for: Callable[[str], Any] | None = None,
                 produce_purgatory: Purgatory | None = None, fetch_purgatory: Purgatory | None = None) -> None:
        self.broker_id = broker_id
        self.log_manager = log_manager
        self.metadata_cache = metadata_cache
        self.clock = clock
        self._log_config_for = log_config_for
        self.all_partitions: dict[TopicPartition, Partition] = {}
        self.controller_epoch = 0
        self.produce_purgatory: Purgatory = produce_purgatory or Purgatory("Produce")
        self.fetch_purgatory: Purgatory = fetch_purgatory or Purgatory("Fetch")
        # Called with (partitions that became leader, partitions that became follower) after LeaderAndIsr.
        self.leadership_change_listeners: list[Callable[[list[Partition], list[Partition]], None]] = []
        # Called with {tp: (leader id, leader epoch)} for new followers; the replication layer fetches.
        self.follower_listeners: list[Callable[[dict[TopicPartition, Partition]], None]] = []
        # Called with the partitions stopped by StopReplica (fetchers stop here).
        self.stop_listeners: list[Callable[[list[TopicPartition]], None]] = []
        # Leaders' endpoints (broker id -> (host, port)) from the latest LeaderAndIsr, for follower fetchers.
        self.leader_endpoints: dict[int, tuple[str, int]] = {}
        self.logger = _Prefixed(log, {"prefix": f"[ReplicaManager broker={broker_id}] "})

    # ------------------------------------------------------------------ partitions
    def online_partition(self, tp: TopicPartition) -> Partition | None:
        return self.all_partitions.get(tp)

    def get_partition_or_error(self, tp: TopicPartition) -> Partition:
        p = self.all_partitions.get(tp)
        if p is not None:
            return p
        if self.metadata_cache.snapshot.contains_partition(tp):
            raise NotLeaderOrFollowerError(f"this broker ({self.broker_id}) does not host partition {tp}")
        raise UnknownTopicOrPartitionError(f"this server does not host this topic-partition: {tp}")

    def _create_log(self, tp: TopicPartition, is_new: bool) -> Any:
        existing = self.log_manager.get_log(tp)
        if existing is not None:
            return existing
        config = self._log_config_for(tp.topic) if self._log_config_for is not None else None
        return self.log_manager.get_or_create_log(tp, config)

    def _get_or_create_partition(self, tp: TopicPartition) -> Partition:
        p = self.all_partitions.get(tp)
        if p is None:
            p = Partition(tp, self.broker_id, self._create_log, self.clock.now_ms)
            existing = self.log_manager.get_log(tp)
            if existing is not None:
                p.log = existing
            self.all_partitions[tp] = p
        return p

    def leader_partitions(self) -> list[Partition]:
        return [p for p in self.all_partitions.values() if p.is_leader]

    # ------------------------------------------------------------------ produce
    def append_records(self, timeout_ms: int, required_acks: int, internal_topics_allowed: bool,
                       entries: Iterable[tuple[TopicPartition, Any]],
                       respond: Callable[[dict[TopicPartition, ProducePartitionStatus]], Any], *,
                       require_single_v2_batch: bool = False, allow_zstd: bool = True) -> Any:
        """Append each partition's records as leader; `respond(statuses)` now or (acks=-1) later.

        Returns the response, or a future resolving to it once the high watermarks pass the
        appended offsets or `timeout_ms` elapses.
        """
        statuses: dict[TopicPartition, ProducePartitionStatus] = {}
        if required_acks not in (-1, 0, 1):
            for tp, _records in entries:
                statuses[tp] = ProducePartitionStatus(ErrorCode.INVALID_REQUIRED_ACKS)
            return respond(statuses)
        any_appended = False
        fetch_purgatory = self.fetch_purgatory
        partitions = self.all_partitions
        for tp, records in entries:
            status = self._append_one(tp, records, required_acks, internal_topics_allowed,
                                      partitions.get(tp), require_single_v2_batch, allow_zstd)
            statuses[tp] = status
            if status.required_offset >= 0:
                any_appended = True
                fetch_purgatory.check_and_complete(tp)
        if required_acks == -1 and any_appended:
            op = DelayedProduce(self.clock, timeout_ms, statuses, self, respond)
            keys = [tp for tp, st in statuses.items() if st.acks_pending]
            if self.produce_purgatory.try_complete_else_watch(op, keys):
                return op.future.result()
            return op.future
        return respond(statuses)

    def _append_one(self, tp: TopicPartition, records: Any, required_acks: int, internal_topics_allowed: bool,
                    partition: Partition | None, require_single_v2_batch: bool,
                    allow_zstd: bool) -> ProducePartitionStatus:
        try:
            if not internal_topics_allowed and tp.topic in INTERNAL_TOPICS:
                raise InvalidTopicError(f"cannot append to internal topic {tp.topic}")
            if partition is None:
                partition = self.get_partition_or_error(tp)
            if records is None:
                records = b""
            info = partition.append_records_to_leader(records, required_acks,
                                                      require_single_v2_batch=require_single_v2_batch,
                                                      allow_zstd=allow_zstd)
        except ApiError as exc:
            if exc.code not in (ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION):
                self.logger.debug("Error processing append operation on partition %s: %s", tp, exc)
            return ProducePartitionStatus(exc.code, error_message=exc.message)
        except Exception:
            self.logger.error("Error processing append operation on partition %s", tp, exc_info=True)
            return ProducePartitionStatus(ErrorCode.UNKNOWN_SERVER_ERROR)
        if info.shallow_count == 0:
            return ProducePartitionStatus(0, -1, -1, partition.log_start_offset)
        return ProducePartitionStatus(0, info.first_offset, info.log_append_time, partition.log_start_offset,
                                      required_offset=info.last_offset + 1)

    # ------------------------------------------------------------------ fetch
    def fetch_messages(self, timeout_ms: int, replica_id: int, min_bytes: int, max_bytes: int,
                       hard_max_bytes_limit: bool, fetch_infos: list[tuple[TopicPartition, FetchInfo]],
                       isolation_level: int, respond: Callable[[list[tuple[TopicPartition, LogReadResult]]], Any]
                       ) -> Any:
        """Read now; answer now when there is enough, else wait (DelayedFetch) and read again."""
        from_follower = replica_id >= 0
        if from_follower:
            isolation = FETCH_LOG_END
        elif isolation_level == 1:
            isolation = FETCH_TXN_COMMITTED
        else:
            isolation = FETCH_HIGH_WATERMARK
        fetch_only_from_leader = replica_id != -2  # the debugging consumer may read from followers

        def read() -> list[tuple[TopicPartition, LogReadResult]]:
            results = self.read_from_local_log(replica_id, fetch_only_from_leader, isolation, max_bytes,
                                               hard_max_bytes_limit, fetch_infos)
            if from_follower:
                self.update_follower_fetch_state(replica_id, fetch_infos, results)
            return results

        results = read()
        bytes_readable = 0
        error_reading = False
        for _tp, r in results:
            if r.error_code:
                error_reading = True
            else:
                bytes_readable += r.size
        if timeout_ms <= 0 or not fetch_infos or bytes_readable >= min_bytes or error_reading:
            return respond(results)
        statuses: dict[TopicPartition, FetchPartitionStatus] = {}
        for (tp, fi), (_tp, r) in zip(fetch_infos, results):
            meta = r.info.fetched.fetch_offset_metadata
            statuses[tp] = FetchPartitionStatus(fi.fetch_offset, meta.segment_base_offset,
                                                meta.relative_position_in_segment, fi.current_leader_epoch)
        op = DelayedFetch(self.clock, timeout_ms, min_bytes, statuses, self, from_follower,
                          lambda: respond(read()))
        if self.fetch_purgatory.try_complete_else_watch(op, list(statuses)):
            return op.future.result()
        return op.future

    def read_from_local_log(self, replica_id: int, fetch_only_from_leader: bool, isolation: int, max_bytes: int,
                            hard_max_bytes_limit: bool, fetch_infos: list[tuple[TopicPartition, FetchInfo]]
                            ) -> list[tuple[TopicPartition, LogReadResult]]:
        limit = max_bytes
        min_one_message = not hard_max_bytes_limit
        out: list[tuple[TopicPartition, LogReadResult]] = []
        partitions = self.all_partitions
        for tp, fi in fetch_infos:
            adjusted = fi.max_bytes if fi.max_bytes < limit else limit
            try:
                partition = partitions.get(tp)
                if partition is None:
                    partition = self.get_partition_or_error(tp)
                info = partition.read_records(fi.fetch_offset, fi.current_leader_epoch, adjusted, isolation,
                                              fetch_only_from_leader, min_one_message)
                result = LogReadResult(info)
            except ApiError as exc:
                result = LogReadResult(None, exc.code, exc.message)
            except Exception:
                self.logger.error("Error processing fetch with max size %d from replica %d on partition %s",
                                  adjusted, replica_id, tp, exc_info=True)
                result = LogReadResult(None, ErrorCode.UNKNOWN_SERVER_ERROR)
            size = result.size
            if size > 0:
                min_one_message = False
            limit = limit - size if limit > size else 0
            out.append((tp, result))
        return out

    def update_follower_fetch_state(self, replica_id: int, fetch_infos: list[tuple[TopicPartition, FetchInfo]],
                                    results: list[tuple[TopicPartition, LogReadResult]]) -> None:
        for (tp, fi), (_tp, r) in zip(fetch_infos, results):
            if r.error_code:
                continue
            partition = self.all_partitions.get(tp)
            if partition is None:
                continue
            if partition.update_follower_fetch_state(replica_id, fi.fetch_offset, fi.log_start_offset,
                                                     r.log_end_offset):
                self.on_high_watermark_moved(tp)

    def on_high_watermark_moved(self, tp: TopicPartition) -> None:
        """Complete what a moved high watermark may unblock (acks=-1 produces, consumer fetches)."""
        self.produce_purgatory.check_and_complete(tp)
        self.fetch_purgatory.check_and_complete(tp)

    # ------------------------------------------------------------------ offsets
    def fetch_offset_for_timestamp(self, tp: TopicPartition, timestamp: int, isolation_level: int | None,
                                   current_leader_epoch: int, fetch_only_from_leader: bool
                                   ) -> tuple[int, int, int] | None:
        partition = self.get_partition_or_error(tp)
        return partition.fetch_offset_for_timestamp(timestamp, isolation_level, current_leader_epoch,
                                                    fetch_only_from_leader)

    def legacy_fetch_offsets(self, tp: TopicPartition, timestamp: int, max_num_offsets: int,
                             fetch_only_from_leader: bool, from_consumer: bool) -> list[int]:
        partition = self.get_partition_or_error(tp)
        partition.local_log_or_error(-1, fetch_only_from_leader)
        offsets = partition.legacy_fetch_offsets_before(timestamp, max_num_offsets, self.clock.now_ms())
        if not from_consumer:
            return offsets
        hw = partition.high_watermark
        if any(o > hw for o in offsets):
            rest = [o for o in offsets if o <= hw]
            return [hw] + rest
        return offsets

    # ------------------------------------------------------------------ LeaderAndIsr
    def become_leader_or_follower(self, correlation_id: int, controller_id: int, controller_epoch: int,
                                  states: list[tuple[TopicPartition, PartitionState]],
                                  live_leaders: dict[int, tuple[str, int]] | None = None
                                  ) -> tuple[int, dict[TopicPartition, int]]:
        """Apply a LeaderAndIsr request; returns (top-level error, per-partition errors)."""
        errors: dict[TopicPartition, int] = {}
        if controller_epoch < self.controller_epoch:
            state_change_log.warning(
                "[Broker id=%d] Ignoring LeaderAndIsr request from controller %d with correlation id %d since "
                "its controller epoch %d is old. Latest known controller epoch is %d", self.broker_id,
                controller_id, correlation_id, controller_epoch, self.controller_epoch)
            return ErrorCode.STALE_CONTROLLER_EPOCH, {tp: ErrorCode.STALE_CONTROLLER_EPOCH for tp, _ in states}
        self.controller_epoch = controller_epoch
        if live_leaders:
            self.leader_endpoints.update(live_leaders)
        to_process: list[tuple[Partition, PartitionState]] = []
        for tp, st in states:
            partition = self._get_or_create_partition(tp)
            current = partition.leader_epoch
            if st.leader_epoch > current:
                if self.broker_id in st.replicas:
                    to_process.append((partition, st))
                else:
                    state_change_log.warning(
                        "[Broker id=%d] Ignoring LeaderAndIsr request from controller %d with correlation id %d "
                        "epoch %d as itself is not in assigned replica list %s for partition %s", self.broker_id,
                        controller_id, correlation_id, controller_epoch, list(st.replicas), tp)
                    errors[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                state_change_log.info(
                    "[Broker id=%d] Ignoring LeaderAndIsr request from controller %d with correlation id %d epoch "
                    "%d for partition %s since its associated leader epoch %d is %s the current leader epoch %d",
                    self.broker_id, controller_id, correlation_id, controller_epoch, tp, st.leader_epoch,
                    "smaller than" if st.leader_epoch < current else "matched", current)
                errors[tp] = ErrorCode.STALE_CONTROLLER_EPOCH
        new_leaders: list[Partition] = []
        new_followers: dict[TopicPartition, Partition] = {}
        for partition, st in to_process:
            tp = partition.topic_partition
            try:
                if st.leader == self.broker_id:
                    partition.make_leader(st)
                    new_leaders.append(partition)
                else:
                    partition.make_follower(st)
                    new_followers[tp] = partition
                    state_change_log.info("[Broker id=%d] Follower %s starts at leader epoch %d with leader %d",
                                          self.broker_id, tp, st.leader_epoch, st.leader)
                errors[tp] = 0
            except ApiError as exc:
                state_change_log.error("[Broker id=%d] Error while applying LeaderAndIsr to %s: %s",
                                       self.broker_id, tp, exc)
                errors[tp] = exc.code
            except OSError as exc:
                state_change_log.error("[Broker id=%d] Storage error while making %s leader or follower: %s",
                                       self.broker_id, tp, exc)
                errors[tp] = KafkaStorageError.code
            # Leadership changed: complete waiting produces and fetches (they answer NOT_LEADER or read again).
            self.on_high_watermark_moved(tp)
        if new_followers:
            for listener in self.follower_listeners:
                listener(new_followers)
        if new_leaders or new_followers:
            for cb in self.leadership_change_listeners:
                cb(new_leaders, list(new_followers.values()))
        return 0, errors

    # ------------------------------------------------------------------ StopReplica
    def stop_replicas(self, correlation_id: int, controller_id: int, controller_epoch: int,
                      states: list[tuple[TopicPartition, int, bool]]) -> tuple[int, dict[TopicPartition, int]]:
        """Stop (and maybe delete) replicas; `states` holds (tp, leader epoch, delete)."""
        if controller_epoch < self.controller_epoch:
            state_change_log.warning(
                "[Broker id=%d] Ignoring StopReplica request from controller %d with correlation id %d since its "
                "controller epoch %d is old. Latest known controller epoch is %d", self.broker_id, controller_id,
                correlation_id, controller_epoch, self.controller_epoch)
            return ErrorCode.STALE_CONTROLLER_EPOCH, {}
        self.controller_epoch = controller_epoch
        errors: dict[TopicPartition, int] = {}
        stopped: list[TopicPartition] = []
        for tp, leader_epoch, delete in states:
            partition = self.all_partitions.get(tp)
            if partition is not None:
                current = partition.leader_epoch
                if leader_epoch not in (EPOCH_DURING_DELETE, NO_EPOCH) and leader_epoch < current:
                    state_change_log.info(
                        "[Broker id=%d] Ignoring StopReplica request from controller %d with correlation id %d "
                        "epoch %d for partition %s since its associated leader epoch %d is smaller than the "
                        "current leader epoch %d", self.broker_id, controller_id, correlation_id,
                        controller_epoch, tp, leader_epoch, current)
                    errors[tp] = ErrorCode.FENCED_LEADER_EPOCH
                    continue
            stopped.append(tp)
            try:
                if delete:
                    self.all_partitions.pop(tp, None)
                    if self.log_manager.get_log(tp) is not None:
                        self.log_manager.delete_log(tp)
                errors[tp] = 0
            except OSError as exc:
                state_change_log.error("[Broker id=%d] Storage error while stopping replica %s: %s",
                                       self.broker_id, tp, exc)
                errors[tp] = KafkaStorageError.code
            self.on_high_watermark_moved(tp)
        if stopped:
            for listener in self.stop_listeners:
                listener(stopped)
        return 0, errors

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        cancelled = self.produce_purgatory.cancel_all() + self.fetch_purgatory.cancel_all()
        if cancelled:
            self.logger.info("Cancelled %d delayed operations", cancelled)
        self.logger.info("Shut down completely")


__all__ = ["ReplicaManager", "FetchInfo", "LogReadResult", "LogManagerLike", "ProducePartitionStatus"]
