"""SyncGroup (key 14), v0-v5: the leader hands in the assignment; every member gets its share."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.sync_group import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

SyncGroupResponse = API.response


async def handle_sync_group(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    coordinator = group_coordinator(broker)
    fut = coordinator.handle_sync_group(
        request.group_id, request.generation_id, request.member_id,
        request.protocol_type if version >= 5 else None, request.protocol_name if version >= 5 else None,
        request.group_instance_id if version >= 3 else None,
        {a.member_id: bytes(a.assignment) for a in request.assignments})
    result = await fut
    return SyncGroupResponse(throttle_time_ms=0, error_code=result.error,
                             protocol_type=result.protocol_type if result.error == 0 else None,
                             protocol_name=result.protocol_name if result.error == 0 else None,
                             assignment=result.assignment)


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.SYNC_GROUP, 0, 5)
    dispatcher.register(ApiKey.SYNC_GROUP, lambda ctx, req: handle_sync_group(ctx, req, broker))
