"""IncrementalAlterConfigs (key 44): set, delete, append to or subtract from single config entries."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=44, name="IncrementalAlterConfigs", min_version=0, max_version=1, flexible_since=1,
    request=Schema(
        Field("resources", ArrayOf(
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("configs", ArrayOf(
                Field("name", STRING),
                Field("config_operation", INT8),
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
