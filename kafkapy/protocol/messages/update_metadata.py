"""UpdateMetadata (key 6): controller -> broker, the cluster metadata snapshot. Inter-broker only."""
from kafkapy.protocol.schema import (
    INT16, INT32, INT64, STRING, UUID, ApiSpec, ArrayOf, Field, Schema, Struct,
)

UpdateMetadataPartitionState = Struct(
    Field("topic_name", STRING, until=4, ignorable=True),
    Field("partition_index", INT32),
    Field("controller_epoch", INT32),
    Field("leader", INT32),
    Field("leader_epoch", INT32),
    Field("isr", ArrayOf(INT32)),
    Field("zk_version", INT32),
    Field("replicas", ArrayOf(INT32)),
    Field("offline_replicas", ArrayOf(INT32), since=4, ignorable=True),
    name="UpdateMetadataPartitionState",
)

API = ApiSpec(
    key=6, name="UpdateMetadata", min_version=0, max_version=7, flexible_since=6,
    request=Schema(
        Field("controller_id", INT32),
        Field("controller_epoch", INT32),
        Field("broker_epoch", INT64, since=5, default=-1, ignorable=True),
        Field("ungrouped_partition_states", ArrayOf(UpdateMetadataPartitionState), until=4),
        Field("topic_states", ArrayOf(
            Field("topic_name", STRING, since=5),
            Field("topic_id", UUID, since=7, ignorable=True),
            Field("partition_states", ArrayOf(UpdateMetadataPartitionState), since=5),
            name="UpdateMetadataTopicState"), since=5),
        Field("live_brokers", ArrayOf(
            Field("id", INT32),
            Field("v0_host", STRING, until=0, ignorable=True),
            Field("v0_port", INT32, until=0, ignorable=True),
            Field("endpoints", ArrayOf(
                Field("port", INT32, since=1),
                Field("host", STRING, since=1),
                Field("listener", STRING, since=3, ignorable=True),
                Field("security_protocol", INT16, since=1),
                name="UpdateMetadataEndpoint"), since=1, ignorable=True),
            Field("rack", STRING, since=2, nullable_since=0, ignorable=True),
            name="UpdateMetadataBroker")),
    ),
    response=Schema(
        Field("error_code", INT16),
    ),
)
