"""ListOffsets (key 2): offsets by timestamp (-1 latest, -2 earliest)."""
from kafkapy.protocol.schema import INT8, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=2, name="ListOffsets", min_version=0, max_version=6, flexible_since=6,
    request=Schema(
        Field("replica_id", INT32),
        Field("isolation_level", INT8, since=2),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("current_leader_epoch", INT32, since=4, default=-1, ignorable=True),
                Field("timestamp", INT64),
                Field("max_num_offsets", INT32, until=0, default=1),
                name="ListOffsetsPartition")),
            name="ListOffsetsTopic")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=2, ignorable=True),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("old_style_offsets", ArrayOf(INT64), until=0),
                Field("timestamp", INT64, since=1, default=-1),
                Field("offset", INT64, since=1, default=-1),
                Field("leader_epoch", INT32, since=4, default=-1),
                name="ListOffsetsPartitionResponse")),
            name="ListOffsetsTopicResponse")),
    ),
)
