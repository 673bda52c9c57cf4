"""AlterIsr (key 56): a partition leader asks the controller to change the ISR (KIP-497)."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=56, name="AlterIsr", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("broker_id", INT32),
        Field("broker_epoch", INT64, default=-1),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("leader_epoch", INT32),
                Field("new_isr", ArrayOf(INT32)),
                Field("current_isr_version", INT32),
                name="PartitionData")),
            name="TopicData")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition_index", INT32),
                Field("error_code", INT16),
                Field("leader_id", INT32),
                Field("leader_epoch", INT32),
                Field("isr", ArrayOf(INT32)),
                Field("current_isr_version", INT32),
                name="PartitionData")),
            name="TopicData")),
    ),
)
