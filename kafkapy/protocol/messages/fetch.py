"""Fetch (key 1): consumers and followers read records. Response records may be FileRegions
(see ``Codec.encode_chunks``)."""
from kafkapy.protocol.schema import (
    INT8, INT16, INT32, INT64, RECORDS, STRING, ApiSpec, ArrayOf, Field, Schema, Struct,
)

API = ApiSpec(
    key=1, name="Fetch", min_version=0, max_version=12, flexible_since=12,
    request=Schema(
        Field("cluster_id", STRING, since=12, nullable_since=12, tag=0, tagged_since=12,
              default=None, ignorable=True),
        Field("replica_id", INT32),
        Field("max_wait_ms", INT32),
        Field("min_bytes", INT32),
        Field("max_bytes", INT32, since=3, default=0x7FFFFFFF, ignorable=True),
        Field("isolation_level", INT8, since=4, default=0, ignorable=True),
        Field("session_id", INT32, since=7, default=0, ignorable=True),
        Field("session_epoch", INT32, since=7, default=-1, ignorable=True),
        Field("topics", ArrayOf(
            Field("topic", STRING),
            Field("partitions", ArrayOf(
                Field("partition", INT32),
                Field("current_leader_epoch", INT32, since=9, default=-1, ignorable=True),
                Field("fetch_offset", INT64),
                Field("last_fetched_epoch", INT32, since=12, default=-1),
                Field("log_start_offset", INT64, since=5, default=-1, ignorable=True),
                Field("partition_max_bytes", INT32),
                name="FetchPartition")),
            name="FetchTopic")),
        Field("forgotten_topics_data", ArrayOf(
            Field("topic", STRING, since=7),
            Field("partitions", ArrayOf(INT32), since=7),
            name="ForgottenTopic"), since=7),
        Field("rack_id", STRING, since=11, default="", ignorable=True),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("error_code", INT16, since=7, ignorable=True),
        Field("session_id", INT32, since=7, default=0),
        Field("responses", ArrayOf(
            Field("topic", STRING),
            Field("partition_responses", ArrayOf(
                Field("partition", INT32),
                Field("error_code", INT16),
                Field("high_watermark", INT64),
                Field("last_stable_offset", INT64, since=4, default=-1, ignorable=True),
                Field("log_start_offset", INT64, since=5, default=-1, ignorable=True),
                Field("diverging_epoch", Struct(
                    Field("epoch", INT32, since=12, default=-1),
                    Field("end_offset", INT64, since=12, default=-1),
                    name="EpochEndOffset"), since=12, tag=0, tagged_since=12),
                Field("current_leader", Struct(
                    Field("leader_id", INT32, since=12, default=-1),
                    Field("leader_epoch", INT32, since=12, default=-1),
                    name="LeaderIdAndEpoch"), since=12, tag=1, tagged_since=12),
                Field("snapshot_id", Struct(
                    Field("end_offset", INT64, default=-1),
                    Field("epoch", INT32, default=-1),
                    name="SnapshotId"), since=12, tag=2, tagged_since=12),
                Field("aborted_transactions", ArrayOf(
                    Field("producer_id", INT64, since=4),
                    Field("first_offset", INT64, since=4),
                    name="AbortedTransaction"), since=4, nullable_since=4, ignorable=True),
                Field("preferred_read_replica", INT32, since=11, default=-1),
                Field("record_set", RECORDS, nullable_since=0),
                name="FetchablePartitionResponse")),
            name="FetchableTopicResponse")),
    ),
)
