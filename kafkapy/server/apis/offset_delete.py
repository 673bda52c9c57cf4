"""OffsetDelete (key 47), v0: delete a group's offsets for partitions it no longer consumes."""
from __future__ import annotations

import asyncio
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.offset_delete import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

OffsetDeleteResponse = API.response
TopicResponse = API.response.struct("topics")
PartitionResponse = API.response.struct("topics", "partitions")


async def handle_offset_delete(ctx: RequestContext, request: Any, broker: Any) -> Any:
    coordinator = group_coordinator(broker)
    snapshot = broker.metadata_cache.snapshot
    errors: dict[TopicPartition, int] = {}
    wanted = []
    for t in request.topics:
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            if snapshot.contains_partition(tp):
                wanted.append(tp)
            else:
                errors[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    top, result = coordinator.handle_delete_offsets(request.group_id, wanted)
    if top != ErrorCode.NONE:
        return OffsetDeleteResponse(error_code=top, throttle_time_ms=0, topics=[])
    if isinstance(result, asyncio.Future):
        result = await result
    errors.update(result)
    return OffsetDeleteResponse(error_code=ErrorCode.NONE, throttle_time_ms=0, topics=[
        TopicResponse(name=t.name, partitions=[
            PartitionResponse(partition_index=p.partition_index,
                              error_code=errors.get(TopicPartition(t.name, p.partition_index), ErrorCode.NONE))
            for p in t.partitions]) for t in request.topics])


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.OFFSET_DELETE, 0, 0)
    dispatcher.register(ApiKey.OFFSET_DELETE, lambda ctx, req: handle_offset_delete(ctx, req, broker))
