"""DescribeAcls (key 29): list the ACL bindings that match a filter."""
from __future__ import annotations

from kafkapy.protocol.schema import INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=29, name="DescribeAcls", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("resource_type_filter", INT8),
        Field("resource_name_filter", STRING, nullable_since=0),
        Field("pattern_type_filter", INT8, since=1, default=3),
        Field("principal_filter", STRING, nullable_since=0),
        Field("host_filter", STRING, nullable_since=0),
        Field("operation", INT8),
        Field("permission_type", INT8),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
        Field("resources", ArrayOf(
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("pattern_type", INT8, since=1, default=3),
            Field("acls", ArrayOf(
                Field("principal", STRING),
                Field("host", STRING),
                Field("operation", INT8),
                Field("permission_type", INT8),
                name="AclDescription")),
            name="DescribeAclsResource")),
    ),
)
