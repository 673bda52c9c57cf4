"""ControlledShutdown (key 7): broker -> controller before it stops. v0 uses request header v0."""
from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=7, name="ControlledShutdown", min_version=0, max_version=3, flexible_since=3,
    request=Schema(
        Field("broker_id", INT32),
        Field("broker_epoch", INT64, since=2, default=-1, ignorable=True),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("remaining_partitions", ArrayOf(
            Field("topic_name", STRING),
            Field("partition_index", INT32),
            name="RemainingPartition")),
    ),
)
