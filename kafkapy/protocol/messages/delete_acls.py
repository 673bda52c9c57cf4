"""DeleteAcls (key 31): remove the ACL bindings that match filters."""
from __future__ import annotations

from kafkapy.protocol.schema import INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=31, name="DeleteAcls", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("filters", ArrayOf(
            Field("resource_type_filter", INT8),
            Field("resource_name_filter", STRING, nullable_since=0),
            Field("pattern_type_filter", INT8, since=1, default=3),
            Field("principal_filter", STRING, nullable_since=0),
            Field("host_filter", STRING, nullable_since=0),
            Field("operation", INT8),
            Field("permission_type", INT8),
            name="DeleteAclsFilter")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("filter_results", ArrayOf(
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            Field("matching_acls", ArrayOf(
                Field("error_code", INT16),
                Field("error_message", STRING, nullable_since=0),
                Field("resource_type", INT8),
                Field("resource_name", STRING),
                Field("pattern_type", INT8, since=1, default=3),
                Field("principal", STRING),
                Field("host", STRING),
                Field("operation", INT8),
                Field("permission_type", INT8),
                name="DeleteAclsMatchingAcl")),
            name="DeleteAclsFilterResult")),
    ),
)
