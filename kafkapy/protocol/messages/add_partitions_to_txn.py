"""AddPartitionsToTxn (key 24): register partitions in an ongoing transaction."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=24, name="AddPartitionsToTxn", min_version=0, max_version=3, flexible_since=3,
    request=Schema(
        Field("transactional_id", STRING),
        Field("producer_id", INT64),
        Field("producer_epoch", INT16),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(INT32)),
            name="AddPartitionsToTxnTopic")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("name", STRING),
            Field("results", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                name="AddPartitionsToTxnPartitionResult")),
            name="AddPartitionsToTxnTopicResult")),
    ),
)
