"""DescribeProducers (key 61): the active producers' state of partitions (KIP-664)."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=61, name="DescribeProducers", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partition_indexes", ArrayOf(INT32)),
            name="TopicRequest")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("error_message", STRING, nullable_since=0, default=None),
                Field("active_producers", ArrayOf(
                    Field("producer_id", INT64),
                    Field("producer_epoch", INT32),
                    Field("last_sequence", INT32, default=-1),
                    Field("last_timestamp", INT64, default=-1),
                    Field("coordinator_epoch", INT32),
                    Field("current_txn_start_offset", INT64, default=-1),
                    name="ProducerState")),
                name="PartitionResponse")),
            name="TopicResponse")),
    ),
)
