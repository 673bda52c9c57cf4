"""Vote (key 52): a KRaft candidate asks voters for their vote. Controller-only; not served by a ZK broker."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=52, name="Vote", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("cluster_id", STRING, nullable_since=0, default=None),
        Field("topics", ArrayOf(
            Field("topic_name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("candidate_epoch", INT32),
                Field("candidate_id", INT32),
                Field("last_offset_epoch", INT32),
                Field("last_offset", INT64),
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
                Field("vote_granted", BOOL),
                name="PartitionData")),
            name="TopicData")),
    ),
)
