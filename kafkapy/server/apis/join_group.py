"""JoinGroup (key 11), v0-v7: join a group; the answer waits for the rebalance to complete."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.join_group import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

JoinGroupResponse = API.response
JoinGroupMember = API.response.struct("members")


def client_host(ctx: RequestContext) -> str:
    """The member's address as Kafka shows it (Java's InetAddress.toString: "/127.0.0.1")."""
    return "/" + (ctx.peer_host or "")


async def handle_join_group(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    coordinator = group_coordinator(broker)
    fut = coordinator.handle_join_group(
        request.group_id, request.member_id, request.group_instance_id if version >= 5 else None,
        version >= 4, ctx.client_id or "", client_host(ctx),
        request.rebalance_timeout_ms if version >= 1 else request.session_timeout_ms,
        request.session_timeout_ms, request.protocol_type,
        [(p.name, bytes(p.metadata)) for p in request.protocols])
    result = await fut
    no_protocol = None if version >= 7 else ""
    return JoinGroupResponse(
        throttle_time_ms=0, error_code=result.error, generation_id=result.generation_id,
        protocol_type=result.protocol_type if result.error == 0 else None,
        protocol_name=(result.protocol_name if result.protocol_name is not None else no_protocol)
        if result.error == 0 else no_protocol,
        leader=result.leader_id, member_id=result.member_id,
        members=[JoinGroupMember(member_id=mid, group_instance_id=iid, metadata=meta)
                 for mid, iid, meta in result.members])


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.JOIN_GROUP, 0, 7)
    dispatcher.register(ApiKey.JOIN_GROUP, lambda ctx, req: handle_join_group(ctx, req, broker))
