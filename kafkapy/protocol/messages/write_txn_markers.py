"""WriteTxnMarkers (key 27): the transaction coordinator asks leaders to write commit/abort markers."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=27, name="WriteTxnMarkers", min_version=0, max_version=1, flexible_since=1,
    request=Schema(
        Field("markers", ArrayOf(
            Field("producer_id", INT64),
            Field("producer_epoch", INT16),
            Field("transaction_result", BOOL),
            Field("topics", ArrayOf(
                Field("name", STRING),
                Field("partition_indexes", ArrayOf(INT32)),
                name="WritableTxnMarkerTopic")),
            Field("coordinator_epoch", INT32),
            name="WritableTxnMarker")),
    ),
    response=Schema(
        Field("markers", ArrayOf(
            Field("producer_id", INT64),
            Field("topics", ArrayOf(
                Field("name", STRING),
                Field("partitions", ArrayOf(
                    Field("partition_index", INT32),
                    Field("error_code", INT16),
                    name="WritableTxnMarkerPartitionResult")),
                name="WritableTxnMarkerTopicResult")),
            name="WritableTxnMarkerResult")),
    ),
)
