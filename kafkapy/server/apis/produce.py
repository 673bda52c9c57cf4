"""Produce (key 0), v0-v9: append each partition's records (a memoryview of the request) as leader.

Per partition errors: unknown topic (per the metadata snapshot), not leader, invalid records
(v3+ must carry exactly one v2 batch; zstd needs v7+), too large, and so on. acks=0 gets no
answer, and any error closes the connection instead, as Kafka does. acks=-1 waits in the
produce purgatory until the high watermark passes the appended offsets, or `timeout_ms`.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.produce import API
from kafkapy.server.delayed import ProducePartitionStatus
from kafkapy.server.request import CLOSE_CONNECTION, NO_RESPONSE, RequestContext

log = logging.getLogger(__name__)

ProduceResponse = API.response
TopicProduceResponse = API.response.struct("responses")
PartitionProduceResponse = API.response.struct("responses", "partition_responses")

# The admin client id that may write to internal topics (Kafka's AdminUtils.AdminClientId).
ADMIN_CLIENT_ID = "__admin_client"


def handle_produce(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    acks = request.acks
    snapshot = broker.metadata_cache.snapshot
    entries: list[tuple[TopicPartition, Any]] = []
    early: dict[TopicPartition, ProducePartitionStatus] = {}
    for t in request.topic_data:
        name = t.name
        known = snapshot.contains_topic(name)
        for p in t.partition_data:
            tp = TopicPartition(name, p.index)
            if not known:
                early[tp] = ProducePartitionStatus(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            else:
                entries.append((tp, p.records))

    def respond(statuses: dict[TopicPartition, ProducePartitionStatus]) -> Any:
        if early:
            statuses.update(early)
        if acks == 0:
            errors = [(tp, st.error_code) for tp, st in statuses.items() if st.error_code]
            if errors:
                log.info("Closing connection %s from client %s due to error during produce request with "
                         "acks=0: %s", ctx.connection_id, ctx.client_id,
                         ", ".join(f"{tp}: {code}" for tp, code in errors[:5]))
                return CLOSE_CONNECTION
            return NO_RESPONSE
        return build_response(request, statuses, version)

    internal_allowed = ctx.client_id == ADMIN_CLIENT_ID
    return broker.replica_manager.append_records(
        request.timeout_ms, acks, internal_allowed, entries, respond,
        require_single_v2_batch=version >= 3, allow_zstd=version >= 7)


def build_response(request: Any, statuses: dict[TopicPartition, ProducePartitionStatus], version: int) -> Any:
    with_messages = version >= 8
    topics = []
    for t in request.topic_data:
        name = t.name
        parts = []
        for p in t.partition_data:
            st = statuses.get(TopicPartition(name, p.index))
            if st is None:
                continue
            parts.append(PartitionProduceResponse(
                index=p.index, error_code=st.error_code, base_offset=st.base_offset,
                log_append_time_ms=st.log_append_time, log_start_offset=st.log_start_offset,
                record_errors=[], error_message=st.error_message if with_messages and st.error_code else None))
        topics.append(TopicProduceResponse(name=name, partition_responses=parts))
    return ProduceResponse(responses=topics, throttle_time_ms=0)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.PRODUCE, 0, 9)
    dispatcher.register(ApiKey.PRODUCE, lambda ctx, req: handle_produce(ctx, req, broker))
