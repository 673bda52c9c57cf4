"""DescribeLogDirs (key 35): a broker's log directories and the size and lag of their replicas."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=35, name="DescribeLogDirs", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("topics", ArrayOf(
            Field("topic", STRING),
            Field("partition_index", ArrayOf(INT32)),
            name="DescribableLogDirTopic"), nullable_since=0),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("error_code", INT16),
            Field("log_dir", STRING),
            Field("topics", ArrayOf(
                Field("name", STRING),
                Field("partitions", ArrayOf(
                    Field("partition_index", INT32),
                    Field("partition_size", INT64),
                    Field("offset_lag", INT64),
                    Field("is_future_key", BOOL),
                    name="DescribeLogDirsPartition")),
                name="DescribeLogDirsTopic")),
            name="DescribeLogDirsResult")),
    ),
)
