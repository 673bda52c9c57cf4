"""DeleteRecords (key 21), v0-v2: advance the log start offset of partitions this broker leads.

Per partition, as Kafka: unknown → UNKNOWN_TOPIC_OR_PARTITION, not the leader →
NOT_LEADER_OR_FOLLOWER, offset -1 means the high watermark, an offset below 0 or above the
high watermark → OFFSET_OUT_OF_RANGE. The answer carries the low watermark: the smallest log
start offset over the live replicas. With followers, the request waits (up to its timeout)
until every live replica's log start offset reached the requested offset (Kafka's
DelayedDeleteRecords); followers report theirs in their fetches, so the wait re-checks on a
short timer instead of a purgatory key.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.delete_records import API
from kafkapy.server.purgatory import DelayedOperation
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

DeleteRecordsResponse = API.response
DeleteRecordsTopicResult = API.response.struct("topics")
DeleteRecordsPartitionResult = API.response.struct("topics", "partitions")

HIGH_WATERMARK = -1
RECHECK_MS = 50


def low_watermark_if_leader(partition: Any, snapshot: Any) -> int:
    """The smallest log start offset over the leader and its live followers."""
    if not partition.is_leader or partition.log is None:
        raise ApiError(ErrorCode.NOT_LEADER_OR_FOLLOWER,
                       f"Leader not local for partition {partition.topic_partition}")
    low = partition.log.log_start_offset
    for rid, replica in partition.remote_replicas.items():
        if snapshot.alive_broker(rid) is not None and 0 <= replica.log_start_offset < low:
            low = replica.log_start_offset
    return low


def delete_records_on_partition(broker: Any, tp: TopicPartition, offset: int) -> tuple[int, int]:
    """Advance the log start offset of `tp`; returns (requested offset, low watermark)."""
    rm = broker.replica_manager
    partition = rm.get_partition_or_error(tp)
    if not partition.is_leader or partition.log is None:
        raise ApiError(ErrorCode.NOT_LEADER_OR_FOLLOWER, f"Leader not local for partition {tp} on broker "
                                                         f"{broker.broker_id}")
    lg = partition.log
    converted = lg.high_watermark if offset == HIGH_WATERMARK else offset
    if converted < 0 or converted > lg.high_watermark:
        raise ApiError(ErrorCode.OFFSET_OUT_OF_RANGE,
                       f"Cannot increment the log start offset to {converted} of partition {tp} since it is "
                       f"larger than the high watermark {lg.high_watermark}")
    lg.delete_records_before(converted)
    return converted, low_watermark_if_leader(partition, broker.metadata_cache.snapshot)


class DelayedDeleteRecords(DelayedOperation):
    """Waits until the low watermark of every pending partition reached its requested offset."""

    def __init__(self, broker: Any, timeout_ms: int, status: dict[TopicPartition, list[int]]) -> None:
        super().__init__(broker.clock, timeout_ms)
        self.broker = broker
        self.status = status   # tp -> [requested offset, low watermark, error code]
        self._recheck = None

    def try_complete(self) -> bool:
        rm = self.broker.replica_manager
        snapshot = self.broker.metadata_cache.snapshot
        pending = False
        for tp, st in self.status.items():
            if st[2] or st[1] >= st[0]:
                continue
            try:
                st[1] = low_watermark_if_leader(rm.get_partition_or_error(tp), snapshot)
            except ApiError as exc:
                st[2] = exc.code
                st[1] = -1
                continue
            if st[1] < st[0]:
                pending = True
        if pending:
            self._recheck = self.broker.clock.call_later(RECHECK_MS, self._on_recheck)
            return False
        return self.finish(self.status)

    def _on_recheck(self) -> None:
        if not self.future.done():
            self.try_complete()

    def result_on_timeout(self) -> Any:
        for st in self.status.values():
            if not st[2] and st[1] < st[0]:
                st[2] = int(ErrorCode.REQUEST_TIMED_OUT)
        return self.status

    def on_expiration(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()


async def handle_delete_records(ctx: RequestContext, request: Any, broker: Any) -> Any:
    snapshot = broker.metadata_cache.snapshot
    status: dict[TopicPartition, list[int]] = {}
    for t in request.topics:
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            if not snapshot.contains_partition(tp):
                status[tp] = [p.offset, -1, int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
                continue
            try:
                requested, low = delete_records_on_partition(broker, tp, p.offset)
                status[tp] = [requested, low, 0]
            except ApiError as exc:
                status[tp] = [p.offset, -1, exc.code]
            except Exception:
                log.error("Error processing delete records operation on partition %s", tp, exc_info=True)
                status[tp] = [p.offset, -1, int(ErrorCode.UNKNOWN_SERVER_ERROR)]
    if any(not st[2] and st[1] < st[0] for st in status.values()) and request.timeout_ms > 0:
        op = DelayedDeleteRecords(broker, request.timeout_ms, status)
        if not op.try_complete():
            await op.future
    elif request.timeout_ms <= 0:
        for st in status.values():
            if not st[2] and st[1] < st[0]:
                st[2] = int(ErrorCode.REQUEST_TIMED_OUT)
    topics: dict[str, list[Any]] = {}
    for tp, (_requested, low, code) in status.items():
        topics.setdefault(tp.topic, []).append(DeleteRecordsPartitionResult(
            partition_index=tp.partition, low_watermark=low if not code else -1, error_code=code))
    return DeleteRecordsResponse(throttle_time_ms=0, topics=[
        DeleteRecordsTopicResult(name=name, partitions=parts) for name, parts in topics.items()])


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.DELETE_RECORDS, 0, 2)
    dispatcher.register(ApiKey.DELETE_RECORDS, lambda ctx, req: handle_delete_records(ctx, req, broker))
