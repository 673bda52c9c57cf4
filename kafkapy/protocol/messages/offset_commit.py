"""OffsetCommit (key 8): a consumer group commits offsets."""
from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=8, name="OffsetCommit", min_version=0, max_version=8, flexible_since=8,
    request=Schema(
        Field("group_id", STRING),
        Field("generation_id", INT32, since=1, default=-1, ignorable=True),
        Field("member_id", STRING, since=1, ignorable=True),
        Field("group_instance_id", STRING, since=7, nullable_since=7, default=None),
        Field("retention_time_ms", INT64, since=2, until=4, default=-1, ignorable=True),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("committed_offset", INT64),
                Field("committed_leader_epoch", INT32, since=6, default=-1, ignorable=True),
                Field("commit_timestamp", INT64, since=1, until=1, default=-1),
                Field("committed_metadata", STRING, nullable_since=0),
                name="OffsetCommitRequestPartition")),
            name="OffsetCommitRequestTopic")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=3, ignorable=True),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                name="OffsetCommitResponsePartition")),
            name="OffsetCommitResponseTopic")),
    ),
)
