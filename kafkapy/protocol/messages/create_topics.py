"""CreateTopics (key 19): create topics from a partition count and replication factor, or from
explicit replica assignments, with optional topic configs."""
from __future__ import annotations

from kafkapy.protocol.schema import (
    BOOL, INT8, INT16, INT32, STRING, UUID, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=19, name="CreateTopics", min_version=0, max_version=7, flexible_since=5,
    request=Schema(
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("num_partitions", INT32),
            Field("replication_factor", INT16),
            Field("assignments", ArrayOf(
                Field("partition_index", INT32),
                Field("broker_ids", ArrayOf(INT32)),
                name="CreatableReplicaAssignment")),
            Field("configs", ArrayOf(
                Field("name", STRING),
                Field("value", STRING, nullable_since=0),
                name="CreateableTopicConfig")),
            name="CreatableTopic")),
        Field("timeout_ms", INT32, default=60000),
        Field("validate_only", BOOL, since=1, default=False),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=2, ignorable=True),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("topic_id", UUID, since=7, ignorable=True),
            Field("error_code", INT16),
            Field("error_message", STRING, since=1, nullable_since=0, ignorable=True),
            Field("topic_config_error_code", INT16, since=5, tag=0, tagged_since=5, ignorable=True),
            Field("num_partitions", INT32, since=5, default=-1, ignorable=True),
            Field("replication_factor", INT16, since=5, default=-1, ignorable=True),
            Field("configs", ArrayOf(
                Field("name", STRING, since=5),
                Field("value", STRING, since=5, nullable_since=5),
                Field("read_only", BOOL, since=5),
                Field("config_source", INT8, since=5, default=-1, ignorable=True),
                Field("is_sensitive", BOOL, since=5),
                name="CreatableTopicConfigs"), since=5, nullable_since=5, ignorable=True),
            name="CreatableTopicResult")),
    ),
)
