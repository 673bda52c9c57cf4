"""OffsetDelete (key 47): delete a group's committed offsets for partitions it no longer consumes."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=47, name="OffsetDelete", min_version=0, max_version=0, flexible_since=None,
    request=Schema(
        Field("group_id", STRING),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                name="OffsetDeleteRequestPartition")),
            name="OffsetDeleteRequestTopic")),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("throttle_time_ms", INT32, ignorable=True),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                name="OffsetDeleteResponsePartition")),
            name="OffsetDeleteResponseTopic")),
    ),
)
