"""StopReplica (key 5): controller -> broker, stop (and maybe delete) replicas. Inter-broker only."""
from kafkapy.protocol.schema import BOOL, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=5, name="StopReplica", min_version=0, max_version=3, flexible_since=2,
    request=Schema(
        Field("controller_id", INT32),
        Field("controller_epoch", INT32),
        Field("broker_epoch", INT64, since=1, default=-1, ignorable=True),
        Field("delete_partitions", BOOL, until=2),
        Field("ungrouped_partitions", ArrayOf(
            Field("topic_name", STRING, until=0),
            Field("partition_index", INT32, until=0),
            name="StopReplicaPartitionV0"), until=0),
        Field("topics", ArrayOf(
            Field("name", STRING, since=1, until=2),
            Field("partition_indexes", ArrayOf(INT32), since=1, until=2),
            name="StopReplicaTopicV1"), since=1, until=2),
        Field("topic_states", ArrayOf(
            Field("topic_name", STRING, since=3),
            Field("partition_states", ArrayOf(
                Field("partition_index", INT32, since=3),
                Field("leader_epoch", INT32, since=3, default=-1),
                Field("delete_partition", BOOL, since=3),
                name="StopReplicaPartitionState"), since=3),
            name="StopReplicaTopicState"), since=3),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("partition_errors", ArrayOf(
            Field("topic_name", STRING),
            Field("partition_index", INT32),
            Field("error_code", INT16),
            name="StopReplicaPartitionError")),
    ),
)
