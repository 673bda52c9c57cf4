"""StopReplica (key 5), v0-v3, broker side: stop replicas, deleting their logs when asked.

v0-v2 carry one ``delete_partitions`` flag for the whole request; v3 carries a leader epoch
and a delete flag per partition (an epoch older than ours → FENCED_LEADER_EPOCH; -2 marks a
topic being deleted). Stale broker and controller epochs are refused as for LeaderAndIsr.
"""
from __future__ import annotations

from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.stop_replica import API
from kafkapy.server.apis.leader_and_isr import is_broker_epoch_stale
from kafkapy.server.request import RequestContext

StopReplicaResponse = API.response
PartitionError = API.response.struct("partition_errors")


def partition_states(request: Any, version: int) -> list[tuple[TopicPartition, int, bool]]:
    if version == 0:
        return [(TopicPartition(p.topic_name, p.partition_index), -1, bool(request.delete_partitions))
                for p in request.ungrouped_partitions]
    if version <= 2:
        return [(TopicPartition(t.name, i), -1, bool(request.delete_partitions))
                for t in request.topics for i in t.partition_indexes]
    return [(TopicPartition(t.topic_name, p.partition_index), p.leader_epoch, bool(p.delete_partition))
            for t in request.topic_states for p in t.partition_states]


def handle_stop_replica(ctx: RequestContext, request: Any, broker: Any) -> Any:
    states = partition_states(request, ctx.api_version)
    if is_broker_epoch_stale(broker, request.broker_epoch):
        return StopReplicaResponse(error_code=ErrorCode.STALE_BROKER_EPOCH, partition_errors=[])
    top, errors = broker.replica_manager.stop_replicas(ctx.correlation_id, request.controller_id,
                                                       request.controller_epoch, states)
    return StopReplicaResponse(error_code=top, partition_errors=[
        PartitionError(topic_name=tp.topic, partition_index=tp.partition, error_code=errors[tp])
        for tp, _e, _d in states if tp in errors])


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.STOP_REPLICA, 0, 3)
    dispatcher.register(ApiKey.STOP_REPLICA, lambda ctx, req: handle_stop_replica(ctx, req, broker))
