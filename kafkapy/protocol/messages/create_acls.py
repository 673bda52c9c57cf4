"""CreateAcls (key 30): add ACL bindings."""
from __future__ import annotations

from kafkapy.protocol.schema import INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=30, name="CreateAcls", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("creations", ArrayOf(
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("resource_pattern_type", INT8, since=1, default=3),
            Field("principal", STRING),
            Field("host", STRING),
            Field("operation", INT8),
            Field("permission_type", INT8),
            name="AclCreation")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            name="AclCreationResult")),
    ),
)
