"""JoinGroup (key 11): a member joins a consumer group; the coordinator picks a leader."""
from kafkapy.protocol.schema import BYTES, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=11, name="JoinGroup", min_version=0, max_version=7, flexible_since=6,
    request=Schema(
        Field("group_id", STRING),
        Field("session_timeout_ms", INT32),
        Field("rebalance_timeout_ms", INT32, since=1, default=-1, ignorable=True),
        Field("member_id", STRING),
        Field("group_instance_id", STRING, since=5, nullable_since=5, default=None),
        Field("protocol_type", STRING),
        Field("protocols", ArrayOf(
            Field("name", STRING),
            Field("metadata", BYTES),
            name="JoinGroupRequestProtocol")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=2, ignorable=True),
        Field("error_code", INT16),
        Field("generation_id", INT32, default=-1),
        Field("protocol_type", STRING, since=7, nullable_since=7, default=None, ignorable=True),
        Field("protocol_name", STRING, nullable_since=7),
        Field("leader", STRING),
        Field("member_id", STRING),
        Field("members", ArrayOf(
            Field("member_id", STRING),
            Field("group_instance_id", STRING, since=5, nullable_since=5, default=None),
            Field("metadata", BYTES),
            name="JoinGroupResponseMember")),
    ),
)
