"""DeleteRecords (key 21): move partitions' log start offsets forward."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=21, name="DeleteRecords", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("offset", INT64),
                name="DeleteRecordsPartition")),
            name="DeleteRecordsTopic")),
        Field("timeout_ms", INT32),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("low_watermark", INT64),
                Field("error_code", INT16),
                name="DeleteRecordsPartitionResult")),
            name="DeleteRecordsTopicResult")),
    ),
)
