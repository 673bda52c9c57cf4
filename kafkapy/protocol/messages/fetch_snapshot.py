"""FetchSnapshot (key 59): a KRaft follower copies a metadata snapshot in chunks. Controller-only."""
from __future__ import annotations

from kafkapy.protocol.schema import (
    INT16, INT32, INT64, RECORDS, STRING, ApiSpec, ArrayOf, Field, Schema, Struct,
)

API = ApiSpec(
    key=59, name="FetchSnapshot", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("cluster_id", STRING, nullable_since=0, default=None, tag=0, tagged_since=0),
        Field("replica_id", INT32, default=-1),
        Field("max_bytes", INT32, default=0x7FFFFFFF),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("partition", INT32),
                Field("current_leader_epoch", INT32),
                Field("snapshot_id", Struct(
                    Field("end_offset", INT64),
                    Field("epoch", INT32),
                    name="SnapshotId")),
                Field("position", INT64),
                name="PartitionSnapshot")),
            name="TopicSnapshot")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, ignorable=True),
        Field("error_code", INT16),
        Field("topics", ArrayOf(
            Field("name", STRING),
            Field("partitions", ArrayOf(
                Field("index", INT32),
                Field("error_code", INT16),
                Field("snapshot_id", Struct(
                    Field("end_offset", INT64),
                    Field("epoch", INT32),
                    name="SnapshotId")),
                Field("current_leader", Struct(
                    Field("leader_id", INT32),
                    Field("leader_epoch", INT32),
                    name="LeaderIdAndEpoch"), tag=0, tagged_since=0),
                Field("size", INT64),
                Field("position", INT64),
                Field("unaligned_records", RECORDS),
                name="PartitionSnapshot")),
            name="TopicSnapshot")),
    ),
)
