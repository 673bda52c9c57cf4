"""DeleteGroups (key 42), v0-v2: delete empty groups (their offsets and metadata get tombstones)."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.delete_groups import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

DeleteGroupsResponse = API.response
DeletableGroupResult = API.response.struct("results")


async def handle_delete_groups(ctx: RequestContext, request: Any, broker: Any) -> Any:
    coordinator = group_coordinator(broker)
    results = await coordinator.handle_delete_groups(list(request.groups_names))
    return DeleteGroupsResponse(throttle_time_ms=0, results=[
        DeletableGroupResult(group_id=gid, error_code=results[gid]) for gid in dict.fromkeys(request.groups_names)])


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.DELETE_GROUPS, 0, 2)
    dispatcher.register(ApiKey.DELETE_GROUPS, lambda ctx, req: handle_delete_groups(ctx, req, broker))
