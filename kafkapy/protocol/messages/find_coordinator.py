"""FindCoordinator (key 10): which broker coordinates a group (key_type 0) or transaction (1)."""
from kafkapy.protocol.schema import INT8, INT16, INT32, STRING, ApiSpec, Field, Schema

API = ApiSpec(
    key=10, name="FindCoordinator", min_version=0, max_version=3, flexible_since=3,
    request=Schema(
        Field("key", STRING),
        Field("key_type", INT8, since=1, default=0),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("error_code", INT16),
        Field("error_message", STRING, since=1, nullable_since=1, ignorable=True),
        Field("node_id", INT32),
        Field("host", STRING),
        Field("port", INT32),
    ),
)
