"""SyncGroup (key 14): the leader hands out assignments; every member receives its own."""
from kafkapy.protocol.schema import BYTES, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=14, name="SyncGroup", min_version=0, max_version=5, flexible_since=4,
    request=Schema(
        Field("group_id", STRING),
        Field("generation_id", INT32),
        Field("member_id", STRING),
        Field("group_instance_id", STRING, since=3, nullable_since=3, default=None),
        Field("protocol_type", STRING, since=5, nullable_since=5, default=None, ignorable=True),
        Field("protocol_name", STRING, since=5, nullable_since=5, default=None, ignorable=True),
        Field("assignments", ArrayOf(
            Field("member_id", STRING),
            Field("assignment", BYTES),
            name="SyncGroupRequestAssignment")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("error_code", INT16),
        Field("protocol_type", STRING, since=5, nullable_since=5, default=None, ignorable=True),
        Field("protocol_name", STRING, since=5, nullable_since=5, default=None, ignorable=True),
        Field("assignment", BYTES),
    ),
)
