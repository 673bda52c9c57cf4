"""OffsetFetch (key 9): read a group's committed offsets. v2+: null topics = all partitions."""
from kafkapy.protocol.schema import (
    BOOL, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=9, name="OffsetFetch", min_version=0, max_version=7, flexible_since=6,
    request=Schema(
        Field("group_id", STRING),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partition_indexes", ArrayOf(INT32)),
            name="OffsetFetchRequestTopic"), nullable_since=2),
        Field("require_stable", BOOL, since=7, default=False),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=3, ignorable=True),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("committed_offset", INT64),
                Field("committed_leader_epoch", INT32, since=5, default=-1, ignorable=True),
                Field("metadata", STRING, nullable_since=0),
                Field("error_code", INT16),
                name="OffsetFetchResponsePartition")),
            name="OffsetFetchResponseTopic")),
        Field("error_code", INT16, since=2, default=0, ignorable=True),
    ),
)
