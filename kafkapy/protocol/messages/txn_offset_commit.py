"""TxnOffsetCommit (key 28): commit consumer offsets as part of a transaction."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=28, name="TxnOffsetCommit", min_version=0, max_version=3, flexible_since=3,
    request=Schema(
        Field("transactional_id", STRING),
        Field("group_id", STRING),
        Field("producer_id", INT64),
        Field("producer_epoch", INT16),
        Field("generation_id", INT32, since=3, default=-1),
        Field("member_id", STRING, since=3, default=""),
        Field("group_instance_id", STRING, since=3, nullable_since=3, default=None),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("committed_offset", INT64),
                Field("committed_leader_epoch", INT32, since=2, default=-1, ignorable=True),
                Field("committed_metadata", STRING, nullable_since=0),
                name="TxnOffsetCommitRequestPartition")),
            name="TxnOffsetCommitRequestTopic")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                name="TxnOffsetCommitResponsePartition")),
            name="TxnOffsetCommitResponseTopic")),
    ),
)
