"""EndQuorumEpoch (key 54): a KRaft leader resigns and names preferred successors. Controller-only."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=54, name="EndQuorumEpoch", min_version=0, max_version=0, flexible_since=None,
    request=Schema(
        Field("cluster_id", STRING, nullable_since=0, default=None),
        Field("topics", ArrayOf(
            Field("topic_name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("leader_id", INT32),
                Field("leader_epoch", INT32),
                Field("preferred_successors", ArrayOf(INT32)),
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
                name="PartitionData")),
            name="TopicData")),
    ),
)
