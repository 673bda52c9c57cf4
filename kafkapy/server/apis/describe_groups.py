"""DescribeGroups (key 15), v0-v5: state, protocol and members of groups (a missing group is Dead)."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.describe_groups import API
from kafkapy.server.apis.find_coordinator import group_coordinator
from kafkapy.server.request import RequestContext

DescribeGroupsResponse = API.response
DescribedGroup = API.response.struct("groups")
DescribedGroupMember = API.response.struct("groups", "members")
AUTHORIZED_OPERATIONS_OMITTED = -2147483648


def handle_describe_groups(ctx: RequestContext, request: Any, broker: Any) -> Any:
    coordinator = group_coordinator(broker)
    groups = []
    for gid in request.groups:
        s = coordinator.handle_describe_group(gid)
        groups.append(DescribedGroup(
            error_code=s.error, group_id=gid, group_state=s.state, protocol_type=s.protocol_type,
            protocol_data=s.protocol, authorized_operations=AUTHORIZED_OPERATIONS_OMITTED,
            members=[DescribedGroupMember(member_id=m.member_id, group_instance_id=m.group_instance_id,
                                          client_id=m.client_id, client_host=m.client_host,
                                          member_metadata=m.metadata, member_assignment=m.assignment)
                     for m in s.members]))
    return DescribeGroupsResponse(throttle_time_ms=0, groups=groups)


def register(dispatcher: Any, broker: Any) -> None:
    group_coordinator(broker)
    register_supported(ApiKey.DESCRIBE_GROUPS, 0, 5)
    dispatcher.register(ApiKey.DESCRIBE_GROUPS, lambda ctx, req: handle_describe_groups(ctx, req, broker))
