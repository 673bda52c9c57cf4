"""InitProducerId (key 22): obtain (or bump the epoch of) a producer id."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, Field, Schema

API = ApiSpec(
    key=22, name="InitProducerId", min_version=0, max_version=4, flexible_since=2,
    request=Schema(
        Field("transactional_id", STRING, nullable_since=0),
        Field("transaction_timeout_ms", INT32),
        Field("producer_id", INT64, since=3, default=-1),
        Field("producer_epoch", INT16, since=3, default=-1),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, ignorable=True),
        Field("error_code", INT16),
        Field("producer_id", INT64, default=-1),
        Field("producer_epoch", INT16),
    ),
)
