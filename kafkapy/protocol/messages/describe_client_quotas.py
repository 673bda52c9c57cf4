"""DescribeClientQuotas (key 48): quotas of the client entities that match a filter."""
from __future__ import annotations

from kafkapy.protocol.schema import (
    BOOL, FLOAT64, INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=48, name="DescribeClientQuotas", min_version=0, max_version=1, flexible_since=1,
    request=Schema(
        Field("components", ArrayOf(
            Field("entity_type", STRING),
            Field("match_type", INT8),
            Field("match", STRING, nullable_since=0),
            name="ComponentData")),
        Field("strict", BOOL),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
        Field("entries", ArrayOf(
            Field("entity", ArrayOf(
                Field("entity_type", STRING),
                Field("entity_name", STRING, nullable_since=0),
                name="EntityData")),
            Field("values", ArrayOf(
                Field("key", STRING),
                Field("value", FLOAT64),
                name="ValueData")),
            name="EntryData"), nullable_since=0),
    ),
)
