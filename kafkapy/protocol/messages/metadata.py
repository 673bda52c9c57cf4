"""Metadata (key 3): brokers, topics, partitions and leaders. v0: empty topics = all;
v1+: null topics = all."""
from kafkapy.protocol.schema import (
    BOOL, INT16, INT32, STRING, UUID, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=3, name="Metadata", min_version=0, max_version=11, flexible_since=9,
    request=Schema(
        Field("topics", ArrayOf(
            Field("topic_id", UUID, since=10, ignorable=True),
            Field("name", STRING, nullable_since=10),
            name="MetadataRequestTopic"), nullable_since=1),
        Field("allow_auto_topic_creation", BOOL, since=4, default=True),
        Field("include_cluster_authorized_operations", BOOL, since=8, until=10),
        Field("include_topic_authorized_operations", BOOL, since=8),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=3, ignorable=True),
        Field("brokers", ArrayOf(
            Field("node_id", INT32),
            Field("host", STRING),
            Field("port", INT32),
            Field("rack", STRING, since=1, nullable_since=1, default=None, ignorable=True),
            name="MetadataResponseBroker")),
        Field("cluster_id", STRING, since=2, nullable_since=2, default=None, ignorable=True),
        Field("controller_id", INT32, since=1, default=-1, ignorable=True),
        Field("topics", ArrayOf(
            Field("error_code", INT16),
            Field("name", STRING),
            Field("topic_id", UUID, since=10, ignorable=True),
            Field("is_internal", BOOL, since=1, default=False, ignorable=True),
            Field("partitions", ArrayOf(
                Field("error_code", INT16),
                Field("partition_index", INT32),
                Field("leader_id", INT32),
                Field("leader_epoch", INT32, since=7, default=-1, ignorable=True),
                Field("replica_nodes", ArrayOf(INT32)),
                Field("isr_nodes", ArrayOf(INT32)),
                Field("offline_replicas", ArrayOf(INT32), since=5, ignorable=True),
                name="MetadataResponsePartition")),
            Field("topic_authorized_operations", INT32, since=8, default=-2147483648),
            name="MetadataResponseTopic")),
        Field("cluster_authorized_operations", INT32, since=8, until=10, default=-2147483648),
    ),
)
