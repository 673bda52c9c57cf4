"""OffsetForLeaderEpoch (key 23): the end offset of a leader epoch, for truncation checks."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=23, name="OffsetForLeaderEpoch", min_version=0, max_version=4, flexible_since=4,
    request=Schema(
        Field("replica_id", INT32, since=3, default=-2, ignorable=True),
        Field("topics", ArrayOf(
            Field("topic", STRING),
            Field("partitions", ArrayOf(
                Field("partition", INT32),
                Field("current_leader_epoch", INT32, since=2, default=-1, ignorable=True),
                Field("leader_epoch", INT32),
                name="OffsetForLeaderPartition")),
            name="OffsetForLeaderTopic")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=2, ignorable=True),
        Field("topics", ArrayOf(
            Field("topic", STRING),
            Field("partitions", ArrayOf(
                Field("error_code", INT16),
                Field("partition", INT32),
                Field("leader_epoch", INT32, since=1, default=-1, ignorable=True),
                Field("end_offset", INT64, default=-1),
                name="EpochEndOffset")),
            name="OffsetForLeaderTopicResult")),
    ),
)
