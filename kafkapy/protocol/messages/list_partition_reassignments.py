"""ListPartitionReassignments (key 46): the reassignments in progress."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=46, name="ListPartitionReassignments", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("timeout_ms", INT32, default=60000),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partition_indexes", ArrayOf(INT32)),
            name="ListPartitionReassignmentsTopics"), nullable_since=0, default=None),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("replicas", ArrayOf(INT32)),
                Field("adding_replicas", ArrayOf(INT32)),
                Field("removing_replicas", ArrayOf(INT32)),
                name="OngoingPartitionReassignment")),
            name="OngoingTopicReassignment")),
    ),
)
