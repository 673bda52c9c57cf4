"""AlterConfigs (key 33): replace the whole config set of resources (the pre-incremental API)."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=33, name="AlterConfigs", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("resources", ArrayOf(
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("configs", ArrayOf(
                Field("name", STRING),
                Field("value", STRING, nullable_since=0),
                name="AlterableConfig")),
            name="AlterConfigsResource")),
        Field("validate_only", BOOL),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("responses", ArrayOf(
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            name="AlterConfigsResourceResponse")),
    ),
)
