"""LeaderAndIsr (key 4): controller -> broker, become leader or follower. Inter-broker only."""
from kafkapy.protocol.schema import (
    BOOL, INT8, INT16, INT32, INT64, STRING, UUID, ApiSpec, ArrayOf, Field, Schema, Struct,
)

LeaderAndIsrPartitionState = Struct(
    Field("topic_name", STRING, until=1, ignorable=True),
    Field("partition_index", INT32),
    Field("controller_epoch", INT32),
    Field("leader", INT32),
    Field("leader_epoch", INT32),
    Field("isr", ArrayOf(INT32)),
    Field("zk_version", INT32),
    Field("replicas", ArrayOf(INT32)),
    Field("adding_replicas", ArrayOf(INT32), since=3, ignorable=True),
    Field("removing_replicas", ArrayOf(INT32), since=3, ignorable=True),
    Field("is_new", BOOL, since=1, default=False, ignorable=True),
    name="LeaderAndIsrPartitionState",
)

LeaderAndIsrPartitionError = Struct(
    Field("topic_name", STRING, until=4, ignorable=True),
    Field("partition_index", INT32),
    Field("error_code", INT16),
    name="LeaderAndIsrPartitionError",
)

API = ApiSpec(
    key=4, name="LeaderAndIsr", min_version=0, max_version=5, flexible_since=4,
    request=Schema(
        Field("controller_id", INT32),
        Field("controller_epoch", INT32),
        Field("broker_epoch", INT64, since=2, default=-1, ignorable=True),
        Field("type", INT8, since=5),
        Field("ungrouped_partition_states", ArrayOf(LeaderAndIsrPartitionState), until=1),
        Field("topic_states", ArrayOf(
            Field("topic_name", STRING, since=2),
            Field("topic_id", UUID, since=5, ignorable=True),
            Field("partition_states", ArrayOf(LeaderAndIsrPartitionState), since=2),
            name="LeaderAndIsrTopicState"), since=2),
        Field("live_leaders", ArrayOf(
            Field("broker_id", INT32),
            Field("host_name", STRING),
            Field("port", INT32),
            name="LeaderAndIsrLiveLeader")),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("partition_errors", ArrayOf(LeaderAndIsrPartitionError), until=4),
        Field("topics", ArrayOf(
            Field("topic_id", UUID, since=5),
            Field("partition_errors", ArrayOf(LeaderAndIsrPartitionError), since=5),
            name="LeaderAndIsrTopicError"), since=5),
    ),
)
