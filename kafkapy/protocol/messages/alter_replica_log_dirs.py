"""AlterReplicaLogDirs (key 34): move replicas between a broker's log directories."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=34, name="AlterReplicaLogDirs", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("dirs", ArrayOf(
            Field("path", STRING),
            Field("topics", ArrayOf(
                Field("name", STRING),
                Field("partitions", ArrayOf(INT32)),
                name="AlterReplicaLogDirTopic")),
            name="AlterReplicaLogDir")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("topic_name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                name="AlterReplicaLogDirPartitionResult")),
            name="AlterReplicaLogDirTopicResult")),
    ),
)
