"""CreatePartitions (key 37): grow topics to a new partition count."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=37, name="CreatePartitions", min_version=0, max_version=3, flexible_since=2,
    request=Schema(
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("count", INT32),
            Field("assignments", ArrayOf(
                Field("broker_ids", ArrayOf(INT32)),
                name="CreatePartitionsAssignment"), nullable_since=0),
            name="CreatePartitionsTopic")),
        Field("timeout_ms", INT32),
        Field("validate_only", BOOL),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("name", STRING),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0, default=None),
            name="CreatePartitionsTopicResult")),
    ),
)
