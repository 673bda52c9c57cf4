"""FindCoordinator (key 10), v0-v3: the broker leading the group's `__consumer_offsets` partition.

The group coordinator is built and wired by the composition root (`server/broker.py`);
`group_coordinator(broker)` is how every group handler reaches it. The offsets topic is created on first use, as Kafka does;
until its partition has a live leader the answer is COORDINATOR_NOT_AVAILABLE. Transaction
coordinators (key_type 1) do not exist here: COORDINATOR_NOT_AVAILABLE.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.find_coordinator import API
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

FindCoordinatorResponse = API.response
GROUP_METADATA_TOPIC = "__consumer_offsets"
COORDINATOR_TYPE_GROUP = 0
COORDINATOR_TYPE_TRANSACTION = 1


def group_coordinator(broker: Any) -> Any:
    """The broker's GroupCoordinator (built and wired by the composition root, `server/broker.py`)."""
    coordinator = getattr(broker, "group_coordinator", None)
    if coordinator is None:
        raise RuntimeError("the broker has no group coordinator (server/broker.py builds it before the handlers)")
    return coordinator


def _error(version: int, code: int) -> Any:
    return FindCoordinatorResponse(throttle_time_ms=0, error_code=code, error_message=None, node_id=-1, host="",
                                   port=-1)


async def handle_find_coordinator(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    key_type = request.key_type if version >= 1 else COORDINATOR_TYPE_GROUP
    if key_type == COORDINATOR_TYPE_TRANSACTION:
        return _error(version, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    if key_type != COORDINATOR_TYPE_GROUP:
        return _error(version, ErrorCode.INVALID_REQUEST)
    coordinator = group_coordinator(broker)
    snapshot = broker.metadata_cache.snapshot
    if not snapshot.contains_topic(GROUP_METADATA_TOPIC):
        from kafkapy.server.apis.metadata import create_topic
        await create_topic(broker, GROUP_METADATA_TOPIC)
        return _error(version, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    tp = TopicPartition(GROUP_METADATA_TOPIC, coordinator.partition_for(request.key))
    info = snapshot.partition_info(tp)
    if info is None or info.leader < 0:
        return _error(version, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    broker_info = snapshot.alive_broker(info.leader)
    endpoint = broker_info.endpoint(ctx.listener_name) if broker_info is not None else None
    if endpoint is None:
        return _error(version, ErrorCode.COORDINATOR_NOT_AVAILABLE)
    return FindCoordinatorResponse(throttle_time_ms=0, error_code=ErrorCode.NONE,
                                   error_message="NONE" if version >= 1 else None,
                                   node_id=info.leader, host=endpoint.host, port=endpoint.port)


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.FIND_COORDINATOR, 0, 3)
    dispatcher.register(ApiKey.FIND_COORDINATOR, lambda ctx, req: handle_find_coordinator(ctx, req, broker))
