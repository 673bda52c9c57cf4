"""LeaderAndIsr (key 4), v0-v5, broker side: become leader or follower of partitions.

A request stamped with an older broker epoch than ours (a bounced broker's old session) is
STALE_BROKER_EPOCH; an older controller epoch is STALE_CONTROLLER_EPOCH; per partition a
leader epoch that is not newer than ours is ignored (STALE_CONTROLLER_EPOCH) as Kafka does.
Topic configs (`/config/topics/<t>`) are read from ZooKeeper before logs are created for
partitions new to this broker; the state change itself is applied synchronously afterwards.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.leader_and_isr import API
from kafkapy.protocol.schema import ZERO_UUID
from kafkapy.server.partition import PartitionState
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

LeaderAndIsrResponse = API.response
PartitionError = API.response.struct("partition_errors")
TopicError = API.response.struct("topics")


def partition_states(request: Any, version: int) -> list[tuple[TopicPartition, PartitionState, Any]]:
    """(tp, state, topic id) for every partition of the request."""
    out = []
    if version <= 1:
        groups = [(None, ZERO_UUID, request.ungrouped_partition_states)]
    else:
        groups = [(t.topic_name, getattr(t, "topic_id", ZERO_UUID), t.partition_states) for t in request.topic_states]
    for topic, topic_id, states in groups:
        for s in states:
            name = topic if topic is not None else s.topic_name
            out.append((TopicPartition(name, s.partition_index),
                        PartitionState(s.controller_epoch, s.leader, s.leader_epoch, tuple(s.isr), s.zk_version,
                                       tuple(s.replicas), tuple(s.adding_replicas), tuple(s.removing_replicas),
                                       bool(s.is_new)), topic_id))
    return out


def build_response(version: int, top_error: int, states: list[tuple[TopicPartition, PartitionState, Any]],
                   errors: dict[TopicPartition, int]) -> Any:
    if version <= 4:
        return LeaderAndIsrResponse(error_code=top_error, partition_errors=[
            PartitionError(topic_name=tp.topic, partition_index=tp.partition, error_code=errors.get(tp, top_error))
            for tp, _s, _id in states])
    topics: dict[str, Any] = {}
    for tp, _s, topic_id in states:
        entry = topics.get(tp.topic)
        if entry is None:
            entry = topics[tp.topic] = TopicError(topic_id=topic_id, partition_errors=[])
        entry.partition_errors.append(PartitionError(partition_index=tp.partition,
                                                     error_code=errors.get(tp, top_error)))
    return LeaderAndIsrResponse(error_code=top_error, topics=list(topics.values()))


def is_broker_epoch_stale(broker: Any, request_epoch: int) -> bool:
    return request_epoch != -1 and request_epoch < broker.broker_epoch


async def handle_leader_and_isr(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    states = partition_states(request, version)
    if is_broker_epoch_stale(broker, request.broker_epoch):
        log.info("Received LeaderAndIsr request with broker epoch %d smaller than the current broker epoch %d",
                 request.broker_epoch, broker.broker_epoch)
        return build_response(version, ErrorCode.STALE_BROKER_EPOCH, states, {})
    rm = broker.replica_manager
    new_topics = {tp.topic for tp, _s, _id in states if rm.log_manager.get_log(tp) is None}
    if new_topics:
        await broker.load_topic_configs(new_topics)
    live_leaders = {b.broker_id: (b.host_name, b.port) for b in request.live_leaders}
    top, errors = rm.become_leader_or_follower(ctx.correlation_id, request.controller_id,
                                               request.controller_epoch, [(tp, s) for tp, s, _id in states],
                                               live_leaders)
    # New leaders recorded their epoch in memory; the checkpoint writes (an fsync each) run in the
    # executor, and the controller hears back once they are on disk.
    writes = [w for tp, s, _id in states if s.leader == broker.broker_id and errors.get(tp) == 0
              and (lg := rm.log_manager.get_log(tp)) is not None and (w := lg.pending_epoch_checkpoint()) is not None]
    if writes:
        await asyncio.get_running_loop().run_in_executor(getattr(broker, "executor", None),
                                                         write_epoch_checkpoints, writes)
    return build_response(version, top, states, errors)


def write_epoch_checkpoints(writes: list[Any]) -> None:
    for write in writes:
        try:
            write()
        except OSError as exc:
            log.error("Writing a leader-epoch checkpoint failed: %s", exc)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.LEADER_AND_ISR, 0, 5)
    dispatcher.register(ApiKey.LEADER_AND_ISR, lambda ctx, req: handle_leader_and_isr(ctx, req, broker))
