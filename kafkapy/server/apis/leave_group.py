"""LeaveGroup (key 13), v0-v4: members leave (one before v3, a batch with instance ids from v3)."""
from __future__ import annotations

from typing import Any

from kafkapy.common.types import LeaveMember
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.leave_group import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

LeaveGroupResponse = API.response
MemberResponse = API.response.struct("members")


def handle_leave_group(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    coordinator = group_coordinator(broker)
    if version >= 3:
        leaving = [LeaveMember(m.member_id, m.group_instance_id) for m in request.members]
    else:
        leaving = [LeaveMember(request.member_id, None)]
    top, errors = coordinator.handle_leave_group(request.group_id, leaving)
    if version < 3:
        return LeaveGroupResponse(throttle_time_ms=0, error_code=top if top else errors[0])
    return LeaveGroupResponse(throttle_time_ms=0, error_code=top, members=[
        MemberResponse(member_id=m.member_id, group_instance_id=m.group_instance_id, error_code=e)
        for m, e in zip(leaving, errors)] if top == 0 else [])


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.LEAVE_GROUP, 0, 4)
    dispatcher.register(ApiKey.LEAVE_GROUP, lambda ctx, req: handle_leave_group(ctx, req, broker))
