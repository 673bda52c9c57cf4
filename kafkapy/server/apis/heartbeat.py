"""Heartbeat (key 12), v0-v4: keep a member's session alive; learn about rebalances."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.heartbeat import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

HeartbeatResponse = API.response


def handle_heartbeat(ctx: RequestContext, request: Any, broker: Any) -> Any:
    coordinator = group_coordinator(broker)
    error = coordinator.handle_heartbeat(request.group_id, request.member_id,
                                         request.group_instance_id if ctx.api_version >= 3 else None,
                                         request.generation_id)
    return HeartbeatResponse(throttle_time_ms=0, error_code=error)


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.HEARTBEAT, 0, 4)
    dispatcher.register(ApiKey.HEARTBEAT, lambda ctx, req: handle_heartbeat(ctx, req, broker))
