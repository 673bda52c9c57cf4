"""LeaveGroup (key 13): members leave a group (v3+: a batch of members)."""
from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=13, name="LeaveGroup", min_version=0, max_version=4, flexible_since=4,
    request=Schema(
        Field("group_id", STRING),
        Field("member_id", STRING, until=2),
        Field("members", ArrayOf(
            Field("member_id", STRING, since=3),
            Field("group_instance_id", STRING, since=3, nullable_since=3, default=None),
            name="MemberIdentity"), since=3),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("error_code", INT16),
        Field("members", ArrayOf(
            Field("member_id", STRING, since=3),
            Field("group_instance_id", STRING, since=3, nullable_since=3),
            Field("error_code", INT16, since=3),
            name="MemberResponse"), since=3),
    ),
)
