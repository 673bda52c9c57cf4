"""OffsetFetch (key 9), v0-v7.

v0 reads ZooKeeper (``/consumers/<group>/offsets/<topic>/<partition>``; a missing node or an
unknown partition is offset -1 with UNKNOWN_TOPIC_OR_PARTITION); v1+ ask the group
coordinator's cache (no committed offset: -1, no error). From v2, ``topics`` null means every
partition the group has offsets for, and the top-level error carries coordinator errors.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.offset_fetch import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

OffsetFetchResponse = API.response
TopicResponse = API.response.struct("topics")
PartitionResponse = API.response.struct("topics", "partitions")

# (offset, leader epoch, metadata, error)
Entry = tuple[int, int, str, int]


def _response(order: list[TopicPartition], entries: dict[TopicPartition, Entry], top_error: int,
              version: int) -> Any:
    topics: dict[str, list[Any]] = {}
    for tp in order:
        offset, epoch, metadata, error = entries[tp]
        topics.setdefault(tp.topic, []).append(PartitionResponse(
            partition_index=tp.partition, committed_offset=offset, committed_leader_epoch=epoch,
            metadata=metadata, error_code=error))
    return OffsetFetchResponse(throttle_time_ms=0, error_code=top_error, topics=[
        TopicResponse(name=name, partitions=parts) for name, parts in topics.items()])


async def handle_offset_fetch(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    coordinator = group_coordinator(broker)
    requested: list[TopicPartition] | None = None
    if request.topics is not None:
        requested = [TopicPartition(t.name, p) for t in request.topics for p in t.partition_indexes]
    if version == 0:
        snapshot = broker.metadata_cache.snapshot
        entries: dict[TopicPartition, Entry] = {}
        for tp in requested or []:
            offset = None
            if snapshot.contains_partition(tp):
                try:
                    offset = await broker.zk_client.get_consumer_offset(request.group_id, tp)
                except Exception:
                    log.error("Reading the ZooKeeper offset of group %s for %s failed", request.group_id, tp,
                              exc_info=True)
            entries[tp] = (offset, -1, "", ErrorCode.NONE) if offset is not None else \
                (-1, -1, "", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        return _response(requested or [], entries, ErrorCode.NONE, version)
    if request.group_id is None:
        error, found = ErrorCode.INVALID_GROUP_ID, {}
    else:
        error, found = coordinator.handle_fetch_offsets(request.group_id, requested)
    if error != ErrorCode.NONE:
        order = requested or []
        if version >= 2:
            return _response([], {}, error, version)
        return _response(order, {tp: (-1, -1, "", error) for tp in order}, error, version)
    order = requested if requested is not None else sorted(found, key=lambda tp: (tp.topic, tp.partition))
    entries = {}
    for tp in order:
        om = found.get(tp)
        if om is None:
            entries[tp] = (-1, -1, "", ErrorCode.NONE)
        else:
            entries[tp] = (om.offset, om.leader_epoch, om.metadata, ErrorCode.NONE)
    return _response(order, entries, ErrorCode.NONE, version)


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.OFFSET_FETCH, 0, 7)
    dispatcher.register(ApiKey.OFFSET_FETCH, lambda ctx, req: handle_offset_fetch(ctx, req, broker))
