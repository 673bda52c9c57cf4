"""Produce (key 0): append record batches to partitions. Records stay a memoryview of the request."""
from kafkapy.protocol.schema import (
    INT16, INT32, INT64, RECORDS, STRING, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=0, name="Produce", min_version=0, max_version=9, flexible_since=9,
    request=Schema(
        Field("transactional_id", STRING, since=3, nullable_since=3, default=None),
        Field("acks", INT16),
        Field("timeout_ms", INT32),
        Field("topic_data", ArrayOf(
            Field("name", STRING),
            Field("partition_data", ArrayOf(
                Field("index", INT32),
                Field("records", RECORDS, nullable_since=0),
                name="PartitionProduceData")),
            name="TopicProduceData")),
    ),
    response=Schema(
        Field("responses", ArrayOf(
            Field("name", STRING),
            Field("partition_responses", ArrayOf(
                Field("index", INT32),
                Field("error_code", INT16),
                Field("base_offset", INT64),
                Field("log_append_time_ms", INT64, since=2, default=-1, ignorable=True),
                Field("log_start_offset", INT64, since=5, default=-1, ignorable=True),
                Field("record_errors", ArrayOf(
                    Field("batch_index", INT32, since=8),
                    Field("batch_index_error_message", STRING, since=8, nullable_since=8,
                          default=None),
                    name="BatchIndexAndErrorMessage"), since=8, ignorable=True),
                Field("error_message", STRING, since=8, nullable_since=8, default=None,
                      ignorable=True),
                name="PartitionProduceResponse")),
            name="TopicProduceResponse")),
        Field("throttle_time_ms", INT32, since=1, default=0, ignorable=True),
    ),
)
