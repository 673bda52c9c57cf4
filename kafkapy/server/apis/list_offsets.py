"""ListOffsets (key 2), v0-v6: earliest (-2), latest (-1) or by timestamp.

v0 answers a list of offsets (segment base offsets at or before the timestamp plus the log
end, at most ``max_num_offsets``, descending, capped by the high watermark for consumers);
v1+ answer one (timestamp, offset) pair, (-1, -1) when no record qualifies. Consumers see up
to the high watermark; a partition listed twice (v1+) is INVALID_REQUEST.
"""
from __future__ import annotations

from typing import Any

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import DEBUGGING_REPLICA_ID, TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.list_offsets import API
from kafkapy.server.request import RequestContext

ListOffsetsResponse = API.response
ListOffsetsTopicResponse = API.response.struct("topics")
ListOffsetsPartitionResponse = API.response.struct("topics", "partitions")


def handle_list_offsets(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    rm = broker.replica_manager
    replica_id = request.replica_id
    fetch_only_from_leader = replica_id != DEBUGGING_REPLICA_ID
    from_consumer = replica_id < 0 and replica_id != DEBUGGING_REPLICA_ID
    isolation = (request.isolation_level if version >= 2 else 0) if from_consumer else None
    seen: set[TopicPartition] = set()
    duplicates: set[TopicPartition] = set()
    for t in request.topics:
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            if tp in seen:
                duplicates.add(tp)
            seen.add(tp)
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            if version == 0:
                try:
                    offsets = rm.legacy_fetch_offsets(tp, p.timestamp, p.max_num_offsets, fetch_only_from_leader,
                                                      from_consumer)
                    parts.append(ListOffsetsPartitionResponse(partition_index=p.partition_index, error_code=0,
                                                              old_style_offsets=offsets))
                except ApiError as exc:
                    parts.append(ListOffsetsPartitionResponse(partition_index=p.partition_index,
                                                              error_code=exc.code, old_style_offsets=[]))
                continue
            if tp in duplicates:
                parts.append(ListOffsetsPartitionResponse(partition_index=p.partition_index,
                                                          error_code=ErrorCode.INVALID_REQUEST))
                continue
            try:
                found = rm.fetch_offset_for_timestamp(tp, p.timestamp, isolation, p.current_leader_epoch,
                                                      fetch_only_from_leader)
            except ApiError as exc:
                parts.append(ListOffsetsPartitionResponse(partition_index=p.partition_index, error_code=exc.code))
                continue
            if found is None:
                parts.append(ListOffsetsPartitionResponse(partition_index=p.partition_index, error_code=0,
                                                          timestamp=-1, offset=-1, leader_epoch=-1))
            else:
                ts, offset, epoch = found
                parts.append(ListOffsetsPartitionResponse(partition_index=p.partition_index, error_code=0,
                                                          timestamp=ts, offset=offset, leader_epoch=epoch))
        topics.append(ListOffsetsTopicResponse(name=t.name, partitions=parts))
    return ListOffsetsResponse(throttle_time_ms=0, topics=topics)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.LIST_OFFSETS, 0, 6)
    dispatcher.register(ApiKey.LIST_OFFSETS, lambda ctx, req: handle_list_offsets(ctx, req, broker))
