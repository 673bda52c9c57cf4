"""Heartbeat (key 12): a group member says it is alive."""
from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, Field, Schema

API = ApiSpec(
    key=12, name="Heartbeat", min_version=0, max_version=4, flexible_since=4,
    request=Schema(
        Field("group_id", STRING),
        Field("generation_id", INT32),
        Field("member_id", STRING),
        Field("group_instance_id", STRING, since=3, nullable_since=3, default=None),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("error_code", INT16),
    ),
)
