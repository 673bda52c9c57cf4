"""ListGroups (key 16), v0-v4: the groups this broker coordinates (v4: filtered by state)."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.list_groups import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

ListGroupsResponse = API.response
ListedGroup = API.response.struct("groups")


def handle_list_groups(ctx: RequestContext, request: Any, broker: Any) -> Any:
    coordinator = group_coordinator(broker)
    states = set(request.states_filter) if ctx.api_version >= 4 and request.states_filter else None
    error, groups = coordinator.handle_list_groups(states)
    return ListGroupsResponse(throttle_time_ms=0, error_code=error, groups=[
        ListedGroup(group_id=gid, protocol_type=ptype, group_state=state) for gid, ptype, state in groups])


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.LIST_GROUPS, 0, 4)
    dispatcher.register(ApiKey.LIST_GROUPS, lambda ctx, req: handle_list_groups(ctx, req, broker))
