"""AlterPartitionReassignments (key 45): start or cancel (null replicas) partition reassignments."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=45, name="AlterPartitionReassignments", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("timeout_ms", INT32, default=60000),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("replicas", ArrayOf(INT32), nullable_since=0, default=None),
                name="ReassignablePartition")),
            name="ReassignableTopic")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
        Field("responses", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("error_message", STRING, nullable_since=0),
                name="ReassignablePartitionResponse")),
            name="ReassignableTopicResponse")),
    ),
)
