"""DescribeQuorum (key 55): state of a KRaft quorum (leader, voters, observers)."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema, Struct

ReplicaState = Struct(
    Field("replica_id", INT32),
    Field("log_end_offset", INT64),
    name="ReplicaState",
)

API = ApiSpec(
    key=55, name="DescribeQuorum", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("topics", ArrayOf(
            Field("topic_name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                name="PartitionData")),
            name="TopicData")),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("topics", ArrayOf(
            Field("topic_name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("leader_id", INT32),
                Field("leader_epoch", INT32),
                Field("high_watermark", INT64),
                Field("current_voters", ArrayOf(ReplicaState)),
                Field("observers", ArrayOf(ReplicaState)),
                name="PartitionData")),
            name="TopicData")),
    ),
)
