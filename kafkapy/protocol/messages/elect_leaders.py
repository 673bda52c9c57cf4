"""ElectLeaders (key 43): run preferred (or unclean) leader election for partitions."""
from __future__ import annotations

from kafkapy.protocol.schema import INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=43, name="ElectLeaders", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("election_type", INT8, since=1),
        Field("topic_partitions", ArrayOf(
            Field("topic", STRING),
            Field("partition_id", ArrayOf(INT32)),
            name="TopicPartitions"), nullable_since=0),
        Field("timeout_ms", INT32, default=60000),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16, since=1),
        Field("replica_election_results", ArrayOf(
            Field("topic", STRING),
            Field("partition_result", ArrayOf(
                Field("partition_id", INT32),
                Field("error_code", INT16),
                Field("error_message", STRING, nullable_since=0),
                name="PartitionResult")),
            name="ReplicaElectionResult")),
    ),
)
