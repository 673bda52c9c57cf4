"""AlterClientQuotas (key 49): set or remove quota values of client entities."""
from __future__ import annotations

from kafkapy.protocol.schema import (
    BOOL, FLOAT64, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=49, name="AlterClientQuotas", min_version=0, max_version=1, flexible_since=1,
    request=Schema(
        Field("entries", ArrayOf(
            Field("entity", ArrayOf(
                Field("entity_type", STRING),
                Field("entity_name", STRING, nullable_since=0),
                name="EntityData")),
            Field("ops", ArrayOf(
                Field("key", STRING),
                Field("value", FLOAT64),
                Field("remove", BOOL),
                name="OpData")),
            name="EntryData")),
        Field("validate_only", BOOL),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("entries", ArrayOf(
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            Field("entity", ArrayOf(
                Field("entity_type", STRING),
                Field("entity_name", STRING, nullable_since=0),
                name="EntityData")),
            name="EntryData")),
    ),
)
