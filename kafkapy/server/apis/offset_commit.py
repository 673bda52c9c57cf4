"""OffsetCommit (key 8), v0-v8.

v0 stores offsets in ZooKeeper at ``/consumers/<group>/offsets/<topic>/<partition>`` (as 0.8.1
brokers did; metadata is dropped); v1+ go to the group coordinator, which appends them to
`__consumer_offsets`. Partitions of unknown topics answer UNKNOWN_TOPIC_OR_PARTITION.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import OffsetAndMetadata, TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.offset_commit import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

OffsetCommitResponse = API.response
TopicResponse = API.response.struct("topics")
PartitionResponse = API.response.struct("topics", "partitions")
DEFAULT_TIMESTAMP = -1
DEFAULT_RETENTION_TIME = -1


def _response(request: Any, errors: dict[TopicPartition, int]) -> Any:
    topics = []
    for t in request.topics:
        topics.append(TopicResponse(name=t.name, partitions=[
            PartitionResponse(partition_index=p.partition_index,
                              error_code=errors.get(TopicPartition(t.name, p.partition_index),
                                                    ErrorCode.UNKNOWN_SERVER_ERROR))
            for p in t.partitions]))
    return OffsetCommitResponse(throttle_time_ms=0, topics=topics)


async def handle_offset_commit(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    coordinator = group_coordinator(broker)
    snapshot = broker.metadata_cache.snapshot
    errors: dict[TopicPartition, int] = {}
    wanted: dict[TopicPartition, Any] = {}
    for t in request.topics:
        for p in t.partitions:
            tp = TopicPartition(t.name, p.partition_index)
            if not snapshot.contains_partition(tp):
                errors[tp] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                wanted[tp] = p
    if request.group_id is None:
        return _response(request, {tp: ErrorCode.INVALID_GROUP_ID for tp in list(errors) + list(wanted)})
    if version == 0:
        zk = broker.zk_client
        for tp, p in wanted.items():
            try:
                await zk.set_or_create_consumer_offset(request.group_id, tp, p.committed_offset)
                errors[tp] = ErrorCode.NONE
            except Exception:
                log.error("Writing the ZooKeeper offset of group %s for %s failed", request.group_id, tp,
                          exc_info=True)
                errors[tp] = ErrorCode.UNKNOWN_SERVER_ERROR
        return _response(request, errors)
    now = broker.clock.now_ms()
    retention = request.retention_time_ms if 2 <= version <= 4 else DEFAULT_RETENTION_TIME
    offsets = {}
    for tp, p in wanted.items():
        commit_ts = p.commit_timestamp if version == 1 else DEFAULT_TIMESTAMP
        offsets[tp] = OffsetAndMetadata(
            p.committed_offset, p.committed_leader_epoch if version >= 6 else -1,
            p.committed_metadata if p.committed_metadata is not None else "",
            now if commit_ts == DEFAULT_TIMESTAMP else commit_ts,
            None if retention == DEFAULT_RETENTION_TIME else now + retention)
    if offsets:
        result = await coordinator.handle_commit_offsets(
            request.group_id, request.member_id, request.group_instance_id if version >= 7 else None,
            request.generation_id, offsets)
        errors.update(result)
    return _response(request, errors)


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.OFFSET_COMMIT, 0, 8)
    dispatcher.register(ApiKey.OFFSET_COMMIT, lambda ctx, req: handle_offset_commit(ctx, req, broker))
