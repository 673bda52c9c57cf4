"""OffsetForLeaderEpoch (key 23), v0-v4: where a leader epoch ends in this leader's log.

Followers (replica_id >= 0, v3+) ask it before fetching from a new leader and truncate to the
answer (KIP-101/KIP-279); consumers ask it to detect log truncation (KIP-320). The answer for
epoch E is (the largest epoch <= E that the leader holds, the start offset of the first
epoch above E), or the leader's log end offset when E is its latest epoch; (-1, -1) when the
leader knows no epoch <= E. Only leaders answer, except to the debugging replica id -2.
``current_leader_epoch`` (v2+) is checked as for Fetch (FENCED/UNKNOWN_LEADER_EPOCH).
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.offset_for_leader_epoch import API
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1
DEBUGGING_REPLICA_ID = -2

TopicResult = API.response.struct("topics")
EpochEndOffset = API.response.struct("topics", "partitions")


def end_offset_for(replica_manager: Any, tp: TopicPartition, current_leader_epoch: int, leader_epoch: int,
                   fetch_only_from_leader: bool) -> tuple[int, int, int]:
    """(error code, epoch, end offset) for one partition."""
    try:
        partition = replica_manager.get_partition_or_error(tp)
        lg = partition.local_log_or_error(current_leader_epoch, fetch_only_from_leader)
        epoch, end = lg.end_offset_for_epoch(leader_epoch)
        return ErrorCode.NONE, epoch, end
    except ApiError as exc:
        return exc.code, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET


def handle_offset_for_leader_epoch(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    replica_id = request.replica_id if version >= 3 else DEBUGGING_REPLICA_ID
    fetch_only_from_leader = replica_id != DEBUGGING_REPLICA_ID
    rm = broker.replica_manager
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            current = p.current_leader_epoch if version >= 2 else -1
            code, epoch, end = end_offset_for(rm, TopicPartition(t.topic, p.partition), current, p.leader_epoch,
                                              fetch_only_from_leader)
            parts.append(EpochEndOffset(error_code=code, partition=p.partition, leader_epoch=epoch, end_offset=end))
        topics.append(TopicResult(topic=t.topic, partitions=parts))
    return API.response(throttle_time_ms=0, topics=topics)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.OFFSET_FOR_LEADER_EPOCH, 0, 4)
    dispatcher.register(ApiKey.OFFSET_FOR_LEADER_EPOCH,
                        lambda ctx, req: handle_offset_for_leader_epoch(ctx, req, broker))
