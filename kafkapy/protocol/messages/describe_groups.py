"""DescribeGroups (key 15): state, protocol and members of groups."""
from kafkapy.protocol.schema import (
    BOOL, BYTES, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=15, name="DescribeGroups", min_version=0, max_version=5, flexible_since=5,
    request=Schema(
        Field("groups", ArrayOf(STRING)),
        Field("include_authorized_operations", BOOL, since=3),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("groups", ArrayOf(
            Field("error_code", INT16),
            Field("group_id", STRING),
            Field("group_state", STRING),
            Field("protocol_type", STRING),
            Field("protocol_data", STRING),
            Field("members", ArrayOf(
                Field("member_id", STRING),
                Field("group_instance_id", STRING, since=4, nullable_since=4, default=None,
                      ignorable=True),
                Field("client_id", STRING),
                Field("client_host", STRING),
                Field("member_metadata", BYTES),
                Field("member_assignment", BYTES),
                name="DescribedGroupMember")),
            Field("authorized_operations", INT32, since=3, default=-2147483648),
            name="DescribedGroup")),
    ),
)
