"""DelayedProduce and DelayedFetch: requests waiting in a purgatory (Kafka's classes of the same names).

A `DelayedProduce` (acks=-1) waits until the high watermark of every partition it wrote
reaches the offset after its append, or until its timeout, when the partitions still
waiting answer REQUEST_TIMED_OUT. A `DelayedFetch` waits until enough bytes are readable
(min_bytes), a partition's leadership changes, or max_wait_ms passes; it then reads again.
Both are keyed by TopicPartition in their purgatory and completed by
`check_and_complete(tp)` after appends and high-watermark moves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from kafkapy.common.clock import Clock
from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.server.purgatory import DelayedOperation


class ProducePartitionStatus:
    """One partition of a produce request: its append result and, while waiting, the offset needed."""

    __slots__ = ("required_offset", "error_code", "base_offset", "log_append_time", "log_start_offset",
                 "error_message", "acks_pending", "record_errors")

    def __init__(self, error_code: int = 0, base_offset: int = -1, log_append_time: int = -1,
                 log_start_offset: int = -1, error_message: str | None = None, required_offset: int = -1) -> None:
        self.required_offset = required_offset
        self.error_code = error_code
        self.base_offset = base_offset
        self.log_append_time = log_append_time
        self.log_start_offset = log_start_offset
        self.error_message = error_message
        self.acks_pending = False
        self.record_errors: list[tuple[int, str | None]] = []

    def __repr__(self) -> str:
        return (f"ProducePartitionStatus(error={self.error_code}, base_offset={self.base_offset}, "
                f"required_offset={self.required_offset}, pending={self.acks_pending})")


class ReplicaLookup(Protocol):
    def online_partition(self, tp: TopicPartition) -> Any: ...


class DelayedProduce(DelayedOperation):
    """acks=-1: completes when every pending partition's HW passed its required offset."""

    def __init__(self, clock: Clock, timeout_ms: int, statuses: dict[TopicPartition, ProducePartitionStatus],
                 replicas: ReplicaLookup, respond: Callable[[dict[TopicPartition, ProducePartitionStatus]], Any]
                 ) -> None:
        for st in statuses.values():
            if st.error_code == 0 and st.required_offset >= 0:
                st.acks_pending = True
                st.error_code = ErrorCode.REQUEST_TIMED_OUT   # the answer if time runs out
        self.statuses = statuses
        self._replicas = replicas
        self._respond = respond
        super().__init__(clock, timeout_ms)

    def try_complete(self) -> bool:
        waiting = False
        for tp, st in self.statuses.items():
            if not st.acks_pending:
                continue
            partition = self._replicas.online_partition(tp)
            if partition is None:
                st.acks_pending = False
                st.error_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            done, error = partition.check_enough_replicas_reach_offset(st.required_offset)
            if error:
                st.acks_pending = False
                st.error_code = error
            elif done:
                st.acks_pending = False
                st.error_code = 0
            else:
                waiting = True
        if waiting:
            return False
        return self.finish(self._respond(self.statuses))

    def result_on_timeout(self) -> Any:
        return self._respond(self.statuses)

    def __repr__(self) -> str:
        return f"DelayedProduce({self.statuses})"


@dataclass(frozen=True, slots=True)
class FetchPartitionStatus:
    """Where a waiting fetch stood for one partition: its fetch offset's position on disk."""

    fetch_offset: int
    segment_base_offset: int
    position: int
    current_leader_epoch: int


class DelayedFetch(DelayedOperation):
    """Waits for `min_bytes` readable bytes over its partitions; `read_again()` builds the answer."""

    def __init__(self, clock: Clock, timeout_ms: int, min_bytes: int,
                 statuses: dict[TopicPartition, FetchPartitionStatus], replicas: ReplicaLookup,
                 from_follower: bool, read_again: Callable[[], Any]) -> None:
        self.min_bytes = min_bytes
        self.statuses = statuses
        self._replicas = replicas
        self._from_follower = from_follower
        self._read_again = read_again
        super().__init__(clock, timeout_ms)

    def try_complete(self) -> bool:
        accumulated = 0
        for tp, st in self.statuses.items():
            partition = self._replicas.online_partition(tp)
            if partition is None or partition.log is None:
                return self.finish(self._read_again())        # the partition went away: answer now
            if self._from_follower:
                if not partition.is_leader:
                    return self.finish(self._read_again())
            elif not partition.is_leader:
                return self.finish(self._read_again())
            if st.current_leader_epoch >= 0 and st.current_leader_epoch != partition.leader_epoch:
                return self.finish(self._read_again())
            lg = partition.log
            if self._from_follower:
                end = lg.log_end_offset_metadata
            else:
                hw = lg.high_watermark
                leo_meta = lg.log_end_offset_metadata
                end = leo_meta if hw == leo_meta.message_offset else lg.offset_metadata(hw)
            if end.message_offset < st.fetch_offset:
                return self.finish(self._read_again())        # truncated below the fetch offset
            if end.message_offset == st.fetch_offset:
                continue
            if end.segment_base_offset < 0:
                return self.finish(self._read_again())
            if end.segment_base_offset != st.segment_base_offset:
                return self.finish(self._read_again())        # the fetch offset's segment is complete
            accumulated += end.relative_position_in_segment - st.position
        if accumulated >= self.min_bytes:
            return self.finish(self._read_again())
        return False

    def result_on_timeout(self) -> Any:
        return self._read_again()

    def __repr__(self) -> str:
        return f"DelayedFetch(partitions={len(self.statuses)}, min_bytes={self.min_bytes})"


__all__ = ["DelayedProduce", "DelayedFetch", "ProducePartitionStatus", "FetchPartitionStatus"]
